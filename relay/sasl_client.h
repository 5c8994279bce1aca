/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* The client side of SMTP AUTH (RFC 4954) behind a small ops table, as Postfix's xsasl: the
 * delivery client deals in base64 lines only; an implementation does the mechanism work.
 * sasl_client_cyrus_new() is the one over the Cyrus SASL library (plugins from
 * libsasl2-modules), limited to PLAIN and LOGIN; tests may supply their own ops. Credentials
 * are copied at creation and wiped (OPENSSL_cleanse) with every buffer that held them.
 * No logging (Cyrus's own log callback is silenced). The prefix is sasl_client_first/next/free
 * and sasl_client_cyrus_*: Cyrus owns sasl_client_new/start/step. */

#define SASL_CLIENT_LINE_MAX 2048 /* a base64 line in either direction, without CRLF */

struct sasl_client;

struct sasl_client_ops {
        const char *name;
        int (*first)(struct sasl_client *s, const char *offered, const char **ret_mech,
                     const char **ret_response, char *why, size_t why_size);
        int (*next)(struct sasl_client *s, const char *challenge, const char **ret_response,
                    char *why, size_t why_size);
        void (*free)(struct sasl_client *s);
};

/* Every implementation's object starts with this. */
struct sasl_client {
        const struct sasl_client_ops *ops;
};

/* sasl_client_cyrus_new - a Cyrus SASL client for one SMTP session with host (service
 * "smtp"). Initialises the library on first use (once per process, thread-safe; plugins from
 * the default path or $SASL_PATH). username and password are copied. Returns 0 and *ret, or
 * -errno with why: -ENOMEM, -EIO when the library cannot start. */
int sasl_client_cyrus_new(const char *host, const char *username, const char *password,
                          struct sasl_client **ret, char *why, size_t why_size);

/* sasl_client_first - choose a mechanism among offered (space-separated names from the EHLO
 * AUTH line; only PLAIN and LOGIN are considered, PLAIN first) and compute the initial
 * response. *ret_mech: "PLAIN" or "LOGIN" (static). *ret_response: the base64 initial
 * response for "AUTH <mech> <response>", or NULL when the mechanism sends none (LOGIN);
 * borrowed until the next call. Returns 0, or -errno with why: -ENOPROTOOPT when no
 * mechanism is usable ("no SASL mechanism (PLAIN, LOGIN) available: is libsasl2-modules
 * installed?"), -ENOMEM, -EPROTO. */
int sasl_client_first(struct sasl_client *s, const char *offered, const char **ret_mech,
                      const char **ret_response, char *why, size_t why_size);

/* sasl_client_next - answer a 334 challenge (its base64 text, "" when empty). *ret_response:
 * the base64 line to send ("" for an empty one), borrowed until the next call. Returns 0, or
 * -EPROTO (bad base64, or the mechanism refused the challenge: answer "*" to cancel) with why. */
int sasl_client_next(struct sasl_client *s, const char *challenge, const char **ret_response,
                     char *why, size_t why_size);

/* sasl_client_free - wipe and free. NULL-tolerant; returns NULL. */
struct sasl_client *sasl_client_free(struct sasl_client *s);
