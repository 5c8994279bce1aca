/* SPDX-License-Identifier: MIT */
/*
 * firstboot - `mailinit firstboot`: the orchestration of one first boot, and the one layer
 * of it that logs. Each step returns -errno with its own description; this file turns
 * the first failure into one log line and the SPEC's exit code.
 *
 * The steps (SPEC "What firstboot does"): read the sources (mailinit.conf, instance
 * metadata, tags, user-data); stop if status.json records success for this instance id;
 * fetch the SMTP credentials; write the configuration (all files staged, then renamed);
 * restart the units over D-Bus; send the confirmation mail; record the result. Progress goes
 * to systemd with sd_notify(STATUS=...), and the journal gets MESSAGE_IDs for started, done
 * and failed, so `journalctl MESSAGE_ID=...` finds every first boot.
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
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "backoff.h"
#include "confirm.h"
#include "creds.h"
#include "fetch_secret.h"
#include "fileio.h"
#include "log.h"
#include "parse.h"
#include "secret_mask.h"
#include "settings.h"
#include "sources.h"
#include "state.h"
#include "units.h"
#include "writers.h"

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
        opterr = 0; /* our message, in our format */
        while ((c = getopt_long(argc, argv, ":hv", long_options, NULL)) != -1) {
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
                case ':':
                        log_error("firstboot: option '%s' needs a value", argv[optind - 1]);
                        fprintf(stderr, "Try 'mailinit firstboot --help'.\n");
                        return EX_USAGE;
                default:
                        log_error("firstboot: unknown option '%s'", argv[optind - 1]);
                        fprintf(stderr, "Try 'mailinit firstboot --help'.\n");
                        return EX_USAGE;
                }
        }
        if (optind < argc) {
                log_error("firstboot: unexpected argument '%s'", argv[optind]);
                fprintf(stderr, "Try 'mailinit firstboot --help'.\n");
                return EX_USAGE;
        }
        if (o->root && o->root[0] != '/') {
                log_error("firstboot: --root needs an absolute path, not '%s'", o->root);
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

/* secret_exit_code - the SPEC's exit code for a failed fetch_secret() */
static int secret_exit_code(int error)
{
        switch (error) {
        case -EACCES:
                return EX_NOPERM;
        case -ENOENT:
        case -EINVAL:
                return EX_CONFIG;
        case -EAGAIN:
        case -ETIMEDOUT:
                return EX_TEMPFAIL;
        case -EBADMSG:
        case -EFBIG:
                return EX_DATAERR;
        case -ENOMEM:
                return EX_OSERR;
        default:
                return EX_UNAVAILABLE;
        }
}

/* uses_ses_api - the built-in relay delivers with the SES API: no SMTP credentials at all */
static bool uses_ses_api(const struct settings *st)
{
        return strcmp(settings_get(st, SETTING_MODE), "builtin") == 0 &&
               strcmp(settings_get(st, SETTING_RELAY_TRANSPORT), "ses-api") == 0;
}

/* print_dry_run - the header describing the sources, then every key with its origin */
static void print_dry_run(const struct sources *s, const struct fetched_secret *secret, FILE *out)
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

                        format_rfc3339_utc(s->role_credentials_expiration, expires, sizeof expires);
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
        if (uses_ses_api(s->settings)) {
                fprintf(out,
                        "# secret: not needed (relay_transport = ses-api: the relay signs SES API requests with the instance role)\n");
        } else if (secret) {
                fprintf(out, "# secret: %s%s%s\n", settings_get(s->settings, SETTING_SECRET_ID),
                        secret->version_id ? ", version " : "",
                        secret->version_id ? secret->version_id : "");
                fprintf(out, "# smtp_username: %s\n", secret->smtp.username);
                fprintf(out, "# smtp_password: %s%s\n", SECRET_MASK_TEXT,
                        secret->smtp.derived
                                ? " (derived for the region from the secret's IAM access key)"
                                : "");
        } else {
                fprintf(out, "# secret: not fetched (secret_id is not set)\n");
        }
        settings_print(s->settings, out);
}

