/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>

/* Full-jitter exponential backoff (the AWS SDKs' "standard" retry mode): the n-th retry
 * (attempt 0 = first retry) waits a uniformly random time in [0, min(cap, base * 2^n)]. */

/* backoff_ceiling_ms - min(cap_ms, base_ms * 2^attempt), without overflow. */
uint64_t backoff_ceiling_ms(uint64_t base_ms, uint64_t cap_ms, unsigned attempt);

/* backoff_delay_ms - the jittered delay for attempt, drawing from random (any 64-bit value;
 * pure so tests can fix it). */
uint64_t backoff_delay_ms(uint64_t base_ms, uint64_t cap_ms, unsigned attempt, uint64_t random);

/* backoff_random - 64 random bits from the kernel (getrandom), never blocking. */
uint64_t backoff_random(void);

/* now_monotonic_usec - CLOCK_MONOTONIC in microseconds. */
uint64_t now_monotonic_usec(void);

/* sleep_ms - sleep, restarting on EINTR. */
void sleep_ms(uint64_t ms);
