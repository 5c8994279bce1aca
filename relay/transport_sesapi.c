/* SPDX-License-Identifier: MIT */
/*
 * transport_sesapi - the relay's delivery through the SES API v2 (relay_transport = ses-api).
 *
 * Each delivery thread has an agent with its own HTTP connection (common/sesv2.c), reused
 * across messages. The credentials come from one credential chain (imds/creds.c: the
 * environment wins, else the instance role's temporary credentials, refreshed before they
 * expire) behind a mutex; each agent signs with its own copy, so a refresh by one thread
 * never frees what another is signing with. An ExpiredToken answer refreshes the shared
 * credentials (once, not once per thread: a thread whose rejected key is already replaced
 * just takes the new one).
 *
 * Outcomes are handed to delivery.c as SMTP-like replies, so its retry classes, bounces,
 * logs and delivery records apply unchanged: "250 Ok <MessageId>" when sent, "5xx ..." with
 * the SES error code for a refused message (bounce, with a DSN naming the error), and a
 * deferral ("454 4.7.0 ..." for throttling, "451 ..." otherwise) for everything temporary.
 * A paused or suspended account, denied access or unusable credentials are logged as a
 * warning: mail waits in the queue until an operator acts.
 */
#include "transport_sesapi.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "creds.h"
#include "http.h"
#include "log.h"
#include "secret_mask.h"
#include "sesv2.h"

#define KEY_ID_MAX 128

struct transport_sesapi {
        struct delivery_transport ops;
        char *region;
        char *endpoint;
        char host[256];

        pthread_mutex_t lock; /* guards provider and last_key_id */
        struct creds_provider *provider;
        char last_key_id[KEY_ID_MAX];
};

struct sesapi_agent {
        struct transport_sesapi *t;
        struct sesv2_client *client;
        struct aws_credentials creds; /* this agent's copy */
        char *body;
        size_t body_cap;
};

/* copy_credentials - a deep copy (secrets registered with the mask by the provider) */
static int copy_credentials(const struct aws_credentials *src, struct aws_credentials *dst)
{
        struct aws_credentials c = {
                .access_key_id = strdup(src->access_key_id),
                .secret_access_key = strdup(src->secret_access_key),
                .session_token = src->session_token ? strdup(src->session_token) : NULL,
                .expiration = src->expiration,
                .source = src->source,
        };

        if (!c.access_key_id || !c.secret_access_key || (src->session_token && !c.session_token)) {
                aws_credentials_done(&c);
                return -ENOMEM;
        }
        aws_credentials_done(dst);
        *dst = c;
        return 0;
}

/* get_credentials - sesv2's callback: the shared credentials, copied for this agent */
static int get_credentials(void *userdata, bool refresh, const struct aws_credentials **ret,
                           char *why, size_t why_size)
{
        struct sesapi_agent *a = userdata;
        struct transport_sesapi *t = a->t;
        const struct aws_credentials *c = NULL;
        time_t now = time(NULL);
        int r;

        pthread_mutex_lock(&t->lock);
        r = creds_provider_get(t->provider, now, false, &c, why, why_size);
        if (r >= 0 && refresh && a->creds.access_key_id &&
            strcmp(c->access_key_id, a->creds.access_key_id) == 0) {
                /* SES refused exactly these: ask for new ones */
                r = creds_provider_get(t->provider, now, true, &c, why, why_size);
        }
        if (r >= 0 && strcmp(c->access_key_id, t->last_key_id) != 0) {
                char expires[40] = "never";
                struct tm tm;

                if (c->expiration && gmtime_r(&c->expiration, &tm))
                        (void)strftime(expires, sizeof expires, "%Y-%m-%dT%H:%M:%SZ", &tm);
                log_info("SES API: signing with %s (access key %.*s..., expires %s)",
                         creds_provider_principal(t->provider), 8, c->access_key_id, expires);
                (void)snprintf(t->last_key_id, sizeof t->last_key_id, "%s", c->access_key_id);
        }
        if (r >= 0)
                r = copy_credentials(c, &a->creds);
        pthread_mutex_unlock(&t->lock);
        if (r < 0)
                return r;
        *ret = &a->creds;
        return 0;
}

