/* SPDX-License-Identifier: MIT */
/*
 * smtpd_sasl - Cyrus SASL, server side, for the relay's AUTH command.
 *
 * smtpd_sasl_init() runs sasl_server_init() once, with two global callbacks: SASL_CB_GETCONFPATH
 * answers smtpd_sasl_config_dir, so Cyrus reads <dir>/<smtpd_sasl_path>.conf and nothing under
 * /etc/sasl2 that belongs to another program; SASL_CB_LOG passes Cyrus's errors to our log at
 * warning level, its other messages at debug level, and drops SASL_LOG_PASS (messages that may
 * hold passwords) outright. A probe connection lists the mechanisms once: PLAIN and LOGIN among
 * them are what EHLO offers.
 *
 * Each AUTH command gets a fresh sasl_conn_t (security properties: no anonymous login, no
 * security layer). Client lines are decoded with sasl_decode64 into a buffer that is wiped
 * after each step; challenges are encoded with sasl_encode64. Cyrus's result codes become
 * -errno once, here (SECURITY: "user not found" and "wrong password" look the same outside).
 */
#include "smtpd_sasl.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <sasl/sasl.h>
#include <sasl/saslutil.h>

#include "log.h"

#define SMTPD_SASL_SERVICE "smtp"

/* Cyrus declares every callback as int (*)(void); going through void (*)(void) tells the
 * compiler the cast is deliberate (-Wcast-function-type). */
#define SMTPD_SASL_CALLBACK(f) ((int (*)(void))(void (*)(void))(f))

struct smtpd_sasl {
        sasl_conn_t *conn;
        char mech[16];
        char username[SMTPD_SASL_USERNAME_MAX];
        char in[SMTPD_SASL_LINE_MAX + 1];  /* decoded client line: wiped after each step */
        char out[SMTPD_SASL_LINE_MAX + 1]; /* base64 challenge, borrowed by the caller */
};

static bool initialized;
static char config_dir[PATH_MAX];
static char app_name[128];
static char mechanisms[SMTPD_SASL_MECHS_MAX];

static int log_cyrus(void *context, int level, const char *message)
{
        (void)context;
        if (!message)
                return SASL_OK;
        switch (level) {
        case SASL_LOG_ERR:
                log_warning("SASL: %s", message);
                break;
        case SASL_LOG_PASS:
                break; /* may contain a password: never logged */
        default:
                log_debug("SASL: %s", message);
                break;
        }
        return SASL_OK;
}

static int get_config_path(void *context, char **path)
{
        (void)context;
        if (!path)
                return SASL_BADPARAM;
        *path = config_dir;
        return SASL_OK;
}

static const sasl_callback_t global_callbacks[] = {
        {SASL_CB_LOG, SMTPD_SASL_CALLBACK(log_cyrus), NULL},
        {SASL_CB_GETCONFPATH, SMTPD_SASL_CALLBACK(get_config_path), NULL},
        {SASL_CB_LIST_END, NULL, NULL},
};

static int conn_new(const char *hostname, sasl_conn_t **ret)
{
        sasl_security_properties_t props = {
                .min_ssf = 0,
                .max_ssf = 0, /* no security layer: TLS protects the session */
                .maxbufsize = 0,
                .security_flags = SASL_SEC_NOANONYMOUS,
        };
        sasl_conn_t *conn = NULL;
        int r;

        r = sasl_server_new(SMTPD_SASL_SERVICE, hostname, NULL, NULL, NULL, NULL, 0, &conn);
        if (r != SASL_OK) {
                if (conn)
                        sasl_dispose(&conn);
                return r == SASL_NOMEM ? -ENOMEM : -EIO;
        }
        r = sasl_setprop(conn, SASL_SEC_PROPS, &props);
        if (r != SASL_OK) {
                sasl_dispose(&conn);
                return -EIO;
        }
        *ret = conn;
        return 0;
}

/* has_word - list (words separated by spaces) contains word, case-insensitively */
static bool has_word(const char *list, const char *word)
{
        size_t n = strlen(word);

        for (const char *p = list; p && *p;) {
                size_t len = strcspn(p, " ");

                if (len == n && strncasecmp(p, word, n) == 0)
                        return true;
                p += len;
                p += strspn(p, " ");
        }
        return false;
}

