/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <systemd/sd-event.h>

#include "address.h"
#include "spool.h"

/* The relay's ESMTP server (RFC 5321) on sd-event: one state machine per connection, no
 * thread per client. A message is answered 250 only after spool_commit() made it durable;
 * commits run on one worker thread that takes every finished message waiting at that moment
 * (group commit). Clients outside mynetworks are refused relaying (554 5.7.1) unless they
 * authenticated: STARTTLS (RFC 3207) when a TLS context is given, then AUTH (RFC 4954, Cyrus
 * SASL through smtpd_sasl) when enabled; AUTH is never offered in clear. */

struct smtp_server_config {
        const char *hostname;        /* banner, Received */
        const char *myorigin;        /* completes bare local names */
        uint64_t message_size_limit; /* 552 above it */
        const struct network *mynetworks;
        size_t n_mynetworks;
        unsigned max_recipients;    /* 452 4.5.3 beyond (0: 1000) */
        unsigned max_errors;        /* 421 after that many errors (0: 20) */
        uint64_t idle_timeout_usec; /* 421 4.4.2 after that long without a complete line (0: 300 s)
                                     */
        unsigned max_connections;   /* 421 4.7.0 for more (0: 1000) */
        unsigned max_connections_per_client; /* 421 4.7.0 for more from one address outside
                                                mynetworks (0: no limit) */
        SSL_CTX *tls_ctx; /* STARTTLS offered when set (smtpd_tls_context_new); a reference is
                             taken */
        bool sasl_enable; /* AUTH after STARTTLS; needs tls_ctx and smtpd_sasl_init() done */
};

/* queued - a message was committed: hand it to delivery. Called on the event loop. */
typedef void (*smtp_server_queued_fn)(void *userdata, const char *queue_id);

struct smtp_server;

/* smtp_server_new - config is copied, strings included, except mynetworks (borrowed for the
 * server's life). -EINVAL for sasl_enable without tls_ctx or without smtpd_sasl_init(). */
int smtp_server_new(sd_event *e, const struct smtp_server_config *config, struct spool *spool,
                    smtp_server_queued_fn queued, void *userdata, struct smtp_server **ret);

/* smtp_server_add_listener - accept on fd (a listening socket; ownership taken). */
int smtp_server_add_listener(struct smtp_server *s, int fd);

/* smtp_server_stop_accepting - close the listeners; sessions finish their current command. */
void smtp_server_stop_accepting(struct smtp_server *s);

/* smtp_server_busy - messages received but not yet answered (their commit is running). */
size_t smtp_server_busy(const struct smtp_server *s);
size_t smtp_server_connections(const struct smtp_server *s);

/* smtp_server_free - close every session (no reply is lost: a message not yet committed was
 * never acknowledged) and stop the commit thread after its current batch. */
struct smtp_server *smtp_server_free(struct smtp_server *s);

/* smtp_server_network_match - true when addr (AF_INET or AF_INET6 sockaddr) is in one of the
 * networks. Pure; exported for tests. */
bool smtp_server_network_match(const struct network *nets, size_t n,
                               const struct sockaddr_storage *addr);