static void *agent_new(void *userdata)
{
        struct transport_sesapi *t = userdata;
        struct sesapi_agent *a = calloc(1, sizeof *a);
        struct sesv2_client_options o = {
                .endpoint = t->endpoint,
                .region = t->region,
                .get_credentials = get_credentials,
        };

        if (!a)
                return NULL;
        a->t = t;
        o.userdata = a;
        if (sesv2_client_new(&o, &a->client) < 0) {
                free(a);
                return NULL;
        }
        return a;
}

static void agent_free(void *agent)
{
        struct sesapi_agent *a = agent;

        if (!a)
                return;
        sesv2_client_free(a->client);
        aws_credentials_done(&a->creds);
        free(a->body);
        free(a);
}

static const char *agent_peer(void *agent)
{
        struct sesapi_agent *a = agent;

        return sesv2_client_peer(a->client);
}

/* read_body - the queued message into a->body */
static int read_body(struct sesapi_agent *a, const struct smtp_client_message *m)
{
        size_t size = (size_t)m->body_size, done = 0;

        if ((uint64_t)size != m->body_size)
                return -EFBIG;
        if (size + 1 > a->body_cap) {
                char *p = realloc(a->body, size + 1);

                if (!p)
                        return -ENOMEM;
                a->body = p;
                a->body_cap = size + 1;
        }
        while (done < size) {
                ssize_t n = pread(m->body_fd, a->body + done, size - done,
                                  (off_t)(m->body_offset + done));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO; /* the queue file is shorter than its END record says */
                done += (size_t)n;
        }
        return 0;
}

/* bounce_status - SMTP code and enhanced status for a refused message */
static void bounce_status(const char *code, int *ret_code, const char **ret_status)
{
        if (strcmp(code, "MailFromDomainNotVerifiedException") == 0) {
                *ret_code = 550;
                *ret_status = "5.7.1";
        } else if (strcmp(code, "MessageTooLarge") == 0) {
                *ret_code = 552;
                *ret_status = "5.3.4";
        } else if (strcmp(code, "MessageRejected") == 0) {
                *ret_code = 554;
                *ret_status = "5.6.0";
        } else {
                *ret_code = 554;
                *ret_status = "5.0.0";
        }
}

static int agent_send(void *agent, const struct smtp_client_message *m,
                      struct smtp_rcpt_result *rcpt, struct smtp_reply *final,
                      struct smtp_client_error *err)
{
        struct sesapi_agent *a = agent;
        struct sesv2_message sm = {
                .sender = m->sender,
                .recipients = m->recipients,
                .n_recipients = m->n_recipients,
        };
        struct sesv2_result res;
        const char *code = NULL;
        int r;

