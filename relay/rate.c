/* SPDX-License-Identifier: MIT */
/*
 * rate - a token bucket that paces every delivery thread together to max_send_rate
 * messages per second (SES's per-account sending rate: going over it earns "454 Throttling
 * failure: Maximum sending rate exceeded"). The bucket holds one second's worth of tokens,
 * at least one, so fractional rates (0.5/s) still let a message through every 2 s. Time
 * comes from the caller (a monotonic clock in microseconds); a time earlier than the last
 * one seen, as threads that read the clock before taking the lock may pass, refills
 * nothing. Rate 0 means unlimited.
 */
#include "rate.h"

#include <assert.h>
#include <math.h>

/* rounding slack: 1 - 1e-9 tokens is a whole token, so a wait that was computed exactly
 * is never followed by a second wait of 1 us */
#define RATE_TOKEN_EPSILON 1e-9
/* the longest wait reported, far beyond any sane rate (about 31 years) */
#define RATE_WAIT_MAX_USEC (UINT64_C(1) << 50)

/* rate_sane - negative, NaN and infinite rates mean "no limit" */
static double rate_sane(double rate)
{
        return isfinite(rate) && rate > 0 ? rate : 0;
}

static double rate_burst(double rate)
{
        return rate > 1 ? rate : 1;
}

/* rate_refill - add the tokens earned since last_usec; lock held */
static void rate_refill(struct rate_limiter *r, uint64_t now_usec)
{
        if (now_usec <= r->last_usec)
                return;
        if (r->rate > 0) {
                r->tokens += (double)(now_usec - r->last_usec) / 1e6 * r->rate;
                if (r->tokens > r->burst)
                        r->tokens = r->burst;
        }
        r->last_usec = now_usec;
}

void rate_limiter_init(struct rate_limiter *r, double rate, uint64_t now_usec)
{
        int e;

        e = pthread_mutex_init(&r->lock, NULL);
        assert(e == 0);
        (void)e;
        r->rate = rate_sane(rate);
        r->burst = rate_burst(r->rate);
        r->tokens = r->burst; /* a fresh limiter lets the first burst through at once */
        r->last_usec = now_usec;
}

void rate_limiter_set_rate(struct rate_limiter *r, double rate, uint64_t now_usec)
{
        (void)pthread_mutex_lock(&r->lock);
        /* what was earned so far was earned at the old rate */
        rate_refill(r, now_usec);
        if (r->rate == 0) /* from unlimited: start full, as a fresh limiter does */
                r->tokens = rate_burst(rate_sane(rate));
        r->rate = rate_sane(rate);
        r->burst = rate_burst(r->rate);
        if (r->tokens > r->burst)
                r->tokens = r->burst;
        (void)pthread_mutex_unlock(&r->lock);
}

uint64_t rate_limiter_take(struct rate_limiter *r, uint64_t now_usec)
{
        double wait;
        uint64_t ret = 0;

        (void)pthread_mutex_lock(&r->lock);
        rate_refill(r, now_usec);
        if (r->rate == 0)
                goto out;
        if (r->tokens >= 1 - RATE_TOKEN_EPSILON) {
                r->tokens -= 1;
                if (r->tokens < 0)
                        r->tokens = 0;
                goto out;
        }
        /* rounded up by hand (ceil() would need libm), ignoring the last bits of floating
         * point noise: 1.0000000001 us is 1 us */
        wait = (1 - r->tokens) / r->rate * 1e6;
        if (wait >= (double)RATE_WAIT_MAX_USEC) {
                ret = RATE_WAIT_MAX_USEC;
        } else {
                ret = (uint64_t)wait;
                if (wait - (double)ret > 1e-6 || ret == 0)
                        ret++;
        }
out:
        (void)pthread_mutex_unlock(&r->lock);
        return ret;
}

void rate_limiter_done(struct rate_limiter *r)
{
        (void)pthread_mutex_destroy(&r->lock);
}
