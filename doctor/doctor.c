/* SPDX-License-Identifier: MIT */
/*
 * doctor - `mailinit doctor`: runs the checks of the mail path in order (configuration,
 * instance metadata, role, secret, relayhost, DNS records of the sender domain, the local
 * relay, its service and its queue), then prints one line per check, or JSON.
 *
 * A check that cannot run because an earlier one failed is "skip" with the reason. Exit
 * status (sysexits): 0 when no check failed (warnings and skips allowed), 69 (unavailable)
 * when at least one failed, 78 when the configuration cannot be read (nothing else runs),
 * 64 for a usage error.
 * SECURITY: the secret is fetched as firstboot fetches it and only described (its form),
 * never printed; the process is made non-dumpable first.
 */
#include "doctor.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <jansson.h>

#include "config.h"
#include "fileio.h"
#include "log.h"
#include "parse.h"
#include "secret_mask.h"

#define RELAY_CONF "/etc/mailinit/relay.conf"

static const char *const check_names[CHECK_ID_MAX] = {
        [CHECK_CONFIG] = "config",
        [CHECK_IMDS] = "imds",
        [CHECK_IMDS_TOKEN] = "imds-token",
        [CHECK_IAM_ROLE] = "iam-role",
        [CHECK_SECRET] = "secret",
        [CHECK_RELAYHOST_DNS] = "relayhost-dns",
        [CHECK_RELAYHOST_PORT] = "relayhost-port",
        [CHECK_RELAYHOST_TLS] = "relayhost-tls",
        [CHECK_RELAYHOST_AUTH] = "relayhost-auth",
        [CHECK_SPF] = "spf",
        [CHECK_DMARC] = "dmarc",
        [CHECK_DKIM] = "dkim",
        [CHECK_LOCAL_SMTP] = "local-smtp",
        [CHECK_SERVICE] = "service",
        [CHECK_QUEUE] = "queue",
};

static const char *const result_names[CHECK_RESULT_MAX] = {
        [CHECK_OK] = "ok",
        [CHECK_WARN] = "warn",
        [CHECK_FAIL] = "fail",
        [CHECK_SKIP] = "skip",
};

const char *check_name(enum check_id id)
{
        return id < CHECK_ID_MAX ? check_names[id] : "?";
}

const char *check_result_name(enum check_result result)
{
        return result < CHECK_RESULT_MAX ? result_names[result] : "?";
}

/* one_line - control characters (servers' texts, DNS data) become spaces, other bytes
 * outside ASCII '?': one terminal line, and valid UTF-8 for --json */
static void one_line(char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < ' ' || *s == 0x7f)
                        *s = ' ';
                else if ((unsigned char)*s > 0x7f)
                        *s = '?';
}

void check_set(struct doctor *d, enum check_id id, enum check_result result, const char *format,
               ...)
{
        struct check *c = &d->checks[id];
        va_list ap;

        c->result = result;
        va_start(ap, format);
        (void)vsnprintf(c->reason, sizeof c->reason, format, ap);
        va_end(ap);
        one_line(c->reason);
        c->fix[0] = '\0';
}

void check_fix(struct doctor *d, enum check_id id, const char *format, ...)
{
        struct check *c = &d->checks[id];
        va_list ap;

        va_start(ap, format);
        (void)vsnprintf(c->fix, sizeof c->fix, format, ap);
        va_end(ap);
        one_line(c->fix);
}

struct imds_options doctor_imds_options(const struct doctor *d)
{
        return (struct imds_options){
                .allow_v1 = d->s.allow_imds_v1,
                .deadline_ms = DOCTOR_IMDS_DEADLINE_MS,
        };
}