/* write_exit_code - the exit code for a failed configuration write */
static int write_exit_code(int error)
{
        switch (error) {
        case -EACCES:
        case -EPERM:
        case -EROFS:
                return EX_CANTCREAT;
        case -ENOSPC:
        case -EDQUOT:
        case -EFBIG:
                return EX_TEMPFAIL;
        case -EINVAL:
                return EX_CONFIG;
        case -ENOMEM:
                return EX_OSERR;
        default:
                return EX_UNAVAILABLE;
        }
}

#define CONFIRM_VERDICT_WAIT_USEC (60ULL * 1000000ULL)

/* struct run - one first boot in progress: what the steps share */
struct run {
        struct firstboot_options o;
        struct sources s;
        struct fetched_secret secret;
        bool have_secret;
        struct creds_provider *provider;
        char *state_path;
        struct firstboot_state previous;
        bool have_previous;
        struct firstboot_state result;
};

static void progress(const char *status)
{
        (void)sd_notifyf(0, "STATUS=%s", status);
        log_debug("%s", status);
}

/* fail_run - log the failure once, with the journal's MESSAGE_ID, and remember it */
static int fail_run(struct run *run, int code, const char *message)
{
        const char *const fields[] = {"MESSAGE_ID=" MAILINIT_MESSAGE_ID_FAILED, NULL};

        log_struct(LOG_ERR, fields, "%s", message);
        free(run->result.error);
        run->result.error = strdup(message);
        run->result.ok = false;
        (void)sd_notifyf(0, "STATUS=Failed: %s", message);
        return code;
}

/* record_result - write status.json; a failure to record is logged, never hides the result */
static void record_result(struct run *run)
{
        char *dir;
        int r;

        if (!run->state_path)
                return;
        run->result.completed_at = time(NULL);
        dir = strdup(run->state_path);
        if (dir) {
                r = mkdir_parents(dir);
                if (r < 0)
                        log_warning_errno(r, "Cannot create the directory of %s: %m",
                                          run->state_path);
                free(dir);
        }
        r = state_write(run->state_path, &run->result);
        if (r < 0)
                log_error_errno(r, "Cannot record the result in %s: %m", run->state_path);
}

static bool lifecycle_is_warmed(const char *state)
{
        return state && strncmp(state, "Warmed:", 7) == 0;
}

/* wait_for_verdict - the built-in relay's delivery record of the confirmation:
 * spool_dir/done/ID ("result sent|bounced|partial", then "to ADDRESS STATUS REPLY" lines).
 * While queue/ID exists the relay is still trying: wait, bounded. When neither exists right
 * away, the local relay is not mailinit's (its spool is elsewhere): the verdict stays unknown.
 * Returns 1 sent, 0 unknown (still queued), -EREMOTEIO refused (reply in why). */
static int wait_for_verdict(struct run *run, const char *queue_id, char *why, size_t why_size)
{
        const char *spool = settings_get(run->s.settings, SETTING_SPOOL_DIR);
        char *done_rel = NULL, *queue_rel = NULL, *done = NULL, *queued = NULL, *text = NULL;
        uint64_t deadline = now_monotonic_usec() + CONFIRM_VERDICT_WAIT_USEC;
        int r = 0;

        if (asprintf(&done_rel, "%s/done/%s", spool, queue_id) < 0)
                done_rel = NULL;
        if (asprintf(&queue_rel, "%s/queue/%s", spool, queue_id) < 0)
                queue_rel = NULL;
        done = done_rel ? path_under_root(run->o.root, done_rel) : NULL;
        queued = queue_rel ? path_under_root(run->o.root, queue_rel) : NULL;
        if (!done || !queued)
                goto out;
        progress("Waiting for the relayhost's verdict on the confirmation mail");
        for (;;) {
                if (read_file_bounded(done, 64 * 1024, &text, NULL) >= 0)
                        break;
                if (access(queued, F_OK) < 0 || now_monotonic_usec() >= deadline)
                        goto out;
                sleep_ms(100);
        }
        if (strncmp(text, "result sent", 11) == 0) {
                r = 1;
        } else {
                const char *to = strstr(text, "\nto ");
                const char *reply = to ? strchr(to + 4, ' ') : NULL;

                reply = reply ? strchr(reply + 1, ' ') : NULL;
                (void)snprintf(why, why_size, "%.*s", reply ? (int)strcspn(reply + 1, "\n") : 0,
                               reply ? reply + 1 : "");
                r = -EREMOTEIO;
        }
out:
        free(text);
        free(done_rel);
        free(queue_rel);
        free(done);
        free(queued);
        return r;
}

