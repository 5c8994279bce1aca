/* SPDX-License-Identifier: MIT */
/*
 * creds - the credential chain. The environment wins, as in every AWS SDK; otherwise the
 * instance role from IMDS. Role credentials are cached and refreshed CREDS_REFRESH_MARGIN_SEC
 * before their Expiration (IMDS publishes new ones at least that early), so a long-running
 * relay never signs with credentials about to lapse. Each refresh uses a new IMDS client:
 * its deadline and token belong to that refresh.
 */
#include "creds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "secret_mask.h"

#define CREDS_PRINCIPAL_MAX            160
#define CREDS_MIN_REFRESH_INTERVAL_SEC 60

struct creds_provider {
        struct imds_options imds_options;
        struct aws_credentials current;
        bool have_current;
        bool from_environment;
        char *role;
        time_t fetched_at; /* 0: seeded, never fetched here */
        char principal[CREDS_PRINCIPAL_MAX];
};

struct creds_provider *creds_provider_new(const struct imds_options *imds_options)
{
        struct creds_provider *p = calloc(1, sizeof *p);

        if (!p)
                return NULL;
        if (imds_options)
                p->imds_options = *imds_options;
        p->imds_options.endpoint = NULL; /* borrowed pointers are not kept */
        snprintf(p->principal, sizeof p->principal, "no credentials");
        return p;
}

struct creds_provider *creds_provider_free(struct creds_provider *p)
{
        if (!p)
                return NULL;
        aws_credentials_done(&p->current);
        free(p->role);
        free(p);
        return NULL;
}

static int set_role(struct creds_provider *p, const char *role)
{
        char *copy = strdup(role);

        if (!copy)
                return -ENOMEM;
        free(p->role);
        p->role = copy;
        snprintf(p->principal, sizeof p->principal, "role %s", role);
        return 0;
}

void creds_provider_seed(struct creds_provider *p, const char *role, struct aws_credentials *creds)
{
        p->from_environment = false;
        if (set_role(p, role) < 0) {
                aws_credentials_done(creds);
                return;
        }
        aws_credentials_done(&p->current);
        p->current = *creds;
        p->have_current = true;
        *creds = (struct aws_credentials){0};
}

const char *creds_provider_principal(const struct creds_provider *p)
{
        return p->principal;
}

int creds_from_environment(struct aws_credentials *ret)
{
        const char *id = getenv("AWS_ACCESS_KEY_ID"), *key = getenv("AWS_SECRET_ACCESS_KEY");
        const char *token = getenv("AWS_SESSION_TOKEN");
        struct aws_credentials c = {.source = "environment"};

        if (!id || !*id || !key || !*key)
                return 0;
        if (!token || !*token)
                token = getenv("AWS_SECURITY_TOKEN"); /* the legacy name, as botocore */
        c.access_key_id = strdup(id);
        c.secret_access_key = strdup(key);
        c.session_token = token && *token ? strdup(token) : NULL;
        if (!c.access_key_id || !c.secret_access_key || (token && *token && !c.session_token)) {
                aws_credentials_done(&c);
                return -ENOMEM;
        }
        (void)secret_mask_add(c.secret_access_key);
        (void)secret_mask_add(c.session_token);
        *ret = c;
        return 1;
}

/* fetch_role_credentials - a new IMDS client, the role name (unless known), its credentials */
static int fetch_role_credentials(struct creds_provider *p, char *why, size_t why_size)
{
        struct imds_client *c = imds_client_new(&p->imds_options);
        struct aws_credentials creds = {0};
        char *roles = NULL;
        int r;

        if (!c) {
                r = -errno;
                if (r != -ENOMEM)
                        (void)snprintf(why, why_size, "%s", http_global_error());
                return r;
        }
        if (!p->role) {
                r = imds_get(c, "meta-data/iam/security-credentials/", 4096, false, &roles, NULL);
                if (r < 0) {
                        snprintf(
                                why, why_size, "%s",
                                r == -ENOENT
                                        ? "no instance role is attached to this instance (and no AWS_ACCESS_KEY_ID in the environment)"
                                        : imds_error(c));
                        goto out;
                }
                roles[strcspn(roles, "\r\n")] = '\0';
                r = set_role(p, roles);
                if (r < 0)
                        goto out;
        }
        r = imds_get_role_credentials(c, p->role, &creds);
        if (r < 0) {
                snprintf(why, why_size, "%s", imds_error(c));
                goto out;
        }
        aws_credentials_done(&p->current);
        p->current = creds;
        p->have_current = true;
out:
        free(roles);
        imds_client_free(c);
        return r;
}

/* needs_refresh - expiring within the margin; but credentials fetched less than
 * CREDS_MIN_REFRESH_INTERVAL_SEC ago are used until they actually expire, so a metadata
 * service that hands out short-lived credentials is not asked on every request. */
static bool needs_refresh(const struct creds_provider *p, time_t now)
{
        time_t expiration = p->current.expiration;

        if (!expiration)
                return false;
        if (expiration <= now)
                return true;
        return expiration - CREDS_REFRESH_MARGIN_SEC <= now &&
               (p->fetched_at == 0 || now - p->fetched_at >= CREDS_MIN_REFRESH_INTERVAL_SEC);
}

int creds_provider_get(struct creds_provider *p, time_t now, bool force_refresh,
                       const struct aws_credentials **ret, char *why, size_t why_size)
{
        struct aws_credentials env;
        int r;

        /* The environment wins every time, as in the SDKs' chain, even over role
         * credentials seeded earlier. */
        r = creds_from_environment(&env);
        if (r < 0)
                return r;
        if (r > 0) {
                aws_credentials_done(&p->current);
                p->current = env;
                p->have_current = p->from_environment = true;
                snprintf(p->principal, sizeof p->principal, "environment credentials");
                *ret = &p->current;
                return 0;
        }
        if (p->from_environment) {
                /* The variables went away: forget what they held. */
                aws_credentials_done(&p->current);
                p->have_current = p->from_environment = false;
        }
        if (!p->have_current || force_refresh || needs_refresh(p, now)) {
                r = fetch_role_credentials(p, why, why_size);
                if (r < 0)
                        return r;
                p->fetched_at = now;
        }
        *ret = &p->current;
        return 0;
}
