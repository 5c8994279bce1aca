/* SPDX-License-Identifier: MIT */
/*
 * test_backoff - full-jitter exponential backoff (common/backoff.c): the ceiling doubles
 * and stops at the cap without overflowing, the delay stays in [0, ceiling] for any random
 * input, and the kernel random source varies. Wanted values were worked out by hand.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backoff.h"

struct ceiling_case {
        uint64_t base, cap;
        unsigned attempt;
        uint64_t want;
};

static void test_ceiling(void **state)
{
        static const struct ceiling_case cases[] = {
                /* doubling from the base */
                {100, 10000, 0, 100},
                {100, 10000, 1, 200},
                {100, 10000, 2, 400},
                {100, 10000, 6, 6400},
                /* then the cap */
                {100, 10000, 7, 10000},
                {100, 10000, 8, 10000},
                {100, 10000, 200, 10000},
                {1000, 20000, 200, 20000},
                {100, 6400, 6, 6400},
                {5000, 1000, 0, 1000}, /* a base above the cap is capped too */
                {0, 1000, 200, 0},
                {100, 0, 3, 0},
                /* near 2^64: no wrap-around, whatever the attempt */
                {1, UINT64_MAX, 63, UINT64_C(9223372036854775808)},
                {1, UINT64_MAX, 64, UINT64_MAX},
                {1, UINT64_MAX, 200, UINT64_MAX},
                {1, UINT64_MAX, 4000000000u, UINT64_MAX},
                {3, UINT64_MAX, 62, UINT64_C(13835058055282163712)},
                {3, UINT64_MAX, 63, UINT64_MAX},
                {UINT64_C(9223372036854775808), UINT64_MAX - 1, 1, UINT64_MAX - 1},
                {UINT64_MAX, UINT64_MAX, 200, UINT64_MAX},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                const struct ceiling_case *c = &cases[i];
                uint64_t got = backoff_ceiling_ms(c->base, c->cap, c->attempt);

                if (got != c->want)
                        fail_msg("backoff_ceiling_ms(%" PRIu64 ", %" PRIu64 ", %u): got %" PRIu64
                                 ", want %" PRIu64,
                                 c->base, c->cap, c->attempt, got, c->want);
        }
}

struct delay_case {
        uint64_t base, cap;
        unsigned attempt;
        uint64_t random;
        uint64_t want;
};

static void test_delay_fixed_random(void **state)
{
        static const struct delay_case cases[] = {
                /* random 0: no wait at all, for any ceiling */
                {100, 10000, 0, 0, 0},
                {100, 10000, 200, 0, 0},
                {1, UINT64_MAX, 200, 0, 0},
                /* the ceiling itself is reachable: [0, ceiling] is inclusive */
                {100, 10000, 2, 400, 400},
                {100, 10000, 2, 401, 0},
                {100, 10000, 2, 399, 399},
                /* large random values wrap into range: 2^64 - 1 = 1001 * q + 15 */
                {1000, 1000, 5, UINT64_MAX, 15},
                {1000, 4000, 2, UINT64_MAX, 2498}, /* ceiling 4000: 2^64 - 1 mod 4001 */
                {1000, 1000, 0, 12345, 333},       /* 12345 = 12 * 1001 + 333 */
                /* a full-range ceiling passes random through */
                {1, UINT64_MAX, 64, UINT64_MAX, UINT64_MAX},
                {1, UINT64_MAX, 64, 42, 42},
                /* a zero ceiling is zero */
                {0, 1000, 3, UINT64_MAX, 0},
                {100, 0, 3, 77, 0},
        };
        (void)state;

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                const struct delay_case *c = &cases[i];
                uint64_t got = backoff_delay_ms(c->base, c->cap, c->attempt, c->random);

                if (got != c->want)
                        fail_msg("backoff_delay_ms(%" PRIu64 ", %" PRIu64 ", %u, %" PRIu64
                                 "): got %" PRIu64 ", want %" PRIu64,
                                 c->base, c->cap, c->attempt, c->random, got, c->want);
        }
}

static void test_delay_within_ceiling(void **state)
{
        (void)state;
        for (unsigned attempt = 0; attempt < 70; attempt++) {
                uint64_t ceiling = backoff_ceiling_ms(250, 20000, attempt);

                for (int i = 0; i < 2000; i++) {
                        uint64_t d = backoff_delay_ms(250, 20000, attempt, backoff_random());

                        if (d > ceiling)
                                fail_msg("attempt %u: delay %" PRIu64 " above ceiling %" PRIu64,
                                         attempt, d, ceiling);
                }
        }
}

static void test_delay_distribution(void **state)
{
        /* Uniform over [0, 10000]: the mean of 20000 draws is 5000 give or take 0.3 %; the
         * bounds below are dozens of standard deviations wide. Both ends are reached. */
        const int n = 20000;
        uint64_t sum = 0, min = UINT64_MAX, max = 0;
        unsigned buckets[10] = {0};

        (void)state;
        for (int i = 0; i < n; i++) {
                uint64_t d = backoff_delay_ms(10000, 10000, 3, backoff_random());

                assert_true(d <= 10000);
                sum += d;
                min = d < min ? d : min;
                max = d > max ? d : max;
                buckets[d == 10000 ? 9 : d / 1000]++;
        }
        if (sum / (uint64_t)n < 4500 || sum / (uint64_t)n > 5500)
                fail_msg("mean %" PRIu64 ", want about 5000", sum / (uint64_t)n);
        if (min > 100 || max < 9900)
                fail_msg("range [%" PRIu64 ", %" PRIu64 "], want close to [0, 10000]", min, max);
        for (int b = 0; b < 10; b++)
                if (buckets[b] < 1500 || buckets[b] > 2500)
                        fail_msg("bucket %d holds %u of %d draws, want about 2000", b, buckets[b],
                                 n);
}

static void test_random_varies(void **state)
{
        uint64_t v[32];
        unsigned distinct = 0, ones = 0;

        (void)state;
        for (int i = 0; i < 32; i++)
                v[i] = backoff_random();
        for (int i = 0; i < 32; i++) {
                int seen = 0;

                for (int j = 0; j < i; j++)
                        seen |= v[j] == v[i];
                distinct += !seen;
                ones += (unsigned)__builtin_popcountll(v[i]);
        }
        if (distinct < 31)
                fail_msg("only %u distinct values out of 32", distinct);
        /* 2048 random bits have about 1024 ones */
        if (ones < 850 || ones > 1200)
                fail_msg("%u one bits out of 2048", ones);
}

static void test_clock_and_sleep(void **state)
{
        uint64_t t0, t1;

        (void)state;
        t0 = now_monotonic_usec();
        sleep_ms(20);
        t1 = now_monotonic_usec();
        assert_true(t1 >= t0 + 20000);
        assert_true(t1 < t0 + 5000000);
        t0 = now_monotonic_usec();
        sleep_ms(0);
        assert_true(now_monotonic_usec() >= t0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ceiling),
                cmocka_unit_test(test_delay_fixed_random),
                cmocka_unit_test(test_delay_within_ceiling),
                cmocka_unit_test(test_delay_distribution),
                cmocka_unit_test(test_random_varies),
                cmocka_unit_test(test_clock_and_sleep),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