/* send_confirmation - the mail of SPEC step 6; fills run->result's confirmation fields */
static int send_confirmation(struct run *run)
{
        const struct settings *st = run->s.settings;
        const struct instance_metadata *md = &run->s.md;
        const char *listen = settings_get(st, SETTING_LISTEN), *state = listen, *item;
        char address[128] = "127.0.0.1:25", subject[256], *body = NULL,
             message[CONFIRM_REPLY_MAX + 512];
        const char *from = settings_get(st, SETTING_NOTIFY_FROM);
        struct confirm_message m;
        struct confirm_result res;
        size_t len;
        int r;

        if ((item = list_next(&state, &len)) && len < sizeof address)
                (void)snprintf(address, sizeof address, "%.*s", (int)len, item);
        if (!*from || from[strlen(from) - 1] == '@')
                return fail_run(
                        run, EX_CONFIG,
                        "notify_from has no domain: set mydomain (or myorigin, or notify_from) to send the confirmation mail");
        (void)snprintf(subject, sizeof subject, "mailinit: %s ready", md->instance_id);
        if (asprintf(&body,
                     "mailinit configured this instance as a mail relay.\n\n"
                     "instance id: %s\nregion: %s\nhostname: %s\nmode: %s\nrelayhost: %s\n",
                     md->instance_id, settings_get(st, SETTING_REGION),
                     settings_get(st, SETTING_MYHOSTNAME), settings_get(st, SETTING_MODE),
                     settings_get(st, SETTING_RELAYHOST)) < 0)
                return fail_run(run, EX_OSERR, "Out of memory");
        m = (struct confirm_message){
                .helo = *settings_get(st, SETTING_MYHOSTNAME) ? settings_get(st, SETTING_MYHOSTNAME)
                                                              : "localhost",
                .from = from,
                .to = settings_get(st, SETTING_NOTIFY_TO),
                .subject = subject,
                .body = body,
                .message_id_domain = *settings_get(st, SETTING_MYHOSTNAME)
                                             ? settings_get(st, SETTING_MYHOSTNAME)
                                             : "localhost",
        };
        progress("Sending the confirmation mail");
        r = confirm_send(address, &m, 30000, &res);
        free(body);
        if (r < 0) {
                run->result.confirmation = CONFIRMATION_FAILED;
                if (r == -EAGAIN || r == -EREMOTEIO)
                        (void)snprintf(message, sizeof message,
                                       "The local relay at %s refused the confirmation mail: %s",
                                       address, res.reply);
                else
                        (void)snprintf(
                                message, sizeof message,
                                "Cannot send the confirmation mail to the local relay at %s: %s",
                                address, strerror(-r));
                return fail_run(run, r == -EAGAIN || r == -ETIMEDOUT ? EX_TEMPFAIL : EX_UNAVAILABLE,
                                message);
        }
        free(run->result.queue_id);
        run->result.queue_id = res.queue_id[0] ? strdup(res.queue_id) : NULL;
        run->result.confirmation = CONFIRMATION_QUEUED;
        log_info("Confirmation mail to %s queued by the local relay at %s%s%s", m.to, address,
                 res.queue_id[0] ? " as " : "", res.queue_id);
        if (strcmp(settings_get(st, SETTING_MODE), "builtin") == 0 && res.queue_id[0]) {
                char why[CONFIRM_REPLY_MAX] = "";

                r = wait_for_verdict(run, res.queue_id, why, sizeof why);
                if (r > 0) {
                        run->result.confirmation = CONFIRMATION_SENT;
                        log_info("The relayhost accepted the confirmation mail");
                } else if (r < 0) {
                        run->result.confirmation = CONFIRMATION_FAILED;
                        (void)snprintf(message, sizeof message,
                                       "The relayhost refused the confirmation mail: %s", why);
                        return fail_run(run, EX_UNAVAILABLE, message);
                } else {
                        log_info("No verdict on the confirmation mail yet: it stays queued");
                }
        }
        return EX_OK;
}

