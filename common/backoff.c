/* SPDX-License-Identifier: MIT */
/*
 * backoff - delays between retries. "Full jitter" (AWS Architecture Blog, "Exponential
 * Backoff And Jitter"): spreading retries uniformly over [0, ceiling] keeps a fleet that
 * boots at once from retrying in lock-step against IMDS or Secrets Manager.
 */
#include "backoff.h"

#include <errno.h>
#include <sys/random.h>
#include <time.h>

uint64_t backoff_ceiling_ms(uint64_t base_ms, uint64_t cap_ms, unsigned attempt)
{
        uint64_t ceiling = base_ms;

        if (base_ms == 0)
                return 0;

        for (unsigned i = 0; i < attempt && ceiling < cap_ms; i++) {
                if (ceiling > UINT64_MAX / 2) {
                        ceiling = cap_ms;
                        break;
                }
                ceiling *= 2;
        }
        return ceiling < cap_ms ? ceiling : cap_ms;
}

uint64_t backoff_delay_ms(uint64_t base_ms, uint64_t cap_ms, unsigned attempt, uint64_t random)
{
        uint64_t ceiling = backoff_ceiling_ms(base_ms, cap_ms, attempt);

        if (ceiling == UINT64_MAX)
                return random;
        return random % (ceiling + 1);
}

uint64_t backoff_random(void)
{
        uint64_t v = 0;
        struct timespec ts;

        if (getrandom(&v, sizeof v, GRND_NONBLOCK) == (ssize_t)sizeof v)
                return v;
        /* Early boot without entropy: jitter only needs to differ between instances. */
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_nsec * 6364136223846793005ULL + (uint64_t)ts.tv_sec;
}

uint64_t now_monotonic_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000ULL;
}

void sleep_ms(uint64_t ms)
{
        struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
                              .tv_nsec = (long)(ms % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}