static void usage(FILE *out)
{
        fprintf(out,
                "Usage: mailinit doctor [--root DIR] [--config FILE] [--json]\n"
                "                       [--dkim-selector SEL]... [--mail-from-domain DOMAIN]\n"
                "                       [--probe-port PORT]\n"
                "Check this instance's mail path end to end and say what is wrong and how to\n"
                "fix it: configuration, instance metadata (IMDSv2 token, hop limit), the\n"
                "instance role, the secret (never shown), the relayhost (name, port, STARTTLS\n"
                "and certificate, AUTH without sending mail), the SPF, DKIM and DMARC records\n"
                "of the sender domain, the local relay on the first 'listen' address, its\n"
                "systemd service and its queue.\n\n"
                "  --root DIR              read every path under DIR (also MAILINIT_ROOT)\n"
                "  --config FILE           read FILE instead of /etc/mailinit/mailinit.conf\n"
                "  --json                  print {\"checks\": [{\"check\", \"result\", \"reason\",\n"
                "                          \"fix\"}...], \"summary\": {...}}\n"
                "  --dkim-selector SEL     an Easy DKIM selector of the SES identity (repeat for\n"
                "                          each of the three): SEL._domainkey.DOMAIN must be a\n"
                "                          CNAME of SEL.dkim.amazonses.com\n"
                "  --mail-from-domain DOM  the identity's custom MAIL FROM domain: its SPF\n"
                "                          record is checked instead of the sender domain's\n"
                "  --probe-port PORT       port tried on the relayhost when its own port does\n"
                "                          not answer (default 587): names EC2's port 25 limit\n"
                "  -v, --verbose           log debug messages\n\n"
                "Results: ok, warn, fail, skip (not run: an earlier check failed or it does\n"
                "not apply). Exit status: 0 no check failed (warnings allowed), 69 a check\n"
                "failed, 78 the configuration cannot be read, 64 usage.\n"
                "Environment: MAILINIT_DNS_SERVER=IP[:PORT] asks that name server instead of\n"
                "those of /etc/resolv.conf (tests, diagnosis).\n");
}

/* parse_options - 0, or an exit code (+256 for "exit 0 now") */
static int parse_options(int argc, char **argv, struct doctor_options *o)
{
        enum {
                OPT_ROOT = 256,
                OPT_CONFIG,
                OPT_JSON,
                OPT_SELECTOR,
                OPT_MAIL_FROM,
                OPT_PROBE
        };
        static const struct option long_options[] = {
                {"root", required_argument, NULL, OPT_ROOT},
                {"config", required_argument, NULL, OPT_CONFIG},
                {"json", no_argument, NULL, OPT_JSON},
                {"dkim-selector", required_argument, NULL, OPT_SELECTOR},
                {"mail-from-domain", required_argument, NULL, OPT_MAIL_FROM},
                {"probe-port", required_argument, NULL, OPT_PROBE},
                {"verbose", no_argument, NULL, 'v'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        uint64_t port;
        int c;

        o->root = getenv("MAILINIT_ROOT");
        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":hv", long_options, NULL)) != -1) {
                switch (c) {
                case OPT_ROOT:
                        o->root = optarg;
                        break;
                case OPT_CONFIG:
                        o->config = optarg;
                        break;
                case OPT_JSON:
                        o->json = true;
                        break;
                case OPT_SELECTOR:
                        if (o->n_dkim_selectors >= DOCTOR_SELECTORS_MAX) {
                                log_error("doctor: at most %d --dkim-selector options",
                                          DOCTOR_SELECTORS_MAX);
                                return EX_USAGE;
                        }
                        if (!*optarg || strchr(optarg, '.') || strlen(optarg) > 63) {
                                log_error("doctor: '%s' is not a DKIM selector (one DNS label)",
                                          optarg);
                                return EX_USAGE;
                        }
                        o->dkim_selectors[o->n_dkim_selectors++] = optarg;
                        break;
                case OPT_MAIL_FROM:
                        o->mail_from_domain = optarg;
                        break;
                case OPT_PROBE:
                        if (parse_uint64(optarg, &port) < 0 || port == 0 || port > 65535) {
                                log_error("doctor: --probe-port needs a port number, not '%s'",
                                          optarg);
                                return EX_USAGE;
                        }
                        o->probe_port = (unsigned)port;
                        break;
                case 'v':
                        log_set_max_level(LOG_DEBUG);
                        break;
                case 'h':
                        usage(stdout);
                        return EX_OK + 256;
                case ':':
                        log_error("doctor: option '%s' needs a value", argv[optind - 1]);
                        fprintf(stderr, "Try 'mailinit doctor --help'.\n");
                        return EX_USAGE;
                default:
                        log_error("doctor: unknown option '%s'", argv[optind - 1]);
                        fprintf(stderr, "Try 'mailinit doctor --help'.\n");
                        return EX_USAGE;
                }
        }
        if (optind < argc) {
                log_error("doctor: unexpected argument '%s'", argv[optind]);
                fprintf(stderr, "Try 'mailinit doctor --help'.\n");
                return EX_USAGE;
        }
        if (o->root && o->root[0] != '/') {
                log_error("doctor: --root needs an absolute path, not '%s'", o->root);
                return EX_USAGE;
        }
        return 0;
}

