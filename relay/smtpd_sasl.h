/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* The server side of SMTP AUTH (RFC 4954) for the relay's SMTP server, over the Cyrus SASL
 * library (as Postfix's xsasl_cyrus_server): the SMTP server deals in base64 lines; Cyrus
 * checks the password against what its configuration names (sasldb, saslauthd...). Only
 * PLAIN and LOGIN are offered. No security layer (TLS protects the session). Decoded client
 * responses are wiped (OPENSSL_cleanse) once used; nothing here logs a secret. The prefix is
 * smtpd_sasl_: Cyrus owns sasl_server_*. */

#define SMTPD_SASL_LINE_MAX     2048 /* a base64 line in either direction, without CRLF */
#define SMTPD_SASL_REASON_MAX   256
#define SMTPD_SASL_MECHS_MAX    64
#define SMTPD_SASL_USERNAME_MAX 256

/* smtpd_sasl_init - start the library once per process, before any thread uses Cyrus: the
 * application name app_name selects the configuration file <config_dir>/<app_name>.conf
 * (Cyrus's SASL_CB_GETCONFPATH answers config_dir; `pwcheck_method`, `auxprop_plugin`,
 * `sasldb_path`, `mech_list` live there). Checks that PLAIN or LOGIN is usable. Returns 0, or
 * -errno with why: -EIO (the library did not start), -ENOPROTOOPT (neither PLAIN nor LOGIN:
 * libsasl2-modules missing, or mech_list excludes them), -EALREADY (called before with other
 * values), -ENOMEM. Calling it again with the same values returns 0. */
int smtpd_sasl_init(const char *app_name, const char *config_dir, const char *hostname, char *why,
                    size_t why_size);

/* smtpd_sasl_mechanisms - "PLAIN LOGIN" (those usable, for EHLO's AUTH line); "" before a
 * successful smtpd_sasl_init(). Static. */
const char *smtpd_sasl_mechanisms(void);

struct smtpd_sasl;

/* smtpd_sasl_new - one authentication exchange's state (service "smtp", server name hostname,
 * borrowed for the call). Returns 0 and *ret, -ENOMEM, or -EIO when Cyrus refuses. */
int smtpd_sasl_new(const char *hostname, struct smtpd_sasl **ret);

/* smtpd_sasl_start - "AUTH mech [initial]": initial is the base64 initial response ("=" for an
 * empty one), or NULL when the client sent none. smtpd_sasl_step - the client's next base64
 * line. Both return 1 when the client is authenticated; 0 when the exchange goes on with the
 * challenge *ret_challenge (base64, "" for an empty one; borrowed until the next call) for a
 * "334" line; or -errno with reason (for the reply and the log, never a secret):
 * -ENOPROTOOPT an unsupported mechanism (504), -EINVAL undecodable base64 (501), -EACCES
 * authentication failed (535), -EAGAIN a temporary failure, e.g. the password database cannot
 * be read (454), -EPROTO another failure (535), -ENOMEM. */
int smtpd_sasl_start(struct smtpd_sasl *a, const char *mech, const char *initial,
                     const char **ret_challenge, char *reason, size_t reason_size);
int smtpd_sasl_step(struct smtpd_sasl *a, const char *response, const char **ret_challenge,
                    char *reason, size_t reason_size);

/* smtpd_sasl_username / smtpd_sasl_method - after success: the authenticated user (Cyrus's
 * canonical form, control characters replaced by '?') and "PLAIN"/"LOGIN". Borrowed. */
const char *smtpd_sasl_username(const struct smtpd_sasl *a);
const char *smtpd_sasl_method(const struct smtpd_sasl *a);

/* smtpd_sasl_free - dispose and wipe. NULL-tolerant; returns NULL. */
struct smtpd_sasl *smtpd_sasl_free(struct smtpd_sasl *a);
