/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* When to try a deferred message again, and when to give up (Postfix's
 * minimal_backoff_time / maximal_backoff_time / maximal_queue_lifetime), aware of SES's reply
 * texts: "Daily message quota exceeded" waits hours, not minutes. Pure. */

#define RETRY_DAILY_QUOTA_DELAY_SEC (3 * 3600)

struct retry_policy {
        uint64_t minimal_backoff_sec;        /* 300 */
        uint64_t maximal_backoff_sec;        /* 4000 */
        uint64_t maximal_queue_lifetime_sec; /* 5 days */
};

/* retry_delay_sec - the wait before attempt number attempts+1, after a deferral with reply
 * text (may be NULL): minimal * 2^(attempts-1), capped at maximal; at least
 * RETRY_DAILY_QUOTA_DELAY_SEC after "Daily message quota exceeded"; random jitter of up to
 * 10 % (from random) so a backlog does not retry in lock-step. */
uint64_t retry_delay_sec(const struct retry_policy *p, unsigned attempts, const char *reply_text,
                         uint64_t random);

/* retry_expired - the message arrived longer than maximal_queue_lifetime ago: bounce it. */
bool retry_expired(const struct retry_policy *p, time_t arrival, time_t now);