/* skip_unset - every check not yet set is skipped for reason */
static void skip_unset(struct doctor *d, const char *reason)
{
        for (int i = 0; i < CHECK_ID_MAX; i++)
                if (d->checks[i].result == CHECK_RESULT_MAX)
                        check_set(d, (enum check_id)i, CHECK_SKIP, "%s", reason);
}

/* check_config_result - the config check after the merge, and the relay_transport switch */
static void check_config_result(struct doctor *d)
{
        const struct settings *st = d->s.settings;
        enum setting_key transport = settings_key_from_name("relay_transport");

        /* relay_transport is not a key of this build; read it by name so that a build that
         * knows it (ses-api: the relay calls SES's API instead of SMTP) is handled here. */
        if (transport != SETTING_INVALID && strcmp(settings_get(st, transport), "ses-api") == 0)
                d->relay_over_api = true;
        check_set(d, CHECK_CONFIG, CHECK_OK, "mode %s, relayhost %s, region %s%s%s",
                  settings_get(st, SETTING_MODE), settings_get(st, SETTING_RELAYHOST),
                  *settings_get(st, SETTING_REGION) ? settings_get(st, SETTING_REGION)
                                                    : "(unknown)",
                  d->relay_over_api ? ", relay_transport ses-api" : "",
                  d->used_relay_conf ? " (with " RELAY_CONF ": no instance metadata)" : "");
}

/* apply_relay_conf - without metadata, user-data and tags are unknown: take the values
 * firstboot resolved for the built-in relay from relay.conf (when it exists), as the relay
 * does. Returns 0 (also when there is none) or -errno with d->s.message set. */
static int apply_relay_conf(struct doctor *d)
{
        struct config_file *f = NULL;
        char *io = path_under_root(d->o.root, RELAY_CONF);
        int r;

        if (!io)
                return -ENOMEM;
        r = config_read_file(io, RELAY_CONF, &f, &d->s.message);
        free(io);
        if (r == -ENOENT)
                return 0;
        if (r >= 0)
                r = settings_apply_file(d->s.settings, f, &d->s.message);
        config_file_free(f);
        if (r >= 0)
                d->used_relay_conf = true;
        else
                d->s.failure = SOURCES_CONFIG;
        return r;
}

/* config_failed - the configuration cannot be used: say where, skip the rest */
static void config_failed(struct doctor *d)
{
        check_set(d, CHECK_CONFIG, CHECK_FAIL, "%s",
                  d->s.message.message[0] ? d->s.message.message : "cannot read the configuration");
        if (d->s.failure == SOURCES_USERDATA)
                check_fix(
                        d, CHECK_CONFIG,
                        "correct the instance's user-data (a JSON object with a \"mailinit\" object, or a MIME part holding one)");
        else
                check_fix(
                        d, CHECK_CONFIG,
                        "correct the key named above; 'mailinit firstboot --dry-run' shows where each value comes from");
}

static void run_checks(struct doctor *d)
{
        struct instance_metadata md = {0};
        int r;

        for (int i = 0; i < CHECK_ID_MAX; i++)
                d->checks[i].result = CHECK_RESULT_MAX; /* not set yet */

        r = sources_load_file(&d->s, d->o.root, d->o.config);
        if (r < 0) {
                config_failed(d);
                skip_unset(d, "the configuration cannot be read");
                return;
        }
        check_imds(d, &md);
        r = d->imds_ok ? 0 : apply_relay_conf(d);
        if (r >= 0)
                r = sources_finish(&d->s, d->imds_ok ? &md : NULL);
        instance_metadata_done(&md);
        if (r < 0) {
                config_failed(d);
                skip_unset(d, "the configuration cannot be read");
                return;
        }
        d->config_ok = true;
        check_config_result(d);
        check_iam_role(d);
        check_secret(d);
        check_relayhost(d);
        check_dns_records(d);
        check_local_smtp(d);
        check_service(d);
        check_queue(d);
        skip_unset(d, "not checked");
}

