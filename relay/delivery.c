/* SPDX-License-Identifier: MIT */
/*
 * delivery - the queue manager and the delivery agents of the relay, in one module.
 *
 * The schedule is a binary min-heap of (due time, queue id) under one mutex; threads sleep on
 * a condition variable until the earliest entry is due. A thread takes one message, delivers
 * it to every recipient still pending (batches of at most 50 per transaction: SES's limit),
 * then removes it (all done: delivered or bounced), or saves its state and puts it back on
 * the heap with the backoff of retry.c. Each thread keeps its SMTP connection for the next
 * message unless it got too old or too idle.
 *
 * Outcome rules (SPEC): 2xx sent; 4xx deferred (SES's 454 throttling included); 5xx bounced
 * with a DSN to the sender (none for <>); 535 and other authentication failures are
 * deferred, never bounced, after the credentials are read again; messages older than
 * maximal_queue_lifetime bounce. A message acknowledged by the server is removed only after
 * every recipient has an outcome: a crash in between delivers it again (at least once).
 */
#include "delivery.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "buf.h"
#include "dsn.h"
#include "headers.h"
#include "log.h"
#include "queue_ids.h"
#include "rate.h"
#include "secret_mask.h"

#define DEFAULT_THREADS      4
#define DEFAULT_MAX_PER_CONN 100
#define DEFAULT_MAX_IDLE_SEC 8
#define RCPT_BATCH_MAX       50 /* SES: at most 50 recipients per message */
#define AUTH_RETRY_SEC       60
#define BOUNCE_HEADERS_MAX   (64 * 1024)
#define DELIVERY_RECORD_DAYS 7

struct due_entry {
        time_t due;
        char id[SPOOL_QUEUE_ID_MAX + 1];
        bool deferred;
};

struct delivery {
        struct delivery_config config;
        char *ca_file;
        char *myhostname;
        struct spool *spool;
        delivery_reload_fn reload;
        void *userdata;
        struct rate_limiter rate;

        pthread_mutex_t lock;
        pthread_cond_t cond;
        struct due_entry *heap;
        size_t n_heap, cap_heap;
        struct queue_ids known; /* every id in the heap or being delivered, once */
        bool stopping;
        char *username;
        char *password;
        unsigned credentials_generation;

        pthread_t *threads;
        size_t n_threads;

        /* the scan started by delivery_scan_start() */
        pthread_t scan_thread;
        bool scan_started;
        delivery_scan_done_fn scan_done;
        void *scan_userdata;
};

/* copy_text - bounded copy that cuts long texts (replies are cut, by design) */
static void copy_text(char *dst, size_t size, const char *src)
{
        size_t n = strnlen(src, size - 1);

        memcpy(dst, src, n);
        dst[n] = '\0';
}

/* --- the schedule ------------------------------------------------------------------------ */

static void heap_swap(struct due_entry *a, struct due_entry *b)
{
        struct due_entry t = *a;

        *a = *b;
        *b = t;
}

static void heap_up(struct due_entry *h, size_t i)
{
        while (i > 0 && h[(i - 1) / 2].due > h[i].due) {
                heap_swap(&h[(i - 1) / 2], &h[i]);
                i = (i - 1) / 2;
        }
}

static void heap_down(struct due_entry *h, size_t n, size_t i)
{
        for (;;) {
                size_t l = 2 * i + 1, r = l + 1, m = i;

                if (l < n && h[l].due < h[m].due)
                        m = l;
                if (r < n && h[r].due < h[m].due)
                        m = r;
                if (m == i)
                        return;
                heap_swap(&h[m], &h[i]);
                i = m;
        }
}

static int heap_push_locked(struct delivery *d, const char *id, time_t due, bool deferred)
{
        if (d->n_heap == d->cap_heap) {
                size_t cap = d->cap_heap ? d->cap_heap * 2 : 256;
                struct due_entry *h = realloc(d->heap, cap * sizeof *h);

                if (!h)
                        return -ENOMEM;
                d->heap = h;
                d->cap_heap = cap;
        }
        d->heap[d->n_heap].due = due;
        d->heap[d->n_heap].deferred = deferred;
        copy_text(d->heap[d->n_heap].id, sizeof d->heap[d->n_heap].id, id);
        heap_up(d->heap, d->n_heap);
        d->n_heap++;
        return 0;
}

