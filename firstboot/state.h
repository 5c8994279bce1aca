/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <time.h>

/* The per-instance state of firstboot: state_dir/status.json (SPEC step 7). It holds no
 * secret and is world-readable, so `mailinit status` works for any user. */

#define STATE_FILE_NAME "status.json"
#define STATE_FILE_MAX  (64 * 1024)

enum confirmation_status {
        CONFIRMATION_SKIPPED,
        CONFIRMATION_PENDING, /* warm pool: sent when the instance goes InService */
        CONFIRMATION_QUEUED,  /* accepted by the local relay, verdict unknown */
        CONFIRMATION_SENT,    /* the relayhost accepted it */
        CONFIRMATION_FAILED,
        CONFIRMATION_STATUS_MAX,
};

struct firstboot_state {
        char *instance_id;
        char *mode;
        bool ok;     /* result: "ok" or "failed" */
        char *error; /* a sentence, when !ok */
        time_t completed_at;
        char *queue_id; /* of the confirmation mail, when queued or sent */
        enum confirmation_status confirmation;
};

/* state_read - parse path. Returns 0, -ENOENT when there is no state, -EBADMSG when the
 * file is not a status.json (why says what is wrong), or -errno. */
int state_read(const char *path, struct firstboot_state *ret, char *why, size_t why_size);

/* state_write - replace path atomically (mode 0644). Returns 0 or -errno. */
int state_write(const char *path, const struct firstboot_state *st);

/* state_to_json_text - the file's text (caller frees), NULL on ENOMEM. */
char *state_to_json_text(const struct firstboot_state *st);

void state_done(struct firstboot_state *st);

const char *confirmation_status_name(enum confirmation_status s);

/* format_rfc3339_utc - "2026-11-28T12:00:00Z" into out (at least 21 bytes). */
void format_rfc3339_utc(time_t t, char *out, size_t size);