static void print_human(const struct doctor *d, FILE *out)
{
        unsigned counts[CHECK_RESULT_MAX] = {0};

        for (int i = 0; i < CHECK_ID_MAX; i++) {
                const struct check *c = &d->checks[i];

                counts[c->result]++;
                fprintf(out, "%-4s  %-14s  %s\n", check_result_name(c->result),
                        check_name((enum check_id)i), c->reason);
                if ((c->result == CHECK_WARN || c->result == CHECK_FAIL) && c->fix[0])
                        fprintf(out, "      fix: %s\n", c->fix);
        }
        fprintf(out, "%u ok, %u warn, %u fail, %u skip\n", counts[CHECK_OK], counts[CHECK_WARN],
                counts[CHECK_FAIL], counts[CHECK_SKIP]);
}

static int print_json(const struct doctor *d, FILE *out)
{
        unsigned counts[CHECK_RESULT_MAX] = {0};
        json_t *root = json_object(), *checks = json_array(), *summary;
        char *text;
        int r = 0;

        if (!root || !checks) {
                json_decref(root);
                json_decref(checks);
                return -ENOMEM;
        }
        for (int i = 0; i < CHECK_ID_MAX; i++) {
                const struct check *c = &d->checks[i];
                json_t *j;

                counts[c->result]++;
                j = json_pack("{s:s, s:s, s:s, s:s?}", "check", check_name((enum check_id)i),
                              "result", check_result_name(c->result), "reason", c->reason, "fix",
                              c->fix[0] && (c->result == CHECK_WARN || c->result == CHECK_FAIL)
                                      ? c->fix
                                      : NULL);
                if (!j || json_array_append_new(checks, j) < 0)
                        r = -ENOMEM;
        }
        summary = json_pack("{s:I, s:I, s:I, s:I, s:s}", "ok", (json_int_t)counts[CHECK_OK], "warn",
                            (json_int_t)counts[CHECK_WARN], "fail", (json_int_t)counts[CHECK_FAIL],
                            "skip", (json_int_t)counts[CHECK_SKIP], "result",
                            counts[CHECK_FAIL]   ? "fail"
                            : counts[CHECK_WARN] ? "warn"
                                                 : "ok");
        if (json_object_set_new(root, "checks", checks) < 0 || !summary ||
            json_object_set_new(root, "summary", summary) < 0)
                r = -ENOMEM;
        text = r < 0 ? NULL : json_dumps(root, JSON_INDENT(2));
        json_decref(root);
        if (!text)
                return -ENOMEM;
        fprintf(out, "%s\n", text);
        free(text);
        return 0;
}

int doctor_main(int argc, char **argv)
{
        struct doctor d = {0};
        bool failed = false;
        int r, code;

        r = parse_options(argc, argv, &d.o);
        if (r > 0)
                return r == EX_OK + 256 ? EX_OK : r;
        r = secret_hygiene_enable();
        if (r < 0)
                log_warning_errno(r, "Cannot make the process non-dumpable: %m, ignoring");

        run_checks(&d);
        r = 0;
        for (int i = 0; i < CHECK_ID_MAX; i++)
                if (d.checks[i].result == CHECK_FAIL)
                        failed = true;
        if (d.o.json) {
                r = print_json(&d, stdout);
                if (r < 0)
                        log_error_errno(r, "Cannot print the report: %m");
        } else {
                print_human(&d, stdout);
        }
        if (fflush(stdout) != 0)
                r = -EIO;
        code = !d.config_ok ? EX_CONFIG : failed ? EX_UNAVAILABLE : EX_OK;
        if (r < 0 && code == EX_OK)
                code = EX_OSERR;

        fetched_secret_done(&d.secret);
        aws_credentials_done(&d.role_credentials);
        imds_client_free(d.imds);
        sources_done(&d.s);
        return code;
}