/* schedule - a new message, or one its delivery thread puts back: known, waiting, in the heap */
static int schedule(struct delivery *d, const char *id, time_t due, bool deferred)
{
        int r;

        pthread_mutex_lock(&d->lock);
        r = queue_ids_add(&d->known, id);
        if (r >= 0) {
                queue_ids_set_in_flight(&d->known, id, false);
                r = heap_push_locked(d, id, due, deferred);
                if (r < 0)
                        queue_ids_remove(&d->known, id);
        }
        pthread_cond_signal(&d->cond);
        pthread_mutex_unlock(&d->lock);
        return r;
}

int delivery_enqueue(struct delivery *d, const char *id, time_t due)
{
        return schedule(d, id, due, false);
}

void delivery_flush(struct delivery *d)
{
        pthread_mutex_lock(&d->lock);
        for (size_t i = 0; i < d->n_heap; i++)
                d->heap[i].due = 0;
        pthread_cond_broadcast(&d->cond);
        pthread_mutex_unlock(&d->lock);
}

void delivery_counts(struct delivery *d, size_t *ret_queued, size_t *ret_deferred)
{
        size_t deferred = 0;

        pthread_mutex_lock(&d->lock);
        for (size_t i = 0; i < d->n_heap; i++)
                deferred += d->heap[i].deferred;
        *ret_queued = d->n_heap;
        *ret_deferred = deferred;
        pthread_mutex_unlock(&d->lock);
}

/* take_due - the next due message, waiting for it; false when stopping */
static bool take_due(struct delivery *d, struct due_entry *ret)
{
        pthread_mutex_lock(&d->lock);
        for (;;) {
                time_t now = time(NULL);

                if (d->stopping) {
                        pthread_mutex_unlock(&d->lock);
                        return false;
                }
                if (d->n_heap > 0 && d->heap[0].due <= now) {
                        *ret = d->heap[0];
                        d->heap[0] = d->heap[--d->n_heap];
                        heap_down(d->heap, d->n_heap, 0);
                        queue_ids_set_in_flight(&d->known, ret->id, true);
                        pthread_mutex_unlock(&d->lock);
                        return true;
                }
                if (d->n_heap > 0) {
                        struct timespec until = {.tv_sec = d->heap[0].due, .tv_nsec = 0};

                        (void)pthread_cond_timedwait(&d->cond, &d->lock, &until);
                } else {
                        (void)pthread_cond_wait(&d->cond, &d->lock);
                }
        }
}

/* is_stopping - delivery_free() has begun */
static bool is_stopping(struct delivery *d)
{
        bool r;

        pthread_mutex_lock(&d->lock);
        r = d->stopping;
        pthread_mutex_unlock(&d->lock);
        return r;
}

/* delivery_scan reads every state first (I/O, no lock held), then fills the heap under one
 * lock with one wake-up: a signal per message made 100 000 queued messages cost 390 000 futex
 * calls as the delivery threads woke to contend for the lock, for nothing to deliver. Ids
 * the heap has, or a thread is delivering, are skipped: scheduled twice, a message was
 * delivered twice (a flush scans a queue the heap already holds). */
int delivery_scan(struct delivery *d)
{
        struct due_entry *found = NULL;
        char **ids = NULL;
        size_t n = 0;
        int added = 0, r;

        r = spool_list(d->spool, &ids, &n);
        if (r < 0)
                return r;
        found = n > 0 ? calloc(n, sizeof *found) : NULL;
        if (n > 0 && !found)
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                struct spool_state st;

                if (i % 1024 == 1023 && is_stopping(d)) {
                        r = -ECANCELED;
                        break;
                }
                copy_text(found[i].id, sizeof found[i].id, ids[i]);
                if (spool_state_load(d->spool, ids[i], 0, &st) >= 0) {
                        found[i].due = st.hold ? (time_t)INT64_MAX / 2 : st.next_attempt;
                        found[i].deferred = st.attempts > 0;
                        spool_state_done(&st);
                }
        }
        if (r >= 0 && n > 0) {
                pthread_mutex_lock(&d->lock);
                for (size_t i = 0; r >= 0 && i < n; i++) {
                        r = queue_ids_add(&d->known, found[i].id);
                        if (r <= 0)
                                continue; /* known already, or ENOMEM (ends the loop) */
                        r = heap_push_locked(d, found[i].id, found[i].due, found[i].deferred);
                        if (r < 0)
                                queue_ids_remove(&d->known, found[i].id);
                        else
                                added++;
                }
                pthread_cond_broadcast(&d->cond);
                pthread_mutex_unlock(&d->lock);
        }
        for (size_t i = 0; i < n; i++)
                free(ids[i]);
        free(ids);
        free(found);
        return r < 0 ? r : added;
}