/* restart_units - SPEC step 5 */
static int restart_units(struct run *run)
{
        const char *list = settings_get(run->s.settings, SETTING_RESTART_UNITS), *state = list,
                   *item;
        char *units[16];
        size_t n = 0, len;
        struct units_error err = {0};
        char message[1024];
        int r;

        while ((item = list_next(&state, &len)) && n < 16) {
                units[n] = strndup(item, len);
                if (!units[n])
                        break;
                n++;
        }
        progress("Restarting the mail service");
        r = units_restart((const char *const *)units, n, 60 * 1000000ULL, &err);
        for (size_t i = 0; i < n; i++)
                free(units[i]);
        if (r >= 0)
                return EX_OK;
        if (err.result[0])
                (void)snprintf(message, sizeof message,
                               "Restarting %s failed: the job's result is '%s'", err.unit,
                               err.result);
        else if (r == -ETIME)
                (void)snprintf(message, sizeof message, "Restarting %s did not finish in time%s%s",
                               err.unit[0] ? err.unit : list, err.message[0] ? ": " : "",
                               err.message);
        else
                (void)snprintf(message, sizeof message,
                               "Cannot restart %s through systemd's D-Bus API: %s",
                               err.unit[0] ? err.unit : list,
                               err.message[0] ? err.message : strerror(-r));
        return fail_run(run, EX_UNAVAILABLE, message);
}

/* write_configuration - SPEC step 4 (or its dry-run print) */
static int write_configuration(struct run *run, FILE *dry_out)
{
        struct writer_context ctx = {
                .settings = run->s.settings,
                .creds = &run->secret.smtp,
                .root = run->o.root,
                .instance_id = run->s.md.instance_id,
                .dry_out = dry_out,
        };
        bool postfix = strcmp(settings_get(run->s.settings, SETTING_MODE), "postfix") == 0;
        char why[WRITER_ERROR_MAX] = "";
        int r;

        progress("Writing the configuration");
        r = postfix ? write_postfix(&ctx, why, sizeof why) : write_builtin(&ctx, why, sizeof why);
        if (r < 0)
                return fail_run(run, write_exit_code(r), why[0] ? why : strerror(-r));
        if (!dry_out)
                log_info("Wrote the %s configuration", postfix ? "Postfix" : "built-in relay");
        return EX_OK;
}

/* fetch_credentials - SPEC step 3 */
static int fetch_credentials(struct run *run)
{
        char why[FETCH_SECRET_ERROR_MAX];
        int r;

        if (uses_ses_api(run->s.settings)) {
                log_info(
                        "relay_transport = ses-api: no SMTP credentials to fetch, the relay signs SES API requests with %s",
                        run->s.have_role_credentials ? "the instance role's credentials"
                                                     : "the credential chain's credentials");
                if (!run->s.have_role_credentials && !getenv("AWS_ACCESS_KEY_ID"))
                        log_warning(
                                "No instance role is attached: the relay will have no credentials for the SES API until one is");
                return EX_OK;
        }
        if (!*settings_get(run->s.settings, SETTING_SECRET_ID))
                return fail_run(
                        run, EX_CONFIG,
                        "secret_id is not set: name the Secrets Manager secret holding the SES SMTP credentials (mailinit.conf, tag mailinit:secret_id or user-data)");
        run->provider = creds_provider_new(NULL);
        if (!run->provider)
                return fail_run(run, EX_OSERR, "Out of memory");
        if (run->s.have_role_credentials)
                creds_provider_seed(run->provider, run->s.md.role_name, &run->s.role_credentials);
        progress("Fetching the SMTP credentials from Secrets Manager");
        r = fetch_secret(run->s.settings, run->provider, &run->secret, why, sizeof why);
        if (r < 0)
                return fail_run(run, secret_exit_code(r), why);
        run->have_secret = true;
        log_info("Fetched SMTP credentials for user %s from secret '%s' (%s)",
                 run->secret.smtp.username, settings_get(run->s.settings, SETTING_SECRET_ID),
                 creds_provider_principal(run->provider));
        return EX_OK;
}

