/* SPDX-License-Identifier: MIT */
/*
 * sasl_client - the Cyrus SASL implementation of the delivery client's AUTH ops table.
 *
 * sasl_client_init() runs once per process (pthread_once) with a log callback that drops
 * Cyrus's messages (its default is syslog: library code stays quiet). Each SMTP session gets
 * a sasl_conn_t whose callbacks hand out the session's copy of the credentials: SASL_CB_USER
 * and SASL_CB_AUTHNAME the user name (as Postfix's xsasl_cyrus does), SASL_CB_PASS the
 * password. Only PLAIN and LOGIN are ever requested, and only among those the server offers;
 * there is no security layer (TLS protects the session). Missing plugins show up as
 * SASL_NOMECH from sasl_client_start(), reported as such (libsasl2-modules provides them).
 *
 * SECURITY: the password lives in one sasl_secret_t per session; it, the base64 lines and
 * the mechanisms' output buffers are wiped with OPENSSL_cleanse once used or at free.
 */
#include "sasl_client.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <sasl/sasl.h>
#include <sasl/saslutil.h>

#define SASL_CLIENT_SERVICE "smtp"
#define NO_MECH_TEXT        "no SASL mechanism (PLAIN, LOGIN) available: is libsasl2-modules installed?"

struct cyrus_client {
        struct sasl_client base; /* first: sasl_client_free() gets this pointer back */
        sasl_conn_t *conn;
        char *username;
        sasl_secret_t *secret;
        size_t secret_size;
        sasl_callback_t callbacks[4];
        char out[SASL_CLIENT_LINE_MAX + 1]; /* base64 response, borrowed by the caller */
        char in[SASL_CLIENT_LINE_MAX + 1];  /* decoded challenge */
};

static pthread_once_t cyrus_once = PTHREAD_ONCE_INIT;
static int cyrus_init_result = SASL_FAIL;

/* Cyrus declares every callback as int (*)(void); going through void (*)(void) tells the
 * compiler the cast is deliberate (-Wcast-function-type). */
#define SASL_CLIENT_CALLBACK(f) ((int (*)(void))(void (*)(void))(f))

static int log_discard(void *context, int level, const char *message)
{
        (void)context;
        (void)level;
        (void)message;
        return SASL_OK;
}

static const sasl_callback_t global_callbacks[] = {
        {SASL_CB_LOG, SASL_CLIENT_CALLBACK(log_discard), NULL},
        {SASL_CB_LIST_END, NULL, NULL},
};

static void cyrus_init(void)
{
        cyrus_init_result = sasl_client_init(global_callbacks);
}

/* get_simple - SASL_CB_USER / SASL_CB_AUTHNAME: the user name */
static int get_simple(void *context, int id, const char **result, unsigned *len)
{
        struct cyrus_client *s = context;

        if ((id != SASL_CB_USER && id != SASL_CB_AUTHNAME) || !result)
                return SASL_BADPARAM;
        *result = s->username;
        if (len)
                *len = (unsigned)strlen(s->username);
        return SASL_OK;
}

/* get_secret - SASL_CB_PASS: the password (ours; the mechanism does not free it) */
static int get_secret(sasl_conn_t *conn, void *context, int id, sasl_secret_t **psecret)
{
        struct cyrus_client *s = context;

        (void)conn;
        if (id != SASL_CB_PASS || !psecret)
                return SASL_BADPARAM;
        *psecret = s->secret;
        return SASL_OK;
}

/* wipe_output - clear what a mechanism handed back (PLAIN's holds the password); the
 * mechanism frees it at sasl_dispose() without clearing it */
static void wipe_output(const char *clientout, unsigned len)
{
        void *writable;

        if (!clientout || len == 0)
                return;
        memcpy(&writable, &clientout, sizeof(writable)); /* drop const without a cast */
        OPENSSL_cleanse(writable, len);
}