static void *scan_thread(void *userdata)
{
        struct delivery *d = userdata;
        int r = delivery_scan(d);

        if (d->scan_done)
                d->scan_done(d->scan_userdata, r);
        return NULL;
}

int delivery_scan_start(struct delivery *d, delivery_scan_done_fn done, void *userdata)
{
        int r;

        if (d->scan_started)
                return -EALREADY;
        d->scan_done = done;
        d->scan_userdata = userdata;
        r = -pthread_create(&d->scan_thread, NULL, scan_thread, d);
        if (r < 0)
                return r;
        d->scan_started = true;
        return 0;
}

/* --- credentials ------------------------------------------------------------------------- */

int delivery_set_credentials(struct delivery *d, const char *username, const char *password)
{
        char *u = username ? strdup(username) : NULL, *p = password ? strdup(password) : NULL;

        if ((username && !u) || (password && !p)) {
                free(u);
                secret_free(p);
                return -ENOMEM;
        }
        pthread_mutex_lock(&d->lock);
        free(d->username);
        secret_free(d->password);
        d->username = u;
        d->password = p;
        d->credentials_generation++;
        pthread_mutex_unlock(&d->lock);
        return 0;
}

/* --- one delivery thread ----------------------------------------------------------------- */

struct agent {
        struct delivery *d;
        struct smtp_client *client;
        unsigned sent_on_connection;
        time_t last_used;
        unsigned generation; /* credentials the connection was opened with */

        /* config.transport's agent, when a transport is set */
        void *transport_agent;
};

static double seconds_since(time_t t)
{
        time_t now = time(NULL);

        return now > t ? (double)(now - t) : 0.0;
}

/* connect_agent - a usable connection: the current one unless it is too old, too idle or
 * opened with credentials since replaced */
static int connect_agent(struct agent *a, struct smtp_client_error *err)
{
        struct delivery *d = a->d;
        struct smtp_client_options o = {
                .host = d->config.relayhost.host,
                .port = d->config.relayhost.port,
                .tls = d->config.tls,
                .ca_file = d->ca_file,
                .helo = d->myhostname,
        };
        char *user = NULL, *pass = NULL;
        unsigned generation;
        int r;

        pthread_mutex_lock(&d->lock);
        generation = d->credentials_generation;
        pthread_mutex_unlock(&d->lock);
        if (a->client &&
            (a->sent_on_connection >= d->config.max_messages_per_connection ||
             seconds_since(a->last_used) >= d->config.max_idle_sec || a->generation != generation))
                a->client = smtp_client_quit(a->client);
        if (a->client)
                return 0;
        pthread_mutex_lock(&d->lock);
        user = d->username ? strdup(d->username) : NULL;
        pass = d->password ? strdup(d->password) : NULL;
        a->generation = d->credentials_generation;
        pthread_mutex_unlock(&d->lock);
        o.username = user;
        o.password = pass;
        r = smtp_client_connect(&o, &a->client, err);
        free(user);
        secret_free(pass);
        if (r < 0)
                return r;
        a->sent_on_connection = 0;
        a->last_used = time(NULL);
        return 0;
}

/* transport_send - one batch through config.transport (no connection of ours to manage) */
static int transport_send(struct agent *a, const struct smtp_client_message *m,
                          struct smtp_rcpt_result *rcpt, struct smtp_reply *final,
                          struct smtp_client_error *err)
{
        const struct delivery_transport *t = a->d->config.transport;

