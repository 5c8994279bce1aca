/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "aws_credentials.h"
#include "fetch_secret.h"
#include "imds.h"
#include "sources.h"

/* `mailinit doctor`: checks of an instance's mail path, end to end. Each check is one function
 * that fills a struct check from what earlier checks found (struct doctor); checks never
 * print, and none of them shows a secret. doctor.c runs them in order and prints them. */

#define DOCTOR_REASON_MAX       640
#define DOCTOR_FIX_MAX          640
#define DOCTOR_SELECTORS_MAX    16
#define DOCTOR_CONNECT_MS       5000ULL /* TCP connect to the relayhost, per address */
#define DOCTOR_COMMAND_MS       15000ULL
#define DOCTOR_IMDS_DEADLINE_MS 20000ULL
#define DOCTOR_QUEUE_STUCK_SEC  3600 /* a message older than this: the queue is stuck */

/* doctor_main - `mailinit doctor`; argv[0] is "doctor". Returns 0 when no check failed, 69
 * when one did, 78 when the configuration cannot be read, 64 for usage errors. */
int doctor_main(int argc, char **argv);

enum check_result {
        CHECK_OK,
        CHECK_WARN,
        CHECK_FAIL,
        CHECK_SKIP, /* not run: an earlier check failed, or it does not apply */
        CHECK_RESULT_MAX,
};

/* The checks, in the order they are shown. */
enum check_id {
        CHECK_CONFIG,
        CHECK_IMDS,
        CHECK_IMDS_TOKEN,
        CHECK_IAM_ROLE,
        CHECK_SECRET,
        CHECK_RELAYHOST_DNS,
        CHECK_RELAYHOST_PORT,
        CHECK_RELAYHOST_TLS,
        CHECK_RELAYHOST_AUTH,
        CHECK_SPF,
        CHECK_DMARC,
        CHECK_DKIM,
        CHECK_LOCAL_SMTP,
        CHECK_SERVICE,
        CHECK_QUEUE,
        CHECK_ID_MAX,
};

struct check {
        enum check_result result;
        char reason[DOCTOR_REASON_MAX]; /* one line, plain words */
        char fix[DOCTOR_FIX_MAX];       /* what to do; empty for ok and skip */
};

struct doctor_options {
        const char *root;
        const char *config;
        bool json;
        const char *dkim_selectors[DOCTOR_SELECTORS_MAX];
        size_t n_dkim_selectors;
        const char *mail_from_domain; /* SES custom MAIL FROM domain, when one is set up */
        unsigned probe_port;          /* tried when the relayhost's port times out; 0: 587 */
};

/* What the checks found, for the checks after them. */
struct doctor {
        struct doctor_options o;
        struct check checks[CHECK_ID_MAX];
        struct sources s;
        bool config_ok;           /* settings are final (s.settings usable) */
        bool used_relay_conf;     /* no metadata: relay.conf's resolved values were applied */
        struct imds_client *imds; /* NULL when metadata is disabled or unreachable */
        bool imds_ok;             /* instance metadata read (s.md after sources_finish) */
        bool have_aws_creds;      /* environment or role credentials */
        struct aws_credentials role_credentials;
        char principal[160];  /* "role NAME" or "environment credentials" */
        bool have_smtp_creds; /* from the secret, else from credentials_file */
        bool creds_from_file; /* ... from credentials_file (the built-in relay's copy) */
        struct fetched_secret secret;
        bool relay_over_api; /* relay_transport = ses-api: no SMTP towards SES */
        bool relayhost_reachable;
};

/* check_set - set the result and the reason (printf format) of check id; clears its fix.
 * Control characters and non-ASCII bytes of the text become ' ' and '?'. */
void check_set(struct doctor *d, enum check_id id, enum check_result result, const char *format,
               ...) __attribute__((format(printf, 4, 5)));

/* check_fix - set the fix of the check id */
void check_fix(struct doctor *d, enum check_id id, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

const char *check_name(enum check_id id);
const char *check_result_name(enum check_result result);

/* The checks (checks_*.c). Each fills d->checks[its id] (and, for a few, the ids that depend
 * on it), reading what earlier ones left in d. */
void check_imds(struct doctor *d, struct instance_metadata *ret_md);
void check_iam_role(struct doctor *d);
void check_secret(struct doctor *d);
void check_relayhost(struct doctor *d);   /* dns, port, tls, auth */
void check_dns_records(struct doctor *d); /* spf, dmarc, dkim */
void check_local_smtp(struct doctor *d);
void check_service(struct doctor *d);
void check_queue(struct doctor *d);

/* doctor_imds_options - the IMDS client options doctor uses (short deadline). */
struct imds_options doctor_imds_options(const struct doctor *d);