/* encode - base64 of a mechanism's output into s->out, then wipe the output */
static int encode(struct cyrus_client *s, const char *clientout, unsigned len, char *why,
                  size_t why_size)
{
        unsigned out_len = 0;
        int r;

        s->out[0] = '\0';
        if (len == 0)
                return 0;
        r = sasl_encode64(clientout, len, s->out, sizeof(s->out), &out_len);
        wipe_output(clientout, len);
        if (r != SASL_OK) {
                OPENSSL_cleanse(s->out, sizeof(s->out));
                (void)snprintf(why, why_size, "SASL response too long");
                return -EPROTO;
        }
        return 0;
}

static int cyrus_first(struct sasl_client *base, const char *offered, const char **ret_mech,
                       const char **ret_response, char *why, size_t why_size)
{
        struct cyrus_client *s = (struct cyrus_client *)base;
        sasl_interact_t *interact = NULL;
        const char *clientout = NULL, *mech = NULL, *p = offered;
        unsigned clientout_len = 0;
        bool plain = false, login = false;
        char mechs[16];
        int r;

        OPENSSL_cleanse(s->out, sizeof(s->out));
        while (*p) {
                size_t n;

                p += strspn(p, " ");
                n = strcspn(p, " ");
                if (n == 5 && strncasecmp(p, "PLAIN", n) == 0)
                        plain = true;
                else if (n == 5 && strncasecmp(p, "LOGIN", n) == 0)
                        login = true;
                p += n;
        }
        if (!plain && !login) {
                (void)snprintf(why, why_size,
                               "the relayhost offers no SASL mechanism we use (PLAIN, LOGIN)");
                return -ENOPROTOOPT;
        }
        (void)snprintf(mechs, sizeof(mechs), "%s%s%s", plain ? "PLAIN" : "",
                       plain && login ? " " : "", login ? "LOGIN" : "");

        r = sasl_client_start(s->conn, mechs, &interact, &clientout, &clientout_len, &mech);
        if (r == SASL_NOMECH) {
                (void)snprintf(why, why_size, "%s", NO_MECH_TEXT);
                return -ENOPROTOOPT;
        }
        if (r == SASL_INTERACT) {
                (void)snprintf(why, why_size, "the SASL mechanism asks for interaction");
                return -EPROTO;
        }
        if (r != SASL_OK && r != SASL_CONTINUE) {
                if (r == SASL_NOMEM)
                        return -ENOMEM;
                (void)snprintf(why, why_size, "SASL start: %s", sasl_errdetail(s->conn));
                return -EPROTO;
        }
        r = encode(s, clientout, clientout_len, why, why_size);
        if (r < 0)
                return r;
        *ret_mech = mech && strcasecmp(mech, "PLAIN") == 0 ? "PLAIN" : "LOGIN";
        /* RFC 4954 4: no initial response (LOGIN) is "AUTH LOGIN"; an empty one would be
         * "=", which neither mechanism produces. */
        *ret_response = clientout_len > 0 ? s->out : NULL;
        return 0;
}

static int cyrus_next(struct sasl_client *base, const char *challenge, const char **ret_response,
                      char *why, size_t why_size)
{
        struct cyrus_client *s = (struct cyrus_client *)base;
        sasl_interact_t *interact = NULL;
        const char *clientout = NULL;
        unsigned in_len = 0, clientout_len = 0;
        size_t challenge_len = strlen(challenge);
        int r;

        OPENSSL_cleanse(s->out, sizeof(s->out));
        if (challenge_len > SASL_CLIENT_LINE_MAX ||
            sasl_decode64(challenge, (unsigned)challenge_len, s->in, SASL_CLIENT_LINE_MAX,
                          &in_len) != SASL_OK) {
                (void)snprintf(why, why_size, "bad base64 in the server's SASL challenge");
                return -EPROTO;
        }
        r = sasl_client_step(s->conn, s->in, in_len, &interact, &clientout, &clientout_len);
        OPENSSL_cleanse(s->in, sizeof(s->in));
        if (r != SASL_OK && r != SASL_CONTINUE) {
                if (r == SASL_NOMEM)
                        return -ENOMEM;
                (void)snprintf(why, why_size, "SASL step: %s", sasl_errdetail(s->conn));
                return -EPROTO;
        }
        r = encode(s, clientout, clientout_len, why, why_size);
        if (r < 0)
                return r;
        *ret_response = s->out;
        return 0;
}