int smtpd_sasl_init(const char *app, const char *dir, const char *hostname, char *why,
                    size_t why_size)
{
        static const char *const wanted[] = {"PLAIN", "LOGIN"};
        sasl_conn_t *probe = NULL;
        const char *list = NULL;
        int r;

        if (initialized) {
                if (strcmp(app, app_name) == 0 && strcmp(dir, config_dir) == 0)
                        return 0;
                (void)snprintf(
                        why, why_size,
                        "Cyrus SASL was started with %s/%s.conf; a restart applies %s/%s.conf",
                        config_dir, app_name, dir, app);
                return -EALREADY;
        }
        if (strlen(dir) >= sizeof config_dir || strlen(app) >= sizeof app_name) {
                (void)snprintf(why, why_size, "SASL configuration path too long");
                return -ENAMETOOLONG;
        }
        (void)snprintf(config_dir, sizeof config_dir, "%s", dir);
        (void)snprintf(app_name, sizeof app_name, "%s", app);
        r = sasl_server_init(global_callbacks, app_name);
        if (r != SASL_OK) {
                (void)snprintf(why, why_size, "Cyrus SASL did not start (%s/%s.conf): %s",
                               config_dir, app_name, sasl_errstring(r, NULL, NULL));
                return r == SASL_NOMEM ? -ENOMEM : -EIO;
        }
        initialized = true;
        r = conn_new(hostname, &probe);
        if (r < 0) {
                (void)snprintf(why, why_size, "Cyrus SASL refuses a server connection");
                return r;
        }
        if (sasl_listmech(probe, NULL, "", " ", "", &list, NULL, NULL) != SASL_OK)
                list = "";
        mechanisms[0] = '\0';
        for (size_t i = 0, used = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
                int n;

                if (!has_word(list, wanted[i]))
                        continue;
                n = snprintf(mechanisms + used, sizeof mechanisms - used, "%s%s", used ? " " : "",
                             wanted[i]);
                if (n > 0 && (size_t)n < sizeof mechanisms - used)
                        used += (size_t)n;
        }
        if (!mechanisms[0]) {
                (void)snprintf(
                        why, why_size,
                        "no SASL mechanism (PLAIN, LOGIN) available with %s/%s.conf (Cyrus offers '%s'): is libsasl2-modules installed, and does mech_list name them?",
                        config_dir, app_name, list);
                sasl_dispose(&probe); /* list belongs to the connection */
                return -ENOPROTOOPT;
        }
        sasl_dispose(&probe);
        return 0;
}

const char *smtpd_sasl_mechanisms(void)
{
        return mechanisms;
}

int smtpd_sasl_new(const char *hostname, struct smtpd_sasl **ret)
{
        struct smtpd_sasl *a;
        int r;

        if (!initialized)
                return -EIO;
        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        r = conn_new(hostname, &a->conn);
        if (r < 0) {
                free(a);
                return r;
        }
        *ret = a;
        return 0;
}