        if (!a->transport_agent)
                a->transport_agent = t->agent_new(t->userdata);
        if (!a->transport_agent) {
                err->cls = DELIVERY_TEMPFAIL;
                copy_text(err->text, sizeof err->text, "out of memory");
                return -ENOMEM;
        }
        return t->send(a->transport_agent, m, rcpt, final, err);
}

/* status_from_reply - the enhanced status of a reply, or a default for its class */
static void status_from_reply(const char *text, int code, char *out, size_t size)
{
        const char *p = text;

        /* "550 5.1.1 ..." */
        if (strlen(p) > 4 && p[3] == ' ' && (p[4] == '2' || p[4] == '4' || p[4] == '5') &&
            p[5] == '.') {
                size_t n = strcspn(p + 4, " ");

                if (n < size) {
                        memcpy(out, p + 4, n);
                        out[n] = '\0';
                        return;
                }
        }
        (void)snprintf(out, size, "%s", code >= 500 ? "5.0.0" : "4.0.0");
}

struct outcome {
        enum delivery_class cls;
        char text[SMTP_REPLY_TEXT_MAX + 64];
        int code;
};

/* log_outcome - Postfix's per-recipient line */
static void log_outcome(const struct agent *a, const char *id, const char *rcpt, time_t arrival,
                        const struct outcome *o, struct buf *record)
{
        const char *status = o->cls == DELIVERY_OK         ? "sent"
                             : o->cls == DELIVERY_PERMFAIL ? "bounced"
                                                           : "deferred";
        char dsn[16];
        const char *relay = a->d->config.transport && a->transport_agent
                                    ? a->d->config.transport->peer(a->transport_agent)
                            : a->client ? smtp_client_peer(a->client)
                                        : "none";
        char fields[3][600];
        const char *const journal[] = {fields[0], fields[1], fields[2], NULL};

        status_from_reply(o->text, o->code ? o->code : (o->cls == DELIVERY_PERMFAIL ? 550 : 450),
                          dsn, sizeof dsn);
        if (o->cls == DELIVERY_OK)
                (void)snprintf(dsn, sizeof dsn, "2.0.0");
        (void)snprintf(fields[0], sizeof fields[0], "QUEUE_ID=%s", id);
        (void)snprintf(fields[1], sizeof fields[1], "RECIPIENT=%s", rcpt);
        (void)snprintf(fields[2], sizeof fields[2], "DELIVERY_STATUS=%s", status);
        log_struct(o->cls == DELIVERY_OK ? LOG_INFO : LOG_NOTICE, journal,
                   "%s: to=<%s>, relay=%s, delay=%.0f, dsn=%s, status=%s (%s)", id, rcpt, relay,
                   seconds_since(arrival), dsn, status, o->text);
        /* The delivery record: "to ADDRESS STATUS REPLY" (reply without line breaks). */
        if (o->cls == DELIVERY_OK || o->cls == DELIVERY_PERMFAIL)
                (void)buf_printf(record, "to %s %s %s\n", rcpt, status, o->text);
}

/* write_record - spool_dir/done/ID: how a message ended, for `mailinit firstboot` (the
 * confirmation's verdict) and the operator. Not fsynced: it is a report, not mail. */
static void write_record(struct delivery *d, const char *id, const struct buf *record,
                         bool all_sent, bool none_sent)
{
        char *path = NULL, *tmp = NULL;
        FILE *f;

        if (asprintf(&path, "%s/done/%s", spool_dir(d->spool), id) < 0 ||
            asprintf(&tmp, "%s/done/.%s.new", spool_dir(d->spool), id) < 0)
                goto out;
        f = fopen(tmp, "we");
        if (!f)
                goto out;
        fprintf(f, "result %s\ncompleted %lld\n%s",
                all_sent    ? "sent"
                : none_sent ? "bounced"
                            : "partial",
                (long long)time(NULL), record->data ? record->data : "");
        if (fclose(f) == 0)
                (void)rename(tmp, path);
        else
                (void)unlink(tmp);
out:
        free(path);
        free(tmp);
}

