/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "spool.h"

/* The relay's pickup of locally submitted mail: watches $spool_dir/maildrop (inotify, a rescan
 * at start and every PICKUP_RESCAN_SEC), and moves each dropped file into the queue on a
 * thread of its own (nothing on the event loop reads a file): checked, given a Received: and
 * the missing From:/Date:/Message-ID:, committed (fsynced), and only then unlinked. */

#define PICKUP_RESCAN_SEC 60

struct pickup_config {
        const char *myhostname;
        const char *myorigin; /* completes the submitter's login and bare names */
        uint64_t message_size_limit;
        const char *trusted_users;
        const char *authorized_submit_users;
        const char *setgid_group; /* the maildrop's group (created as root) */
};

/* queued - a message was committed: hand it to delivery. Called on the event loop. */
typedef void (*pickup_queued_fn)(void *userdata, const char *queue_id);

struct pickup;

/* pickup_new - prepare the maildrop (created mode 1730 when missing; as root given to the
 * spool's owner and setgid_group), start the thread and the watch, and scan once. config is
 * copied. */
int pickup_new(sd_event *e, struct spool *spool, const struct pickup_config *config,
               pickup_queued_fn queued, void *userdata, struct pickup **ret);

/* pickup_free - stop after the file in progress (nothing is lost: a file is removed only after
 * its queue file is committed). NULL-tolerant. */
struct pickup *pickup_free(struct pickup *p);
