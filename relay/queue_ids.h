/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* queue_ids - the queue ids the delivery schedule knows, each either waiting in the schedule
 * or being delivered ("in flight"). A queue scan adds only the ids this set lacks, so that
 * no message is scheduled twice (two threads would deliver it together). A balanced tree
 * (POSIX tsearch); not thread-safe: the caller holds its lock. */

struct queue_ids {
        void *root;
        size_t n;
};

/* queue_ids_add - add id as waiting. 1 when added, 0 when it was there already (its state
 * unchanged), -ENOMEM. */
int queue_ids_add(struct queue_ids *s, const char *id);

/* queue_ids_set_in_flight - mark a known id as being delivered (true) or waiting again
 * (false); nothing when id is unknown. */
void queue_ids_set_in_flight(struct queue_ids *s, const char *id, bool in_flight);

/* queue_ids_in_flight - true when id is known and being delivered */
bool queue_ids_in_flight(const struct queue_ids *s, const char *id);

/* queue_ids_contains - true when id is known (waiting or in flight) */
bool queue_ids_contains(const struct queue_ids *s, const char *id);

/* queue_ids_remove - forget id (nothing when unknown) */
void queue_ids_remove(struct queue_ids *s, const char *id);

/* queue_ids_clear - forget every id and release the memory */
void queue_ids_clear(struct queue_ids *s);