/* result - map a sasl_server_start/step result; encodes the challenge on SASL_CONTINUE */
static int result(struct smtpd_sasl *a, int r, const char *serverout, unsigned outlen,
                  const char **ret_challenge, char *reason, size_t reason_size)
{
        const void *value = NULL;
        unsigned n = 0;

        OPENSSL_cleanse(a->in, sizeof a->in);
        switch (r) {
        case SASL_CONTINUE:
                a->out[0] = '\0';
                if (outlen > 0 &&
                    sasl_encode64(serverout, outlen, a->out, sizeof a->out, &n) != SASL_OK) {
                        (void)snprintf(reason, reason_size, "challenge too long");
                        return -EPROTO;
                }
                *ret_challenge = a->out;
                return 0;
        case SASL_OK:
                if (sasl_getprop(a->conn, SASL_USERNAME, &value) != SASL_OK || !value) {
                        (void)snprintf(reason, reason_size, "no user name");
                        return -EPROTO;
                }
                (void)snprintf(a->username, sizeof a->username, "%s", (const char *)value);
                for (char *p = a->username; *p; p++)
                        if ((unsigned char)*p < 32 || *p == 127)
                                *p = '?';
                return 1;
        case SASL_NOMECH:
        case SASL_TOOWEAK:
        case SASL_ENCRYPT:
                (void)snprintf(reason, reason_size, "unsupported authentication mechanism");
                return -ENOPROTOOPT;
        case SASL_BADAUTH:
        case SASL_NOUSER:
        case SASL_NOVERIFY:
        case SASL_NOAUTHZ:
        case SASL_BADVERS:
        case SASL_EXPIRED:
        case SASL_DISABLED:
                (void)snprintf(reason, reason_size, "authentication failure");
                return -EACCES;
        case SASL_TRYAGAIN:
        case SASL_UNAVAIL:
        case SASL_FAIL:
                (void)snprintf(reason, reason_size, "%s", sasl_errstring(r, NULL, NULL));
                return -EAGAIN;
        case SASL_NOMEM:
                (void)snprintf(reason, reason_size, "out of memory");
                return -ENOMEM;
        default:
                (void)snprintf(reason, reason_size, "%s", sasl_errstring(r, NULL, NULL));
                return -EPROTO;
        }
}

/* decode - a client's base64 line into a->in; "=" is an empty initial response (RFC 4954) */
static int decode(struct smtpd_sasl *a, const char *line, bool initial, unsigned *ret_len,
                  char *reason, size_t reason_size)
{
        size_t len = strlen(line);

        *ret_len = 0;
        if (initial && strcmp(line, "=") == 0)
                return 0;
        if (len > SMTPD_SASL_LINE_MAX ||
            sasl_decode64(line, (unsigned)len, a->in, sizeof a->in, ret_len) != SASL_OK) {
                OPENSSL_cleanse(a->in, sizeof a->in);
                (void)snprintf(reason, reason_size, "cannot decode the response");
                return -EINVAL;
        }
        return 0;
}

int smtpd_sasl_start(struct smtpd_sasl *a, const char *mech, const char *initial,
                     const char **ret_challenge, char *reason, size_t reason_size)
{
        const char *serverout = NULL;
        unsigned inlen = 0, outlen = 0;
        int r;

        (void)snprintf(a->mech, sizeof a->mech, "%s", mech);
        for (char *p = a->mech; *p; p++)
                if (*p >= 'a' && *p <= 'z')
                        *p = (char)(*p - 'a' + 'A');
                else if ((unsigned char)*p <= ' ' || *p == 127)
                        *p = '?';
        if (!has_word(mechanisms, mech)) {
                (void)snprintf(reason, reason_size, "unsupported authentication mechanism");
                return -ENOPROTOOPT;
        }
        if (initial) {
                r = decode(a, initial, true, &inlen, reason, reason_size);
                if (r < 0)
                        return r;
        }
        r = sasl_server_start(a->conn, a->mech, initial ? a->in : NULL, inlen, &serverout, &outlen);
        return result(a, r, serverout, outlen, ret_challenge, reason, reason_size);
}

int smtpd_sasl_step(struct smtpd_sasl *a, const char *response, const char **ret_challenge,
                    char *reason, size_t reason_size)
{
        const char *serverout = NULL;
        unsigned inlen = 0, outlen = 0;
        int r;

        r = decode(a, response, false, &inlen, reason, reason_size);
        if (r < 0)
                return r;
        r = sasl_server_step(a->conn, a->in, inlen, &serverout, &outlen);
        return result(a, r, serverout, outlen, ret_challenge, reason, reason_size);
}

const char *smtpd_sasl_username(const struct smtpd_sasl *a)
{
        return a->username;
}

const char *smtpd_sasl_method(const struct smtpd_sasl *a)
{
        return a->mech;
}

struct smtpd_sasl *smtpd_sasl_free(struct smtpd_sasl *a)
{
        if (!a)
                return NULL;
        if (a->conn)
                sasl_dispose(&a->conn);
        OPENSSL_cleanse(a, sizeof *a);
        free(a);
        return NULL;
}