static void cyrus_free(struct sasl_client *base)
{
        struct cyrus_client *s = (struct cyrus_client *)base;

        if (s->conn)
                sasl_dispose(&s->conn);
        if (s->secret) {
                OPENSSL_cleanse(s->secret, s->secret_size);
                free(s->secret);
        }
        if (s->username) {
                OPENSSL_cleanse(s->username, strlen(s->username));
                free(s->username);
        }
        OPENSSL_cleanse(s->out, sizeof(s->out));
        OPENSSL_cleanse(s->in, sizeof(s->in));
        free(s);
}

static const struct sasl_client_ops cyrus_ops = {
        .name = "cyrus",
        .first = cyrus_first,
        .next = cyrus_next,
        .free = cyrus_free,
};

int sasl_client_cyrus_new(const char *host, const char *username, const char *password,
                          struct sasl_client **ret, char *why, size_t why_size)
{
        sasl_security_properties_t props = {
                .min_ssf = 0,
                .max_ssf = 0, /* no SASL security layer: TLS protects the session */
                .maxbufsize = 0,
                .security_flags = SASL_SEC_NOANONYMOUS,
        };
        size_t password_len = strlen(password);
        struct cyrus_client *s;
        int r;

        if (pthread_once(&cyrus_once, cyrus_init) != 0 || cyrus_init_result != SASL_OK) {
                (void)snprintf(why, why_size, "cannot initialise the Cyrus SASL library: %s",
                               sasl_errstring(cyrus_init_result, NULL, NULL));
                return -EIO;
        }
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->base.ops = &cyrus_ops;
        s->username = strdup(username);
        s->secret_size = sizeof(sasl_secret_t) + password_len;
        s->secret = malloc(s->secret_size);
        if (!s->username || !s->secret) {
                cyrus_free(&s->base);
                return -ENOMEM;
        }
        s->secret->len = password_len;
        memcpy(s->secret->data, password, password_len + 1); /* with its NUL */

        s->callbacks[0] = (sasl_callback_t){SASL_CB_USER, SASL_CLIENT_CALLBACK(get_simple), s};
        s->callbacks[1] = (sasl_callback_t){SASL_CB_AUTHNAME, SASL_CLIENT_CALLBACK(get_simple), s};
        s->callbacks[2] = (sasl_callback_t){SASL_CB_PASS, SASL_CLIENT_CALLBACK(get_secret), s};
        s->callbacks[3] = (sasl_callback_t){SASL_CB_LIST_END, NULL, NULL};

        r = sasl_client_new(SASL_CLIENT_SERVICE, host, NULL, NULL, s->callbacks, 0, &s->conn);
        if (r == SASL_OK)
                r = sasl_setprop(s->conn, SASL_SEC_PROPS, &props);
        if (r != SASL_OK) {
                (void)snprintf(why, why_size, "SASL client: %s", sasl_errstring(r, NULL, NULL));
                cyrus_free(&s->base);
                return r == SASL_NOMEM ? -ENOMEM : -EIO;
        }
        *ret = &s->base;
        return 0;
}

int sasl_client_first(struct sasl_client *s, const char *offered, const char **ret_mech,
                      const char **ret_response, char *why, size_t why_size)
{
        return s->ops->first(s, offered, ret_mech, ret_response, why, why_size);
}

int sasl_client_next(struct sasl_client *s, const char *challenge, const char **ret_response,
                     char *why, size_t why_size)
{
        return s->ops->next(s, challenge, ret_response, why, why_size);
}

struct sasl_client *sasl_client_free(struct sasl_client *s)
{
        if (s)
                s->ops->free(s);
        return NULL;
}
