/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "address.h"
#include "retry.h"
#include "smtp_client.h"
#include "spool.h"

/* Delivery of queued mail to the relayhost: a few threads, each with one SMTP connection
 * it reuses for several messages (renewed after a bounded count or idle time: SES drops idle
 * connections after about 10 s), a shared token bucket for max_send_rate, and a schedule of
 * due times (new mail now, deferred mail after its backoff). Outcomes are logged one line per
 * recipient in Postfix's format and kept in the spool state. */

/* A transport other than SMTP to the relayhost (relay_transport = ses-api): each delivery
 * thread gets its own agent; send() has smtp_client_send()'s contract (returns 0 when the
 * server answered: rcpt[] and *final hold the outcome; -errno with err when nothing got
 * through, err->cls saying whether to defer). Spool, schedule, retries, bounces, rate pacing
 * and delivery records stay delivery.c's. */
struct delivery_transport {
        void *(*agent_new)(void *userdata); /* NULL on ENOMEM */
        void (*agent_free)(void *agent);    /* NULL-tolerant */
        int (*send)(void *agent, const struct smtp_client_message *m, struct smtp_rcpt_result *rcpt,
                    struct smtp_reply *final, struct smtp_client_error *err);
        const char *(*peer)(void *agent); /* "host[ip]:port" for log lines */
        void *userdata;
};

struct delivery_config {
        struct relayhost relayhost;
        enum relay_tls_mode tls;
        const char *ca_file;
        const char *myhostname; /* EHLO, bounces */
        struct retry_policy retry;
        double max_send_rate;                 /* messages per second, 0: unlimited */
        unsigned threads;                     /* 0: 4 */
        unsigned max_messages_per_connection; /* 0: 100 */
        unsigned max_idle_sec;                /* 0: 8 */

        /* NULL: SMTP to relayhost; else this transport (borrowed: it outlives the delivery) */
        const struct delivery_transport *transport;
};

/* reload_credentials - called from a delivery thread after the relayhost refused the
 * credentials (535): re-read them (and fetch the secret again) and call
 * delivery_set_credentials. Returns 0 or -errno. */
typedef int (*delivery_reload_fn)(void *userdata);

struct delivery;

/* delivery_new - strings in config are copied. Threads start at once and wait for work. */
int delivery_new(const struct delivery_config *config, struct spool *spool,
                 delivery_reload_fn reload, void *userdata, struct delivery **ret);

/* delivery_set_credentials - the SMTP user name and password (copied; NULL: no AUTH).
 * Thread-safe; connections opened afterwards use them. */
int delivery_set_credentials(struct delivery *d, const char *username, const char *password);

/* delivery_enqueue - deliver the message id when due (0: now). Thread-safe. */
int delivery_enqueue(struct delivery *d, const char *id, time_t due);

/* delivery_scan - enqueue every message in the spool the schedule does not know yet (neither
 * waiting nor being delivered), at the due time its state says. Returns how many were added,
 * or -errno. */
int delivery_scan(struct delivery *d);

/* delivery_scan_done_fn - called on the scan's thread when it ends: result as delivery_scan()
 * returns it (-ECANCELED when delivery_free() stopped it) */
typedef void (*delivery_scan_done_fn)(void *userdata, int result);

/* delivery_scan_start - delivery_scan() on a thread of its own, so that the SMTP server serves
 * clients while a large queue is read (messages accepted meanwhile are scheduled once: the
 * scan skips them). Once per delivery (-EALREADY after); delivery_free() stops and joins it.
 * Returns 0 or -errno (the thread could not be started). */
int delivery_scan_start(struct delivery *d, delivery_scan_done_fn done, void *userdata);

/* delivery_flush - everything queued is due now (SIGUSR1, `mailinit queue flush`). */
void delivery_flush(struct delivery *d);

/* delivery_counts - messages waiting (due now or later) and deferred (attempted before). */
void delivery_counts(struct delivery *d, size_t *ret_queued, size_t *ret_deferred);

/* delivery_free - stop the threads after their current message and free. NULL-tolerant. */
struct delivery *delivery_free(struct delivery *d);