/* prune_records - delivery records older than DELIVERY_RECORD_DAYS go */
static void prune_records(struct delivery *d)
{
        char *dir = NULL;
        DIR *dp;
        struct dirent *de;
        time_t limit = time(NULL) - DELIVERY_RECORD_DAYS * 86400;

        if (asprintf(&dir, "%s/done", spool_dir(d->spool)) < 0)
                return;
        (void)mkdir(dir, 0700);
        dp = opendir(dir);
        while (dp && (de = readdir(dp))) {
                struct stat st;

                bool interrupted = de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 &&
                                   strcmp(de->d_name, "..") != 0;
                bool expired = de->d_name[0] != '.' &&
                               fstatat(dirfd(dp), de->d_name, &st, 0) == 0 && st.st_mtime < limit;

                if (interrupted || expired) /* an interrupted write, or older than the limit */
                        (void)unlinkat(dirfd(dp), de->d_name, 0);
        }
        if (dp)
                closedir(dp);
        free(dir);
}

/* queue_bounce - a DSN to the sender for the recipients that failed for good */
static void queue_bounce(struct delivery *d, const struct spool_envelope *env, int body_fd,
                         uint64_t body_offset, uint64_t body_size,
                         const struct dsn_recipient *failed, size_t n_failed, const char *reason)
{
        char headers[BOUNCE_HEADERS_MAX + 1];
        size_t want = body_size < BOUNCE_HEADERS_MAX ? (size_t)body_size : BOUNCE_HEADERS_MAX;
        ssize_t got = pread(body_fd, headers, want, (off_t)body_offset);
        struct dsn_params p = {
                .reporting_mta = d->myhostname,
                .queue_id = env->queue_id,
                .sender = env->sender,
                .arrival = env->arrival,
                .now = time(NULL),
                .remote_mta = d->config.relayhost.host,
                .recipients = failed,
                .n_recipients = n_failed,
                .reason = reason,
        };
        char *rcpt = (char *)(uintptr_t)env->sender;
        struct spool_envelope benv = {
                .sender = (char *)(uintptr_t) "",
                .recipients = &rcpt,
                .n_recipients = 1,
                .arrival = time(NULL),
        };
        struct spool_writer *w = NULL;
        struct buf msg;
        int r, result;

        if (!env->sender[0]) {
                log_info("%s: no bounce for the null sender", env->queue_id);
                return;
        }
        if (got < 0)
                got = 0;
        p.original_headers = headers;
        p.original_headers_len = headers_end(headers, (size_t)got);
        buf_init(&msg, 1024 * 1024);
        (void)snprintf(benv.client, sizeof benv.client, "local");
        r = dsn_build(&p, &msg);
        if (r >= 0)
                r = spool_writer_new(d->spool, &benv, UINT64_MAX / 2, &w);
        if (r >= 0)
                r = spool_writer_write(w, msg.data, msg.len);
        if (r >= 0)
                r = spool_writer_finish(w);
        if (r >= 0)
                r = spool_commit(d->spool, &w, 1, &result);
        if (r >= 0) {
                log_info("%s: sender non-delivery notification: %s", env->queue_id,
                         spool_writer_id(w));
                (void)delivery_enqueue(d, spool_writer_id(w), 0);
        } else {
                log_error_errno(r, "%s: cannot queue the non-delivery notification: %m",
                                env->queue_id);
        }
        spool_writer_free(w);
        buf_done(&msg);
}

