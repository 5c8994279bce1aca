/* SPDX-License-Identifier: MIT */
/*
 * test_rate - the token bucket (relay/rate.c) on a fixed clock: unlimited at rate 0, a
 * burst of one second's worth (at least one), fractional rates, a clock going backwards
 * refilling nothing, rate changes, absurd rates and clocks; then eight threads taking
 * tokens at once get exactly the burst between them. Wanted waits were worked out by hand.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rate.h"

#define SEC UINT64_C(1000000)

enum step_op {
        TAKE,
        SET_RATE,
};

struct step {
        enum step_op op;
        uint64_t now_usec;
        uint64_t want; /* TAKE: the wait; SET_RATE: unused */
        double rate;   /* SET_RATE */
};

struct scenario {
        const char *name;
        double rate;
        uint64_t start_usec;
        struct step steps[16];
        size_t n_steps;
};

#define STEPS(...)              \
        .steps = {__VA_ARGS__}, \
        .n_steps = sizeof((struct step[]){__VA_ARGS__}) / sizeof(struct step)

static void test_scenarios(void **state)
{
        static const struct scenario scenarios[] = {
                {"unlimited", 0, 0,
                 STEPS({TAKE, 0, 0, 0}, {TAKE, 0, 0, 0}, {TAKE, 0, 0, 0}, {TAKE, 1, 0, 0},
                       {TAKE, 0, 0, 0})},
                {"one per second", 1, 0,
                 STEPS({TAKE, 0, 0, 0}, {TAKE, 0, SEC, 0}, {TAKE, SEC / 2, SEC / 2, 0},
                       {TAKE, SEC, 0, 0}, {TAKE, SEC, SEC, 0}, {TAKE, 2 * SEC - 1, 1, 0},
                       {TAKE, 2 * SEC, 0, 0})},
                {"a burst of one second's worth", 10, 0,
                 STEPS({TAKE, 0, 0, 0}, {TAKE, 0, 0, 0}, {TAKE, 0, 0, 0}, {TAKE, 0, 0, 0},
                       {TAKE, 0, 0, 0}, {TAKE, 0, 0, 0}, {TAKE, 0, 0, 0}, {TAKE, 0, 0, 0},
                       {TAKE, 0, 0, 0}, {TAKE, 0, 0, 0}, {TAKE, 0, 100000, 0},
                       {TAKE, 50000, 50000, 0}, {TAKE, 100000, 0, 0}, {TAKE, 100000, 100000, 0})},
                {"the burst is capped after idling", 2, 0,
                 STEPS({TAKE, 100 * SEC, 0, 0}, {TAKE, 100 * SEC, 0, 0},
                       {TAKE, 100 * SEC, SEC / 2, 0})},
                {"half a message per second", 0.5, 0,
                 STEPS({TAKE, 0, 0, 0}, {TAKE, 0, 2 * SEC, 0}, {TAKE, SEC, SEC, 0},
                       {TAKE, 2 * SEC, 0, 0}, {TAKE, 2 * SEC, 2 * SEC, 0}, {TAKE, 100 * SEC, 0, 0},
                       {TAKE, 100 * SEC, 2 * SEC, 0})},
                {"three per second, rounding up", 3, 0,
                 STEPS({TAKE, 0, 0, 0}, {TAKE, 0, 0, 0}, {TAKE, 0, 0, 0}, {TAKE, 0, 333334, 0},
                       {TAKE, 333333, 1, 0}, {TAKE, 333334, 0, 0})},
                {"the clock going backwards refills nothing", 1, 5 * SEC,
                 STEPS({TAKE, 5 * SEC, 0, 0}, {TAKE, 4 * SEC + SEC / 2, SEC, 0}, {TAKE, 0, SEC, 0},
                       /* last stays at 5 s: half a second later half a token */
                       {TAKE, 5 * SEC + SEC / 2, SEC / 2, 0}, {TAKE, 6 * SEC, 0, 0})},
                {"from unlimited to one per second", 0, 0,
                 STEPS({TAKE, 0, 0, 0}, {TAKE, 0, 0, 0}, {SET_RATE, 10 * SEC, 0, 1},
                       {TAKE, 10 * SEC, 0, 0}, {TAKE, 10 * SEC, SEC, 0})},
                {"lowering the rate shrinks the bucket", 10, 0,
                 STEPS({SET_RATE, 0, 0, 1}, {TAKE, 0, 0, 0}, {TAKE, 0, SEC, 0})},
                {"tokens earned at the old rate are kept", 1, 0,
                 /* half a token at 1/s, so 1/8 s at 4/s to the next whole one */
                 STEPS({TAKE, 0, 0, 0}, {SET_RATE, SEC / 2, 0, 4}, {TAKE, SEC / 2, SEC / 8, 0},
                       {TAKE, SEC / 2 + SEC / 8, 0, 0}, {TAKE, SEC / 2 + SEC / 8, SEC / 4, 0})},
                {"to unlimited", 1, 0,
                 STEPS({TAKE, 0, 0, 0}, {TAKE, 0, SEC, 0}, {SET_RATE, 0, 0, 0}, {TAKE, 0, 0, 0},
                       {TAKE, 0, 0, 0})},
                {"negative and NaN rates mean unlimited", -5, 0,
                 STEPS({TAKE, 0, 0, 0}, {TAKE, 0, 0, 0}, {SET_RATE, 0, 0, NAN}, {TAKE, 0, 0, 0},
                       {TAKE, 0, 0, 0}, {SET_RATE, 0, 0, INFINITY}, {TAKE, 0, 0, 0},
                       {TAKE, 0, 0, 0})},
                {"a tiny rate waits long, without overflow", 1e-12, 0,
                 STEPS({TAKE, 0, 0, 0}, {TAKE, 0, UINT64_C(1) << 50, 0})},
                {"a clock near its end", 1, UINT64_MAX - 3 * SEC,
                 STEPS({TAKE, UINT64_MAX - 3 * SEC, 0, 0}, {TAKE, UINT64_MAX - 3 * SEC, SEC, 0},
                       {TAKE, UINT64_MAX, 0, 0})},
                {"a huge rate", 1e9, 0,
                 STEPS({TAKE, 0, 0, 0}, {TAKE, UINT64_MAX, 0, 0}, {TAKE, UINT64_MAX, 0, 0})},
        };
        (void)state;

        for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
                const struct scenario *sc = &scenarios[i];
                struct rate_limiter r;

                rate_limiter_init(&r, sc->rate, sc->start_usec);
                for (size_t k = 0; k < sc->n_steps; k++) {
                        const struct step *st = &sc->steps[k];
                        uint64_t got;

                        if (st->op == SET_RATE) {
                                rate_limiter_set_rate(&r, st->rate, st->now_usec);
                                continue;
                        }
                        got = rate_limiter_take(&r, st->now_usec);
                        if (got != st->want)
                                fail_msg("%s, step %zu: rate_limiter_take(%llu): got %llu, want "
                                         "%llu",
                                         sc->name, k, (unsigned long long)st->now_usec,
                                         (unsigned long long)got, (unsigned long long)st->want);
                }
                rate_limiter_done(&r);
        }
}

