/* SPDX-License-Identifier: MIT */
#pragma once

#include <pthread.h>
#include <stdint.h>

/* A token bucket shared by every delivery thread: max_send_rate messages per second towards
 * the relayhost (SES's sending rate), with a burst of one second's worth (at least one). */

struct rate_limiter {
        pthread_mutex_t lock;
        double rate; /* tokens per second; 0: unlimited */
        double burst;
        double tokens;
        uint64_t last_usec;
};

void rate_limiter_init(struct rate_limiter *r, double rate, uint64_t now_usec);
void rate_limiter_set_rate(struct rate_limiter *r, double rate, uint64_t now_usec);

/* rate_limiter_take - take one token if there is one (returns 0), else return the
 * microseconds to wait before trying again (no token taken). Thread-safe. */
uint64_t rate_limiter_take(struct rate_limiter *r, uint64_t now_usec);

void rate_limiter_done(struct rate_limiter *r);