/* load_previous - status.json of an earlier run, if any; a broken one is ignored (logged) */
static void load_previous(struct run *run)
{
        char why[512];
        int r;

        run->state_path = NULL;
        {
                char *p;

                if (asprintf(&p, "%s/%s", settings_get(run->s.settings, SETTING_STATE_DIR),
                             STATE_FILE_NAME) < 0)
                        return;
                run->state_path = path_under_root(run->o.root, p);
                free(p);
        }
        if (!run->state_path)
                return;
        r = state_read(run->state_path, &run->previous, why, sizeof why);
        if (r >= 0)
                run->have_previous = true;
        else if (r != -ENOENT)
                log_warning("Ignoring the previous first-boot state: %s", why);
}

/* print_dry_run_plan - everything a run would do, printed only when all of it could be
 * worked out (no partial output on failure) */
static int print_dry_run_plan(struct run *run)
{
        const struct settings *st = run->s.settings;
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);
        int code;

        if (!out)
                return fail_run(run, EX_OSERR, "Out of memory");
        print_dry_run(&run->s, &run->secret, out);
        code = write_configuration(run, out);
        fprintf(out, "# would restart: %s\n",
                run->o.no_restart ? "nothing (--no-restart)"
                                  : settings_get(st, SETTING_RESTART_UNITS));
        fprintf(out, "# would send the confirmation mail to: %s\n",
                run->o.no_mail || !*settings_get(st, SETTING_NOTIFY_TO)
                        ? "nobody"
                        : settings_get(st, SETTING_NOTIFY_TO));
        if (fclose(out) != 0 && code == EX_OK)
                code = fail_run(run, EX_OSERR, "Out of memory");
        if (code == EX_OK && fwrite(text, 1, len, stdout) != len)
                code = fail_run(run, EX_IOERR, "Cannot write the output");
        secret_wipe(text, len);
        free(text);
        return code;
}

/* run_steps - everything after the sources were read; returns the exit code */
static int run_steps(struct run *run)
{
        const struct instance_metadata *md = &run->s.md;
        bool already = run->have_previous && run->previous.ok && md->instance_id &&
                       run->previous.instance_id &&
                       strcmp(run->previous.instance_id, md->instance_id) == 0;
        int code;

        if (already && !run->o.force && !run->o.dry_run) {
                bool confirm_now =
                        run->previous.confirmation == CONFIRMATION_PENDING && md->lifecycle_state &&
                        strcmp(md->lifecycle_state, "InService") == 0 && !run->o.no_mail &&
                        *settings_get(run->s.settings, SETTING_NOTIFY_TO);

                if (!confirm_now) {
                        char when[32];

                        format_rfc3339_utc(run->previous.completed_at, when, sizeof when);
                        log_info(
                                "Instance %s was already configured at %s; nothing to do (--force runs again)",
                                md->instance_id, when);
                        return -1; /* nothing to record */
                }
                /* A warm-pool instance configured earlier is now in service: confirm only. */
                if (run->previous.mode) {
                        free(run->result.mode);
                        run->result.mode = strdup(run->previous.mode);
                }
                run->result.ok = true;
                return send_confirmation(run);
        }

        if (run->o.dry_run && !*settings_get(run->s.settings, SETTING_SECRET_ID) &&
            !uses_ses_api(run->s.settings)) {
                print_dry_run(&run->s, NULL, stdout);
                printf("# would write nothing: without secret_id there are no SMTP credentials\n");
                return EX_OK;
        }
        code = fetch_credentials(run);
        if (code != EX_OK)
                return code;
        if (run->o.dry_run)
                return print_dry_run_plan(run);
        code = write_configuration(run, NULL);
        if (code != EX_OK)
                return code;
        if (!run->o.no_restart) {
                code = restart_units(run);
                if (code != EX_OK)
                        return code;
        }
        run->result.ok = true;
        if (run->o.no_mail || !*settings_get(run->s.settings, SETTING_NOTIFY_TO)) {
                run->result.confirmation = CONFIRMATION_SKIPPED;
        } else if (lifecycle_is_warmed(md->lifecycle_state)) {
                run->result.confirmation = CONFIRMATION_PENDING;
                log_info(
                        "Instance is in an Auto Scaling warm pool (%s): the confirmation mail waits until it is InService",
                        md->lifecycle_state);
        } else {
                code = send_confirmation(run);
        }
        return code;
}

