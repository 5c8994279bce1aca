/* SPDX-License-Identifier: MIT */
/*
 * retry - the schedule of a deferred message, as Postfix's queue manager keeps it: the wait
 * doubles from minimal_backoff_time up to maximal_backoff_time, and a message older than
 * maximal_queue_lifetime is bounced. SES's "454 Throttling failure: Daily message quota
 * exceeded" lifts the wait to hours, because the quota is a 24-hour window and retrying
 * every few minutes only burns attempts (aws-smtp-facts 2.5, 3.1). A jitter of up to 10 %
 * keeps a backlog deferred at once from retrying in lock-step. Pure: no clock, no I/O; the
 * caller passes the random bits.
 */
#include "retry.h"

#include <stddef.h>
#include <string.h>

#define RETRY_DAILY_QUOTA_TEXT "Daily message quota exceeded"

/* retry_backoff - minimal * 2^(attempts-1), capped at maximal, without overflow */
static uint64_t retry_backoff(uint64_t minimal, uint64_t maximal, unsigned attempts)
{
        uint64_t d = minimal;

        /* attempts 0 (not tried yet) waits as long as the first deferral */
        for (unsigned i = 1; i < attempts && d < maximal; i++) {
                if (d > UINT64_MAX / 2) {
                        d = maximal;
                        break;
                }
                d *= 2;
        }
        /* XXX: with minimal > maximal (a configuration error) the cap wins, as it is the
         * promise made to the operator about the longest silence. */
        return d < maximal ? d : maximal;
}

/* retry_is_daily_quota - SES's reply text for an exhausted 24-hour quota, in any case */
static bool retry_is_daily_quota(const char *reply_text)
{
        return reply_text && strcasestr(reply_text, RETRY_DAILY_QUOTA_TEXT);
}

uint64_t retry_delay_sec(const struct retry_policy *p, unsigned attempts, const char *reply_text,
                         uint64_t random)
{
        uint64_t d, jitter;
        bool quota = retry_is_daily_quota(reply_text);

        d = retry_backoff(p->minimal_backoff_sec, p->maximal_backoff_sec, attempts);
        if (quota && d < (uint64_t)RETRY_DAILY_QUOTA_DELAY_SEC)
                d = (uint64_t)RETRY_DAILY_QUOTA_DELAY_SEC;

        /* jitter in [0, d/10]; d/10 + 1 cannot overflow */
        jitter = random % (d / 10 + 1);
        if (quota) {
                /* never earlier than the quota delay; above maximal on purpose */
                return d > UINT64_MAX - jitter ? d - jitter : d + jitter;
        }
        /* Added, so the first retry is not earlier than minimal; taken off instead where
         * adding would pass maximal, so the capped retries spread below the cap. */
        if (d <= UINT64_MAX - jitter && d + jitter <= p->maximal_backoff_sec)
                return d + jitter;
        d -= jitter;
        if (d < p->minimal_backoff_sec && p->minimal_backoff_sec <= p->maximal_backoff_sec)
                d = p->minimal_backoff_sec;
        return d;
}

bool retry_expired(const struct retry_policy *p, time_t arrival, time_t now)
{
        uint64_t age;

        /* Postfix: a lifetime of 0 means one delivery attempt only */
        if (p->maximal_queue_lifetime_sec == 0)
                return true;
        /* a clock that went backwards makes the message young, not expired */
        if (now <= arrival)
                return false;
        /* now > arrival, so the difference fits in 64 unsigned bits */
        age = (uint64_t)now - (uint64_t)arrival;
        return age > p->maximal_queue_lifetime_sec;
}
