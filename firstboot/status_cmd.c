/* SPDX-License-Identifier: MIT */
/*
 * status_cmd - `mailinit status` and `mailinit clean`: reading and forgetting the
 * per-instance state without contacting AWS. Both read mailinit.conf (under --root) only for
 * state_dir.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "fileio.h"
#include "firstboot.h"
#include "log.h"
#include "settings.h"
#include "state.h"

#define MAILINIT_CONF "/etc/mailinit/mailinit.conf"

struct local_options {
        const char *root;
        bool json;
};

/* parse_local_options - --root, --json (when allowed), --help; 0 or an exit code + 256 */
static int parse_local_options(int argc, char **argv, bool allow_json, const char *usage,
                               struct local_options *o)
{
        static const struct option long_options[] = {
                {"root", required_argument, NULL, 'r'},
                {"json", no_argument, NULL, 'j'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        int c;

        o->root = getenv("MAILINIT_ROOT");
        optind = 1;
        while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
                switch (c) {
                case 'r':
                        o->root = optarg;
                        break;
                case 'j':
                        if (!allow_json)
                                goto usage;
                        o->json = true;
                        break;
                case 'h':
                        printf("Usage: %s\n", usage);
                        return 256 + EX_OK;
                default:
                        goto usage;
                }
        }
        if (optind == argc)
                return 0;
usage:
        fprintf(stderr, "Usage: %s\n", usage);
        return 256 + EX_USAGE;
}

/* state_file_path - state_dir/status.json under root, from mailinit.conf (or the default);
 * also spool_dir under root when ret_spool is not NULL */
static int state_file_path(const char *root, char **ret, char **ret_spool)
{
        struct settings *s = settings_new();
        struct config_file *f = NULL;
        struct config_error err;
        char *conf_io, *p;
        int r;

        conf_io = path_under_root(root, MAILINIT_CONF);
        if (!s || !conf_io) {
                settings_free(s);
                free(conf_io);
                return -ENOMEM;
        }
        settings_allow_missing_region(s);
        r = config_read_file(conf_io, MAILINIT_CONF, &f, &err);
        free(conf_io);
        if (r >= 0)
                r = settings_apply_file(s, f, &err);
        if (r == -ENOENT && !f)
                r = 0;
        if (r >= 0)
                r = settings_finalize(s, &err);
        config_file_free(f);
        if (r < 0) {
                log_error("%s", err.message);
                settings_free(s);
                return -EINVAL;
        }
        if (asprintf(&p, "%s/%s", settings_get(s, SETTING_STATE_DIR), STATE_FILE_NAME) < 0) {
                settings_free(s);
                return -ENOMEM;
        }
        if (ret_spool)
                *ret_spool = path_under_root(root, settings_get(s, SETTING_SPOOL_DIR));
        settings_free(s);
        *ret = path_under_root(root, p);
        free(p);
        return *ret ? 0 : -ENOMEM;
}

/* count_queue - messages in the built-in relay's spool (queue/), and how many have a delivery
 * state (tried before: deferred). -ENOENT when there is no spool (Postfix mode). */
static int count_queue(const char *spool, size_t *ret_queued, size_t *ret_deferred)
{
        char *dir = NULL;
        DIR *dp;
        struct dirent *de;

        if (!spool || asprintf(&dir, "%s/queue", spool) < 0)
                return -ENOMEM;
        dp = opendir(dir);
        free(dir);
        if (!dp)
                return -errno;
        while ((de = readdir(dp))) {
                char *state;

                if (de->d_name[0] == '.')
                        continue;
                (*ret_queued)++;
                if (asprintf(&state, "%s/state/%s", spool, de->d_name) >= 0) {
                        if (access(state, F_OK) == 0)
                                (*ret_deferred)++;
                        free(state);
                }
        }
        closedir(dp);
        return 0;
}

int status_main(int argc, char **argv)
{
        struct local_options o = {0};
        struct firstboot_state st;
        char *path = NULL, *spool = NULL, why[512], when[32];
        size_t n_queued = 0, n_deferred = 0;
        bool have_queue;
        int r;

        r = parse_local_options(argc, argv, true, "mailinit status [--root DIR] [--json]", &o);
        if (r > 0)
                return r - 256;
        r = state_file_path(o.root, &path, &spool);
        if (r < 0)
                return r == -ENOMEM ? EX_OSERR : EX_CONFIG;
        have_queue = count_queue(spool, &n_queued, &n_deferred) >= 0;
        r = state_read(path, &st, why, sizeof why);
        if (r == -ENOENT) {
                if (o.json)
                        printf("{\"result\": null, \"state_file\": \"%s\"}\n", path);
                else
                        printf("No first boot recorded (%s does not exist).\n", path);
                free(path);
                free(spool);
                return 3;
        }
        if (r < 0) {
                log_error("%s", why);
                free(path);
                free(spool);
                return EX_DATAERR;
        }
        if (o.json) {
                char *text = state_to_json_text(&st), *out = NULL;
                json_t *doc = text ? json_loads(text, 0, NULL) : NULL;

                if (doc && have_queue)
                        (void)json_object_set_new(doc, "relay_queue",
                                                  json_pack("{s:I, s:I}", "messages",
                                                            (json_int_t)n_queued, "deferred",
                                                            (json_int_t)n_deferred));
                out = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
                if (out)
                        printf("%s\n", out);
                free(out);
                json_decref(doc);
                free(text);
        } else {
                format_rfc3339_utc(st.completed_at, when, sizeof when);
                printf("instance:     %s\n", st.instance_id);
                printf("mode:         %s\n", st.mode ? st.mode : "-");
                printf("result:       %s at %s\n", st.ok ? "ok" : "failed", when);
                if (!st.ok)
                        printf("error:        %s\n", st.error ? st.error : "(not recorded)");
                printf("confirmation: %s%s%s\n", confirmation_status_name(st.confirmation),
                       st.queue_id ? ", queue id " : "", st.queue_id ? st.queue_id : "");
                if (have_queue)
                        printf("relay queue:  %zu message(s), %zu deferred (mailinit queue lists them)\n",
                               n_queued, n_deferred);
                printf("state file:   %s\n", path);
        }
        r = st.ok ? EX_OK : 1;
        state_done(&st);
        free(path);
        free(spool);
        return r;
}

int clean_main(int argc, char **argv)
{
        struct local_options o = {0};
        char *path = NULL;
        int r;

        r = parse_local_options(argc, argv, false, "mailinit clean [--root DIR]", &o);
        if (r > 0)
                return r - 256;
        r = state_file_path(o.root, &path, NULL);
        if (r < 0)
                return r == -ENOMEM ? EX_OSERR : EX_CONFIG;
        if (unlink(path) < 0) {
                r = errno;
                if (r == ENOENT) {
                        printf("Nothing to clean: %s does not exist.\n", path);
                        free(path);
                        return EX_OK;
                }
                log_error("Cannot remove %s: %s", path, strerror(r));
                free(path);
                return EX_CANTCREAT;
        }
        printf("Removed %s: the next boot configures the instance again.\n", path);
        free(path);
        return EX_OK;
}
