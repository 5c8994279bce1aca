/* SPDX-License-Identifier: MIT */
/*
 * test_retry - the deferral schedule (relay/retry.c): doubling from minimal to maximal,
 * SES's daily quota reply waiting hours (in any letter case), jitter of at most 10 % that
 * never goes below minimal nor above maximal, no wrap-around for huge attempt counts or
 * policies, and queue lifetime expiry with clocks that go backwards. Wanted values were
 * worked out by hand (the 2^64 ones with Python's integers).
 */
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "retry.h"

#define QUOTA_REPLY "454 Throttling failure: Daily message quota exceeded"

static const struct retry_policy postfix_defaults = {
        .minimal_backoff_sec = 300,
        .maximal_backoff_sec = 4000,
        .maximal_queue_lifetime_sec = 5 * 86400,
};

struct delay_case {
        struct retry_policy policy;
        unsigned attempts;
        const char *reply;
        uint64_t random;
        uint64_t want;
};

static void test_delay(void **state)
{
        const struct retry_policy d = postfix_defaults;
        const struct retry_policy wide = {300, 100000, 86400};
        const struct retry_policy tight = {300, 2500, 86400};
        const struct retry_policy inverted = {5000, 4000, 86400}; /* minimal > maximal */
        const struct retry_policy zero = {0, 4000, 86400};
        const struct retry_policy huge = {1, UINT64_MAX, 86400};
        const struct retry_policy all = {UINT64_MAX, UINT64_MAX, 86400};
        const struct delay_case cases[] = {
                /* doubling without jitter (random 0) */
                {d, 0, NULL, 0, 300},
                {d, 1, NULL, 0, 300},
                {d, 2, NULL, 0, 600},
                {d, 3, NULL, 0, 1200},
                {d, 4, NULL, 0, 2400},
                {d, 5, NULL, 0, 4000}, /* 4800 capped */
                {d, 6, NULL, 0, 4000},
                {d, 64, NULL, 0, 4000},
                {d, UINT_MAX, NULL, 0, 4000},
                /* other 4xx texts are ordinary deferrals */
                {d, 1, "454 Throttling failure: Maximum sending rate exceeded", 0, 300},
                {d, 2, "451 Temporary service failure", 0, 600},
                {d, 1, "", 0, 300},
                /* jitter: random % (delay / 10 + 1), added */
                {d, 1, NULL, 30, 330},
                {d, 1, NULL, 29, 329},
                {d, 1, NULL, 31, 300},
                {d, 4, NULL, 240, 2640},
                {d, 4, NULL, UINT64_MAX, 2400 + UINT64_MAX % 241},
                /* ... taken off where adding would pass maximal */
                {d, 5, NULL, 400, 3600},
                {d, 5, NULL, 1, 3999},
                {d, 9, NULL, 401, 4000},
                {tight, 4, NULL, 240, 2160},
                {tight, 4, NULL, 100, 2500},
                /* minimal > maximal: the cap wins, jitter below it */
                {inverted, 1, NULL, 0, 4000},
                {inverted, 1, NULL, 100, 3900},
                {zero, 1, NULL, 12345, 0},
                {zero, 40, NULL, 12345, 0},
                /* the daily quota: at least three hours, above maximal */
                {d, 1, QUOTA_REPLY, 0, RETRY_DAILY_QUOTA_DELAY_SEC},
                {d, 9, QUOTA_REPLY, 0, 10800},
                {d, 1, QUOTA_REPLY, 1080, 11880},
                {d, 1, QUOTA_REPLY, 1081, 10800},
                {d, 1, "454 4.7.0 daily MESSAGE quota EXCEEDED.", 0, 10800},
                {d, 1, "Daily message quota exceeded", 0, 10800},
                {d, 1, "Daily message quota", 0, 300},
                {d, 1, "Daily  message quota exceeded", 0, 300},
                {wide, 8, QUOTA_REPLY, 0, 38400}, /* already longer */
                /* huge values: no wrap-around */
                {huge, 64, NULL, 0, UINT64_C(9223372036854775808)},
                {huge, 65, NULL, 0, UINT64_MAX},
                {huge, UINT_MAX, NULL, 0, UINT64_MAX},
                {huge, UINT_MAX, NULL, UINT64_MAX, UINT64_C(16602069666338596458)},
                {all, 1, NULL, 0, UINT64_MAX},
                {all, UINT_MAX, QUOTA_REPLY, 5, UINT64_MAX - 5},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                const struct delay_case *c = &cases[i];
                uint64_t got = retry_delay_sec(&c->policy, c->attempts, c->reply, c->random);

                if (got != c->want)
                        fail_msg("case %zu: retry_delay_sec({%" PRIu64 ", %" PRIu64
                                 "}, %u, \"%s\", %" PRIu64 "): got %" PRIu64 ", want %" PRIu64,
                                 i, c->policy.minimal_backoff_sec, c->policy.maximal_backoff_sec,
                                 c->attempts, c->reply ? c->reply : "(null)", c->random, got,
                                 c->want);
        }
}