int firstboot_main(int argc, char **argv)
{
        const char *const started[] = {"MESSAGE_ID=" MAILINIT_MESSAGE_ID_STARTED, NULL};
        const char *const done[] = {"MESSAGE_ID=" MAILINIT_MESSAGE_ID_DONE, NULL};
        struct run run = {0};
        int r, code;

        r = parse_options(argc, argv, &run.o);
        if (r > 0)
                return r == EX_OK + 256 ? EX_OK : r;

        /* From here on the process may hold credentials and the SMTP password. */
        r = secret_hygiene_enable();
        if (r < 0)
                log_warning_errno(r, "Cannot make the process non-dumpable: %m, ignoring");
        if (!run.o.dry_run)
                log_struct(LOG_INFO, started, "First boot configuration started");
        progress("Reading instance metadata and configuration");

        r = sources_load(&run.s, run.o.root, run.o.config);
        if (r < 0) {
                code = fail_run(&run, r == -ENOMEM ? EX_OSERR : sources_exit_code(&run.s),
                                r == -ENOMEM ? "Out of memory while reading the configuration"
                                             : run.s.message.message);
                /* Record the failure where state_dir says, even without an instance id (the
                 * metadata service may be what failed). */
                if (!run.o.dry_run && run.s.settings) {
                        load_previous(&run);
                        run.result.instance_id =
                                strdup(run.s.md.instance_id ? run.s.md.instance_id : "");
                        record_result(&run);
                }
                goto out;
        }
        if (strncmp(run.s.userdata_summary, "ignored", 7) == 0)
                log_info("user-data is not for mailinit and was ignored: %s",
                         run.s.userdata_summary + 8);
        if (run.s.metadata_disabled && !run.o.dry_run) {
                code = fail_run(
                        &run, EX_CONFIG,
                        "Instance metadata is disabled (AWS_EC2_METADATA_DISABLED): firstboot needs the instance id");
                goto out;
        }

        load_previous(&run);
        run.result.instance_id = run.s.md.instance_id ? strdup(run.s.md.instance_id) : NULL;
        run.result.mode = strdup(settings_get(run.s.settings, SETTING_MODE));
        code = run_steps(&run);
        if (code == -1) {
                code = EX_OK; /* already configured: status.json stays as it is */
                goto out;
        }
        if (run.o.dry_run) {
                if (fflush(stdout) != 0 && code == EX_OK)
                        code = EX_IOERR;
                goto out;
        }
        record_result(&run);
        if (code == EX_OK) {
                log_struct(
                        LOG_INFO, done,
                        "First boot configuration of instance %s done (mode %s, confirmation %s)",
                        run.s.md.instance_id, settings_get(run.s.settings, SETTING_MODE),
                        confirmation_status_name(run.result.confirmation));
                (void)sd_notify(0, "STATUS=Done");
        }
out:
        free(run.state_path);
        state_done(&run.previous);
        state_done(&run.result);
        fetched_secret_done(&run.secret);
        creds_provider_free(run.provider);
        sources_done(&run.s);
        return code;
}