        r = read_body(a, m);
        if (r < 0) {
                err->cls = DELIVERY_TEMPFAIL;
                (void)snprintf(err->text, sizeof err->text, "cannot read the queue file: %s",
                               strerror(-r));
                return r;
        }
        sm.raw = a->body;
        sm.raw_len = (size_t)m->body_size;
        r = sesv2_send_email(a->client, &sm, &res);
        if (r < 0) {
                err->cls = DELIVERY_TEMPFAIL;
                (void)snprintf(err->text, sizeof err->text, "SES API: %.500s",
                               res.message[0] ? res.message : strerror(-r));
                return r;
        }
        code = res.error_code[0] ? res.error_code : NULL;
        switch (res.verdict) {
        case SESV2_SENT:
                for (size_t i = 0; i < m->n_recipients; i++)
                        rcpt[i] = (struct smtp_rcpt_result){.cls = DELIVERY_OK, .code = 250};
                *final = (struct smtp_reply){.code = 250, .n_lines = 1};
                (void)snprintf(final->lines[0], sizeof final->lines[0], "Ok %.400s",
                               res.message_id[0] ? res.message_id : res.message);
                return 0;
        case SESV2_BOUNCE: {
                const char *status;
                int smtp_code;

                bounce_status(res.error_code, &smtp_code, &status);
                for (size_t i = 0; i < m->n_recipients; i++)
                        rcpt[i] = (struct smtp_rcpt_result){.cls = DELIVERY_OK, .code = 250};
                *final = (struct smtp_reply){.code = smtp_code, .n_lines = 1};
                (void)snprintf(final->enhanced, sizeof final->enhanced, "%s", status);
                (void)snprintf(final->lines[0], sizeof final->lines[0], "%s SES API %.90s: %.380s",
                               status, code ? code : "error",
                               res.message[0] ? res.message : "(no message)");
                return 0;
        }
        case SESV2_DEFER:
        case SESV2_REFRESH:
        case SESV2_SKEW:
                break;
        }
        err->cls = DELIVERY_TEMPFAIL;
        if (res.status == 0) {
                err->code = 0;
                (void)snprintf(err->text, sizeof err->text, "SES API: %.500s", res.message);
                return -EAGAIN;
        }
        if (res.status == 429 || (code && (strcmp(code, "TooManyRequestsException") == 0 ||
                                           strcmp(code, "LimitExceededException") == 0))) {
                err->code = 454;
                (void)snprintf(err->text, sizeof err->text, "454 4.7.0 SES API %.90s: %.380s",
                               code ? code : "HTTP 429",
                               res.message[0] ? res.message : "throttled");
                return -EAGAIN;
        }
        err->code = 451;
        (void)snprintf(err->text, sizeof err->text, "451 %s SES API %.90s%s%.380s (HTTP %ld)",
                       res.account_problem ? "4.7.0" : "4.3.0", code ? code : "error",
                       res.message[0] ? ": " : "", res.message, res.status);
        if (res.account_problem)
                log_warning(
                        "SES API refuses to send (%s%s%s): mail stays queued until this is fixed (IAM policy ses:SendRawEmail, account status in the SES console, or the credentials)",
                        code ? code : "credentials", res.message[0] ? ": " : "", res.message);
        return -EAGAIN;
}

int transport_sesapi_new(const char *region, bool imds_allow_v1, struct transport_sesapi **ret,
                         char *why, size_t why_size)
{
        struct imds_options imds = {.allow_v1 = imds_allow_v1};
        struct transport_sesapi *t = calloc(1, sizeof *t);
        struct sesv2_client *probe = NULL;
        struct sesv2_client_options o = {.region = region};
        int r;

        if (!t)
                return -ENOMEM;
        pthread_mutex_init(&t->lock, NULL);
        /* libcurl's global set-up is not thread-safe: here, before any delivery thread */
        r = http_global_init();
        if (r < 0) {
                (void)snprintf(why, why_size, "%s", http_global_error());
                transport_sesapi_free(t);
                return r;
        }
        t->region = strdup(region);
        t->endpoint = sesv2_endpoint(region);
        t->provider = creds_provider_new(&imds);
        if (!t->region || !t->endpoint || !t->provider) {
                transport_sesapi_free(t);
                return -ENOMEM;
        }
        o.endpoint = t->endpoint;
        r = sesv2_client_new(&o, &probe);
        if (r < 0) {
                if (r == -EINVAL)
                        (void)snprintf(why, why_size, "the SES endpoint '%s' is not an http(s) URL",
                                       t->endpoint);
                transport_sesapi_free(t);
                return r;
        }
        (void)snprintf(t->host, sizeof t->host, "%s", sesv2_client_host(probe));
        sesv2_client_free(probe);
        t->ops = (struct delivery_transport){
                .agent_new = agent_new,
                .agent_free = agent_free,
                .send = agent_send,
                .peer = agent_peer,
                .userdata = t,
        };
        *ret = t;
        return 0;
}

const struct delivery_transport *transport_sesapi_ops(struct transport_sesapi *t)
{
        return &t->ops;
}

const char *transport_sesapi_endpoint(const struct transport_sesapi *t)
{
        return t->endpoint;
}

const char *transport_sesapi_host(const struct transport_sesapi *t)
{
        return t->host;
}

struct transport_sesapi *transport_sesapi_free(struct transport_sesapi *t)
{
        if (!t)
                return NULL;
        creds_provider_free(t->provider);
        free(t->region);
        free(t->endpoint);
        pthread_mutex_destroy(&t->lock);
        free(t);
        return NULL;
}
