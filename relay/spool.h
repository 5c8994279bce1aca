/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The built-in relay's durable queue in spool_dir:
 *   incoming/ID   a message being received (not yet acknowledged; removed on abort, and
 *                 left-overs are removed when the spool is opened)
 *   queue/ID      committed messages: fsynced before the rename, directory fsynced after,
 *                 before the client hears 250 (SPEC: nothing acknowledged is ever lost)
 *   state/ID      delivery state (attempts, next attempt, last reply, recipients done)
 *   corrupt/ID    queue files that failed to parse, kept for the operator
 * File format of queue/ID (text header, then the message, then an END record that every
 * reader requires, so a truncated or foreign file is never delivered):
 *   "MAILINIT-QUEUE 1\n" "id ID\n" "arrival SECONDS\n" "client TEXT\n" "flags [8bit] [smtputf8]\n"
 *   "sender ADDRESS\n" (empty for <>) "rcpt ADDRESS\n"... "body SIZE\n" SIZE bytes
 *   "\nEND SIZE CRC32\n"
 * Library code: no logging. All functions return 0 or -errno. Thread-safety: a struct spool
 * may be used from the event loop and from the commit/delivery threads at once; a writer
 * belongs to one thread at a time. */

#define SPOOL_QUEUE_ID_MAX   20
#define SPOOL_RECIPIENTS_MAX 1000
#define SPOOL_REPLY_MAX      512

struct spool;
struct spool_writer;

struct spool_envelope {
        char queue_id[SPOOL_QUEUE_ID_MAX + 1];
        char *sender; /* "" for the null sender */
        char **recipients;
        size_t n_recipients;
        time_t arrival;
        char client[128]; /* "localhost[127.0.0.1]" */
        bool body_8bit;
        bool smtputf8;
};

/* spool_open - open (and create, mode 0700) the spool at dir, remove incoming/ left-overs. */
int spool_open(const char *dir, struct spool **ret);
struct spool *spool_close(struct spool *s);
const char *spool_dir(const struct spool *s);

/* spool_writer_new - start a message: allocates a queue id (Postfix-style, 10+ upper-case
 * hex digits, unique in the spool), creates incoming/ID (0600) and writes the envelope
 * header. env is copied; env->queue_id is ignored. */
int spool_writer_new(struct spool *s, const struct spool_envelope *env, uint64_t max_size,
                     struct spool_writer **ret);
const char *spool_writer_id(const struct spool_writer *w);
uint64_t spool_writer_size(const struct spool_writer *w);

/* spool_writer_write - append message bytes (buffered). -EFBIG past the max_size given to
 * spool_writer_new (the message is then to be refused with 552 and the writer freed). */
int spool_writer_write(struct spool_writer *w, const void *data, size_t len);

/* spool_writer_finish - flush and write the END record (no fsync yet). */
int spool_writer_finish(struct spool_writer *w);

/* spool_commit - make finished writers durable and visible, as one group: fdatasync every
 * file, rename incoming/ID to queue/ID, one fsync of queue/. Several transactions that
 * arrived together share the directory fsync, so durability does not cap throughput.
 * results[i] gets 0 or -errno per writer; returns the first error or 0. Blocking: call from
 * a worker thread, not the event loop. */
int spool_commit(struct spool *s, struct spool_writer *const *w, size_t n, int *results);

/* spool_writer_free - release; an uncommitted incoming file is removed. NULL-tolerant. */
struct spool_writer *spool_writer_free(struct spool_writer *w);

/* spool_list - the queue ids in queue/ (caller frees each and the array). */
int spool_list(struct spool *s, char ***ret_ids, size_t *ret_n);

/* spool_read - parse queue/ID: envelope, and where the body is. Validates the whole file
 * (header syntax, body size, END record and CRC). -ENOENT when gone, -EBADMSG when malformed
 * (the caller may spool_quarantine it). */
int spool_read(struct spool *s, const char *id, struct spool_envelope *ret,
               uint64_t *ret_body_offset, uint64_t *ret_body_size);

/* spool_open_body - an O_RDONLY|O_CLOEXEC descriptor of queue/ID (caller closes). */
int spool_open_body(struct spool *s, const char *id, int *ret_fd);

void spool_envelope_done(struct spool_envelope *env);

struct spool_state {
        unsigned attempts;
        time_t next_attempt; /* 0: due now */
        time_t last_attempt;
        bool hold;
        char last_reply[SPOOL_REPLY_MAX];
        bool *rcpt_done; /* n_recipients flags: delivered or bounced already */
        size_t n_rcpt;
};

/* spool_state_load - state/ID for a message with n_recipients; a missing file gives a fresh
 * state (0). Release with spool_state_done. */
int spool_state_load(struct spool *s, const char *id, size_t n_recipients, struct spool_state *ret);
/* spool_state_save - replace state/ID atomically (no fsync: a lost state only means a message
 * is tried again sooner, never lost). */
int spool_state_save(struct spool *s, const char *id, const struct spool_state *st);
void spool_state_done(struct spool_state *st);

/* spool_remove - the message is delivered or bounced: remove queue/ID and state/ID. */
int spool_remove(struct spool *s, const char *id);

/* spool_quarantine - move queue/ID to corrupt/ID (and drop its state). */
int spool_quarantine(struct spool *s, const char *id);