struct taker {
        struct rate_limiter *r;
        pthread_barrier_t *start;
        unsigned taken;
};

static void *take_many(void *arg)
{
        struct taker *t = arg;

        (void)pthread_barrier_wait(t->start);
        for (int i = 0; i < 1000; i++)
                if (rate_limiter_take(t->r, 7 * SEC) == 0)
                        t->taken++;
        return NULL;
}

static void test_threads(void **state)
{
        struct rate_limiter r;
        pthread_barrier_t start;
        pthread_t threads[8];
        struct taker takers[8];
        unsigned total = 0;

        (void)state;
        rate_limiter_init(&r, 100, 0);
        /* an empty bucket, then 7 s of refill: capped at the burst of 100 */
        for (int i = 0; i < 100; i++)
                assert_int_equal(rate_limiter_take(&r, 0), 0);
        assert_int_equal(pthread_barrier_init(&start, NULL, 8), 0);
        for (int i = 0; i < 8; i++) {
                takers[i] = (struct taker){.r = &r, .start = &start};
                assert_int_equal(pthread_create(&threads[i], NULL, take_many, &takers[i]), 0);
        }
        for (int i = 0; i < 8; i++) {
                assert_int_equal(pthread_join(threads[i], NULL), 0);
                total += takers[i].taken;
        }
        (void)pthread_barrier_destroy(&start);
        if (total != 100)
                fail_msg("8 threads took %u tokens at one instant, want the burst of 100", total);
        rate_limiter_done(&r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_scenarios),
                cmocka_unit_test(test_threads),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
