/* SPDX-License-Identifier: MIT */
/*
 * fetch_secret - from secret_id to SMTP credentials: the credential chain, GetSecretValue,
 * and the secret's format. Errors are sorted here into the classes firstboot turns into
 * exit codes; the service's own garbage (-EBADMSG from secrets.c) becomes -EPROTO so that
 * -EBADMSG keeps meaning "the secret's content".
 */
#include "fetch_secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "parse.h"
#include "secrets.h"

struct chain_ctx {
        struct creds_provider *provider;
};

static int get_credentials(void *userdata, bool refresh, const struct aws_credentials **ret,
                           char *why, size_t why_size)
{
        struct chain_ctx *ctx = userdata;

        return creds_provider_get(ctx->provider, time(NULL), refresh, ret, why, why_size);
}

int fetch_secret(const struct settings *settings, struct creds_provider *p,
                 struct fetched_secret *ret, char *why, size_t why_size)
{
        const char *secret_id = settings_get(settings, SETTING_SECRET_ID);
        const char *region = settings_get(settings, SETTING_REGION);
        struct chain_ctx ctx = {p};
        struct secrets_request req = {
                .secret_id = secret_id,
                .region = region,
                .get_credentials = get_credentials,
                .userdata = &ctx,
        };
        const char *attempts = getenv("AWS_MAX_ATTEMPTS");
        struct secret_value value = {0};
        struct secrets_error err;
        struct http_client *http;
        char content_why[SMTP_SECRET_ERROR_MAX];
        int r;

        *ret = (struct fetched_secret){0};
        /* AWS_MAX_ATTEMPTS: the SDKs' knob for attempts per request (first one included). */
        if (attempts) {
                uint64_t v;

                if (parse_uint64(attempts, &v) == 0 && v >= 1 && v <= 20)
                        req.max_attempts = (unsigned)v;
        }
        http = http_client_new();
        if (!http) {
                r = -errno;
                if (r != -ENOMEM)
                        (void)snprintf(why, why_size, "%s", http_global_error());
                return r;
        }
        /* The principal is known once credentials were looked up: ask first. */
        {
                const struct aws_credentials *c;
                char chain_why[512] = "";

                r = creds_provider_get(p, time(NULL), false, &c, chain_why, sizeof chain_why);
                if (r < 0) {
                        snprintf(why, why_size, "no AWS credentials to read secret '%s': %s",
                                 secret_id, chain_why);
                        http_client_free(http);
                        return r == -ENOENT ? -EACCES : r;
                }
        }
        req.principal = creds_provider_principal(p);
        r = secrets_get_secret_value(http, &req, &value, &err);
        http_client_free(http);
        if (r < 0) {
                snprintf(why, why_size, "%s", err.message);
                return r == -EBADMSG ? -EPROTO : r;
        }
        if (value.is_binary) {
                snprintf(
                        why, why_size,
                        "secret '%s' holds SecretBinary; mailinit expects a SecretString with a JSON object",
                        secret_id);
                secret_value_done(&value);
                return -EBADMSG;
        }
        r = smtp_secret_parse(value.secret_string, value.secret_len, region, &ret->smtp,
                              content_why, sizeof content_why);
        if (r < 0) {
                snprintf(why, why_size, "secret '%s': %s", secret_id,
                         r == -EBADMSG ? content_why : strerror(-r));
                secret_value_done(&value);
                return r;
        }
        ret->arn = value.arn;
        ret->version_id = value.version_id;
        value.arn = value.version_id = NULL;
        secret_value_done(&value);
        return 0;
}

void fetched_secret_done(struct fetched_secret *s)
{
        smtp_credentials_done(&s->smtp);
        free(s->arn);
        free(s->version_id);
        *s = (struct fetched_secret){0};
}
