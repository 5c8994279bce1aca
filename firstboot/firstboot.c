/* SPDX-License-Identifier: MIT */
/*
 * firstboot - `mailinit firstboot`: the orchestration of one first boot, and the one layer
 * of it that logs. Each step returns -errno with its own description; this file turns
 * the first failure into one log line and the SPEC's exit code.
 *
 * Implemented so far: reading the sources (mailinit.conf, instance metadata, tags,
 * user-data) and --dry-run, which prints the merged configuration with the origin of
 * every value, secrets masked, and changes nothing.
 */
#include "firstboot.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "log.h"
#include "settings.h"
#include "sources.h"

struct firstboot_options {
        const char *root;
        const char *config;
        bool force;
        bool dry_run;
        bool no_restart;
        bool no_mail;
};

static void usage(FILE *out)
{
        fprintf(out,
                "Usage: mailinit firstboot [--root DIR] [--config FILE] [--force] [--dry-run]\n"
                "                          [--no-restart] [--no-mail]\n"
                "Configure this instance's mail relay from instance metadata, user-data and\n"
                "/etc/mailinit/mailinit.conf, once per instance.\n\n"
                "  --root DIR      read and write every path under DIR (also MAILINIT_ROOT)\n"
                "  --config FILE   read FILE instead of /etc/mailinit/mailinit.conf\n"
                "  --force         run again although this instance is already configured\n"
                "  --dry-run       print the merged configuration and what would be done;\n"
                "                  change nothing\n"
                "  --no-restart    do not restart the mail service\n"
                "  --no-mail       do not send the confirmation mail\n"
                "  -v, --verbose   log debug messages\n");
}

/* parse_options - 0, or an exit code (> 0) to return at once */
static int parse_options(int argc, char **argv, struct firstboot_options *o)
{
        enum {
                OPT_ROOT = 256,
                OPT_CONFIG,
                OPT_FORCE,
                OPT_DRY_RUN,
                OPT_NO_RESTART,
                OPT_NO_MAIL
        };
        static const struct option long_options[] = {
                {"root", required_argument, NULL, OPT_ROOT},
                {"config", required_argument, NULL, OPT_CONFIG},
                {"force", no_argument, NULL, OPT_FORCE},
                {"dry-run", no_argument, NULL, OPT_DRY_RUN},
                {"no-restart", no_argument, NULL, OPT_NO_RESTART},
                {"no-mail", no_argument, NULL, OPT_NO_MAIL},
                {"verbose", no_argument, NULL, 'v'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        int c;

        o->root = getenv("MAILINIT_ROOT");
        optind = 1;
        while ((c = getopt_long(argc, argv, "hv", long_options, NULL)) != -1) {
                switch (c) {
                case OPT_ROOT:
                        o->root = optarg;
                        break;
                case OPT_CONFIG:
                        o->config = optarg;
                        break;
                case OPT_FORCE:
                        o->force = true;
                        break;
                case OPT_DRY_RUN:
                        o->dry_run = true;
                        break;
                case OPT_NO_RESTART:
                        o->no_restart = true;
                        break;
                case OPT_NO_MAIL:
                        o->no_mail = true;
                        break;
                case 'v':
                        log_set_max_level(LOG_DEBUG);
                        break;
                case 'h':
                        usage(stdout);
                        return EX_OK + 256; /* "exit 0 now" */
                default:
                        usage(stderr);
                        return EX_USAGE;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "mailinit firstboot: unexpected argument '%s'\n", argv[optind]);
                usage(stderr);
                return EX_USAGE;
        }
        if (o->root && o->root[0] != '/') {
                fprintf(stderr, "mailinit firstboot: --root needs an absolute path\n");
                return EX_USAGE;
        }
        return 0;
}

/* metadata_exit_code - the SPEC's exit code for a failed metadata phase */
static int metadata_exit_code(int error)
{
        switch (error) {
        case -ETIMEDOUT:
                return EX_TEMPFAIL;
        case -ENOMEM:
                return EX_OSERR;
        default:
                return EX_UNAVAILABLE;
        }
}

static int sources_exit_code(const struct sources *s)
{
        switch (s->failure) {
        case SOURCES_CONFIG:
                return EX_CONFIG;
        case SOURCES_USERDATA:
                return EX_DATAERR;
        case SOURCES_METADATA:
                return metadata_exit_code(s->error);
        case SOURCES_OK:
                break;
        }
        return s->error == -ENOMEM ? EX_OSERR : EX_SOFTWARE;
}

static void format_utc(time_t t, char *out, size_t size)
{
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(out, size, "?");
}

/* print_dry_run - the header describing the sources, then every key with its origin */
static void print_dry_run(const struct sources *s, FILE *out)
{
        const struct instance_metadata *md = &s->md;

        fprintf(out, "# mailinit firstboot --dry-run: nothing is written, nothing is restarted\n");
        if (s->metadata_disabled) {
                fprintf(out, "# instance metadata: disabled by AWS_EC2_METADATA_DISABLED\n");
        } else {
                fprintf(out, "# instance-id: %s\n", md->instance_id);
                fprintf(out, "# region: %s\n", md->region);
                fprintf(out, "# local-hostname: %s\n", md->local_hostname);
                if (s->have_role_credentials) {
                        char expires[32];

                        format_utc(s->role_credentials.expiration, expires, sizeof expires);
                        fprintf(out, "# iam-role: %s (credentials expire %s)\n", md->role_name,
                                expires);
                } else {
                        fprintf(out, "# iam-role: none\n");
                }
                if (md->tags_exposed)
                        fprintf(out, "# tags: %zu mailinit:* tag%s\n", md->n_tags,
                                md->n_tags == 1 ? "" : "s");
                else
                        fprintf(out, "# tags: not exposed in instance metadata\n");
                if (md->lifecycle_state)
                        fprintf(out, "# autoscaling lifecycle state: %s\n", md->lifecycle_state);
                fprintf(out, "# user-data: %s\n", s->userdata_summary);
        }
        settings_print(s->settings, out);
}

int firstboot_main(int argc, char **argv)
{
        struct firstboot_options o = {0};
        struct sources s;
        int r;

        r = parse_options(argc, argv, &o);
        if (r > 0)
                return r == EX_OK + 256 ? EX_OK : r;

        r = sources_load(&s, o.root, o.config);
        if (r < 0) {
                int code = sources_exit_code(&s);

                if (r == -ENOMEM)
                        log_error_errno(r, "Out of memory while reading the configuration");
                else
                        log_error("%s", s.message.message);
                sources_done(&s);
                return code;
        }
        if (strncmp(s.userdata_summary, "ignored", 7) == 0)
                log_info("user-data is not for mailinit and was ignored: %s",
                         s.userdata_summary + 8);

        if (o.dry_run) {
                print_dry_run(&s, stdout);
                sources_done(&s);
                return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
        }
        sources_done(&s);
        fprintf(stderr,
                "mailinit: firstboot without --dry-run is not available in this version yet "
                "(fetching the secret, writing the configuration and restarting land next).\n");
        return EX_USAGE;
}