/* deliver - one message to every pending recipient */
static void deliver(struct agent *a, const struct due_entry *entry)
{
        struct delivery *d = a->d;
        struct spool_envelope env = {0};
        struct spool_state st = {0};
        struct dsn_recipient *failed = NULL;
        char **failed_text = NULL;
        char(*failed_status)[16] = NULL;
        size_t n_failed = 0;
        uint64_t body_offset, body_size;
        bool any_deferred = false, auth_failed = false;
        struct buf record;
        char last_reply[SPOOL_REPLY_MAX] = "";
        int body_fd = -1, r;

        buf_init(&record, 256 * 1024);
        r = spool_read(d->spool, entry->id, &env, &body_offset, &body_size);
        if (r == -ENOENT) {
                buf_done(&record);
                return; /* deleted with `mailinit queue delete` */
        }
        if (r == -EBADMSG) {
                log_warning("%s: malformed queue file, moved to corrupt/", entry->id);
                (void)spool_quarantine(d->spool, entry->id);
                buf_done(&record);
                return;
        }
        if (r < 0) {
                log_error_errno(r, "%s: cannot read the queue file: %m", entry->id);
                (void)schedule(d, entry->id,
                               time(NULL) + (time_t)d->config.retry.minimal_backoff_sec, true);
                buf_done(&record);
                return;
        }
        r = spool_state_load(d->spool, entry->id, env.n_recipients, &st);
        if (r < 0) {
                /* A damaged state file: start afresh (at worst a recipient gets it twice). */
                log_warning_errno(r, "%s: cannot read the delivery state, starting afresh: %m",
                                  entry->id);
                st = (struct spool_state){.rcpt_done = calloc(env.n_recipients, sizeof(bool)),
                                          .n_rcpt = env.n_recipients};
                if (!st.rcpt_done) {
                        spool_envelope_done(&env);
                        (void)schedule(d, entry->id, time(NULL) + 60, true);
                        buf_done(&record);
                        return;
                }
        }
        if (st.hold)
                goto out;
        r = spool_open_body(d->spool, entry->id, &body_fd);
        if (r < 0)
                goto defer_all;
        failed = calloc(env.n_recipients, sizeof *failed);
        failed_text = calloc(env.n_recipients, sizeof *failed_text);
        failed_status = calloc(env.n_recipients, sizeof *failed_status);
        if (!failed || !failed_text || !failed_status)
                goto defer_all;

        if (retry_expired(&d->config.retry, env.arrival, time(NULL))) {
                for (size_t i = 0; i < env.n_recipients; i++) {
                        struct outcome o = {.cls = DELIVERY_PERMFAIL, .code = 0};

                        if (st.rcpt_done[i])
                                continue;
                        (void)snprintf(
                                o.text, sizeof o.text,
                                "message expired after %llu days in the queue; last reply: %.400s",
                                (unsigned long long)(d->config.retry.maximal_queue_lifetime_sec /
                                                     86400),
                                st.last_reply[0] ? st.last_reply : "none");
                        log_outcome(a, entry->id, env.recipients[i], env.arrival, &o, &record);
                        failed_text[n_failed] = strdup(o.text);
                        failed[n_failed] = (struct dsn_recipient){env.recipients[i], "4.4.7",
                                                                  failed_text[n_failed]};
                        n_failed++;
                        st.rcpt_done[i] = true;
                }
                goto finish;
        }

        for (size_t start = 0; start < env.n_recipients;) {
                const char *batch[RCPT_BATCH_MAX];
                size_t index[RCPT_BATCH_MAX], n = 0;
                struct smtp_rcpt_result results[RCPT_BATCH_MAX] = {0};
                struct smtp_client_error err = {0};
                struct smtp_reply final = {0};
                struct smtp_client_message m = {
                        .sender = env.sender,
                        .body_fd = body_fd,
                        .body_offset = body_offset,
                        .body_size = body_size,
                        .body_8bit = env.body_8bit,
                        .smtputf8 = env.smtputf8,
                };

                for (; start < env.n_recipients && n < RCPT_BATCH_MAX; start++) {
                        if (st.rcpt_done[start])
                                continue;
                        index[n] = start;
                        batch[n++] = env.recipients[start];
                }
                if (n == 0)
                        break;
                m.recipients = batch;
                m.n_recipients = n;

                /* max_send_rate across every thread */
                for (;;) {
                        uint64_t wait = rate_limiter_take(&d->rate, now_monotonic_usec());

                        if (wait == 0)
                                break;
                        sleep_ms(wait / 1000 + 1);
                }
                r = d->config.transport ? transport_send(a, &m, results, &final, &err)
                                        : connect_agent(a, &err);
                if (r >= 0 && !d->config.transport) {
                        r = smtp_client_send(a->client, &m, results, &final, &err);
                        if (r == -ENOTCONN) {
                                /* The kept connection had gone (SES closes idle ones) and
                                 * nothing was sent: one new connection, same message. */
                                a->client = smtp_client_quit(a->client);
                                err = (struct smtp_client_error){0};
                                r = connect_agent(a, &err);
                                if (r >= 0)
                                        r = smtp_client_send(a->client, &m, results, &final, &err);
                        }
                        a->last_used = time(NULL);
                        a->sent_on_connection++;
                }
                if (r < 0) {
                        /* The connection failed: every recipient of the batch waits. */
                        struct outcome o = {.cls = err.cls == DELIVERY_OK ? DELIVERY_TEMPFAIL
                                                                          : err.cls,
                                            .code = err.code};

                        copy_text(o.text, sizeof o.text, err.text[0] ? err.text : strerror(-r));
                        if (o.cls == DELIVERY_PERMFAIL && err.code == 0)
                                o.cls = DELIVERY_TEMPFAIL;
                        if (o.cls == DELIVERY_AUTHFAIL)
                                auth_failed = true;
                        for (size_t i = 0; i < n; i++) {
                                if (o.cls == DELIVERY_PERMFAIL) {
                                        failed_text[n_failed] = strdup(o.text);
                                        failed[n_failed] = (struct dsn_recipient){
                                                batch[i], "5.0.0", failed_text[n_failed]};
                                        n_failed++;
                                        st.rcpt_done[index[i]] = true;
                                } else {
                                        any_deferred = true;
                                }
                                log_outcome(a, entry->id, batch[i], env.arrival, &o, &record);
                        }
                        copy_text(last_reply, sizeof last_reply, o.text);
                        a->client = smtp_client_quit(a->client);
                        if (o.cls != DELIVERY_PERMFAIL) {
                                /* Nothing more will get through this time. */
                                for (size_t i = start; i < env.n_recipients; i++)
                                        if (!st.rcpt_done[i])
                                                any_deferred = true;
                                break;
                        }
                        continue;
                }
                for (size_t i = 0; i < n; i++) {
                        struct outcome o = {.cls = results[i].cls, .code = results[i].code};

                        copy_text(o.text, sizeof o.text, results[i].text);
                        if (o.cls == DELIVERY_OK) {
                                /* The recipient was accepted: the final reply decides. */
                                o.code = final.code;
                                o.cls = smtp_client_classify(final.code, final.lines[0]);
                                smtp_reply_text(&final, o.text, sizeof o.text);
                        }
                        switch (o.cls) {
                        case DELIVERY_OK:
                                st.rcpt_done[index[i]] = true;
                                break;
                        case DELIVERY_PERMFAIL:
                                status_from_reply(o.text, o.code, failed_status[n_failed],
                                                  sizeof failed_status[n_failed]);
                                failed_text[n_failed] = strdup(o.text);
                                failed[n_failed] = (struct dsn_recipient){
                                        batch[i], failed_status[n_failed], failed_text[n_failed]};
                                n_failed++;
                                st.rcpt_done[index[i]] = true;
                                break;
                        case DELIVERY_AUTHFAIL:
                                auth_failed = true;
                                any_deferred = true;
                                break;
                        case DELIVERY_TEMPFAIL:
                                any_deferred = true;
                                break;
                        }
                        if (o.cls != DELIVERY_OK)
                                copy_text(last_reply, sizeof last_reply, o.text);
                        log_outcome(a, entry->id, batch[i], env.arrival, &o, &record);
                }
                if (a->client && (final.code == 0 || final.code >= 400))
                        (void)smtp_client_rset(a->client, &err);
        }

finish:
        if (n_failed > 0)
                queue_bounce(
                        d, &env, body_fd, body_offset, body_size, failed, n_failed,
                        "The relayhost refused the message for good, or it stayed in the queue too long.");
        if (!any_deferred) {
                write_record(d, entry->id, &record, n_failed == 0, n_failed == env.n_recipients);
                log_info("%s: removed", entry->id);
                (void)spool_remove(d->spool, entry->id);
                goto out;
        }
        goto defer;

defer_all:
        (void)snprintf(last_reply, sizeof last_reply, "cannot open the queue file: %s",
                       strerror(r < 0 ? -r : ENOMEM));
defer:
        if (auth_failed && d->reload) {
                int q = d->reload(d->userdata);

                if (q < 0)
                        log_warning_errno(q, "Cannot read the SMTP credentials again: %m");
        }
        {
                time_t now = time(NULL);
                uint64_t delay = retry_delay_sec(&d->config.retry, st.attempts + 1, last_reply,
                                                 backoff_random());

                if (auth_failed && delay > AUTH_RETRY_SEC)
                        delay = AUTH_RETRY_SEC; /* new credentials deserve a quick try */
                st.attempts++;
                st.last_attempt = now;
                st.next_attempt = now + (time_t)delay;
                copy_text(st.last_reply, sizeof st.last_reply, last_reply);
                r = spool_state_save(d->spool, entry->id, &st);
                if (r < 0)
                        log_warning_errno(r, "%s: cannot save the delivery state: %m", entry->id);
                (void)schedule(d, entry->id, st.next_attempt, true);
        }
out:
        for (size_t i = 0; i < n_failed; i++)
                free(failed_text[i]);
        free(failed_status);
        buf_done(&record);
        free(failed);
        free(failed_text);
        if (body_fd >= 0)
                close(body_fd);
        spool_state_done(&st);
        spool_envelope_done(&env);
}