/* xorshift64: deterministic "random" bits for the property test */
static uint64_t next_random(uint64_t *s)
{
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        return *s;
}

static void test_delay_bounds(void **state)
{
        const struct retry_policy *p = &postfix_defaults;
        uint64_t seed = 0x9e3779b97f4a7c15u, lo = UINT64_MAX, hi = 0;

        (void)state;
        for (unsigned attempts = 0; attempts < 80; attempts++) {
                for (int i = 0; i < 500; i++) {
                        uint64_t r = next_random(&seed);
                        uint64_t got = retry_delay_sec(p, attempts, NULL, r);
                        uint64_t quota = retry_delay_sec(p, attempts, QUOTA_REPLY, r);

                        if (got < 300 || got > 4000)
                                fail_msg("attempts %u random %" PRIu64 ": got %" PRIu64
                                         ", want within [300, 4000]",
                                         attempts, r, got);
                        if (quota < 10800 || quota > 11880)
                                fail_msg("attempts %u random %" PRIu64 ": quota delay %" PRIu64
                                         ", want within [10800, 11880]",
                                         attempts, r, quota);
                        if (attempts >= 5) {
                                lo = got < lo ? got : lo;
                                hi = got > hi ? got : hi;
                        }
                }
        }
        /* capped retries are spread, not all at 4000 */
        if (lo > 3700 || hi < 3990)
                fail_msg("capped delays span [%" PRIu64 ", %" PRIu64 "], want about [3600, 4000]",
                         lo, hi);
}

struct expired_case {
        uint64_t lifetime;
        time_t arrival, now;
        bool want;
};

static void test_expired(void **state)
{
        static const struct expired_case cases[] = {
                {432000, 1000, 1000, false},
                {432000, 1000, 1000 + 432000, false},
                {432000, 1000, 1000 + 432001, true},
                {432000, 1705399200, 1705399200 + 6 * 86400, true},
                /* the clock went backwards */
                {432000, 1705399200, 1000, false},
                {432000, 1705399200, 1705399199, false},
                /* Postfix: 0 means one attempt only */
                {0, 1000, 1000, true},
                {0, 1000, 999, true},
                /* extremes: the age does not wrap */
                {432000, INT64_MIN, INT64_MAX, true},
                {UINT64_MAX, INT64_MIN, INT64_MAX, false},
                {UINT64_MAX - 1, INT64_MIN, INT64_MAX, true},
                {432000, INT64_MAX, INT64_MIN, false},
                {432000, -432001, 0, true},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                const struct expired_case *c = &cases[i];
                const struct retry_policy p = {300, 4000, c->lifetime};
                bool got = retry_expired(&p, c->arrival, c->now);

                if (got != c->want)
                        fail_msg("case %zu: retry_expired(lifetime %" PRIu64 ", %lld, %lld): got "
                                 "%d, want %d",
                                 i, c->lifetime, (long long)c->arrival, (long long)c->now, got,
                                 c->want);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_delay),
                cmocka_unit_test(test_delay_bounds),
                cmocka_unit_test(test_expired),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