static void *agent_thread(void *userdata)
{
        struct agent a = {.d = userdata};
        struct due_entry entry;

        while (take_due(a.d, &entry)) {
                deliver(&a, &entry);
                /* not put back (delivered, bounced, deleted, held): a later scan may add it */
                pthread_mutex_lock(&a.d->lock);
                if (queue_ids_in_flight(&a.d->known, entry.id))
                        queue_ids_remove(&a.d->known, entry.id);
                pthread_mutex_unlock(&a.d->lock);
        }
        smtp_client_quit(a.client);
        if (a.d->config.transport)
                a.d->config.transport->agent_free(a.transport_agent);
        return NULL;
}

int delivery_new(const struct delivery_config *config, struct spool *spool,
                 delivery_reload_fn reload, void *userdata, struct delivery **ret)
{
        struct delivery *d = calloc(1, sizeof *d);
        int r = 0;

        if (!d)
                return -ENOMEM;
        d->config = *config;
        if (!d->config.threads)
                d->config.threads = DEFAULT_THREADS;
        if (!d->config.max_messages_per_connection)
                d->config.max_messages_per_connection = DEFAULT_MAX_PER_CONN;
        if (!d->config.max_idle_sec)
                d->config.max_idle_sec = DEFAULT_MAX_IDLE_SEC;
        d->ca_file = config->ca_file ? strdup(config->ca_file) : NULL;
        d->myhostname = strdup(config->myhostname ? config->myhostname : "localhost");
        d->spool = spool;
        d->reload = reload;
        d->userdata = userdata;
        pthread_mutex_init(&d->lock, NULL);
        pthread_cond_init(&d->cond, NULL);
        rate_limiter_init(&d->rate, config->max_send_rate, now_monotonic_usec());
        prune_records(d);
        d->threads = calloc(d->config.threads, sizeof *d->threads);
        if (!d->myhostname || (config->ca_file && !d->ca_file) || !d->threads) {
                delivery_free(d);
                return -ENOMEM;
        }
        for (unsigned i = 0; i < d->config.threads; i++) {
                r = -pthread_create(&d->threads[i], NULL, agent_thread, d);
                if (r < 0)
                        break;
                d->n_threads++;
        }
        if (r < 0) {
                delivery_free(d);
                return r;
        }
        *ret = d;
        return 0;
}

struct delivery *delivery_free(struct delivery *d)
{
        if (!d)
                return NULL;
        pthread_mutex_lock(&d->lock);
        d->stopping = true;
        pthread_cond_broadcast(&d->cond);
        pthread_mutex_unlock(&d->lock);
        for (size_t i = 0; i < d->n_threads; i++)
                (void)pthread_join(d->threads[i], NULL);
        if (d->scan_started)
                (void)pthread_join(d->scan_thread, NULL);
        free(d->threads);
        free(d->heap);
        queue_ids_clear(&d->known);
        free(d->ca_file);
        free(d->myhostname);
        free(d->username);
        secret_free(d->password);
        rate_limiter_done(&d->rate);
        pthread_cond_destroy(&d->cond);
        pthread_mutex_destroy(&d->lock);
        free(d);
        return NULL;
}
