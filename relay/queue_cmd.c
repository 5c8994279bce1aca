/* SPDX-License-Identifier: MIT */
/*
 * queue_cmd - `mailinit queue` and `mailq`: list, show, flush and delete the built-in relay's
 * queued mail. The listing is Postfix mailq's (showq_compat short-id format: id, '*' active or
 * '!' on hold, size, arrival time, sender, "(last reply)" of deferred mail, recipients still
 * to do, "-- N Kbytes in M Requests."); --json prints the same as an array of objects.
 * spool_dir comes from mailinit.conf then relay.conf (later wins), under --root/MAILINIT_ROOT.
 * Messages are never delivered from here: flush makes every message due (next_attempt 0) and
 * sends SIGUSR1 to the relay named by spool_dir/relay.pid when that process exists and
 * belongs to the pid file's owner (so a stale pid reused by another program is left alone).
 * Listing needs root or mail_owner: anyone else gets a clear refusal and exit 77. Messages
 * submitted with sendmail and not yet picked up (the relay is stopped) are listed too, with
 * their maildrop file name as id and status "maildrop", as Postfix's mailq lists its maildrop.
 * DIAGNOSTICS: a malformed queue file is listed as "(corrupt)" with a warning, never trusted;
 * exit codes are sysexits(3): 64 usage, 69 no such message, 74 I/O error, 77 permission
 * denied, 78 configuration error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "fileio.h"
#include "log.h"
#include "maildrop.h"
#include "maildrop_dir.h"
#include "relay_commands.h"
#include "settings.h"
#include "spool.h"

#define MAILINIT_CONF  "/etc/mailinit/mailinit.conf"
#define RELAY_CONF     "/etc/mailinit/relay.conf"
#define PID_FILE_NAME  "relay.pid"
#define PID_FILE_MAX   64
#define NULL_SENDER    "MAILER-DAEMON" /* Postfix empty_address_recipient */
#define REASON_COLUMNS 76              /* showq: "(reason)" ends at column 78 */

enum queue_action {
        ACTION_LIST,
        ACTION_SHOW,
        ACTION_FLUSH,
        ACTION_DELETE,
        ACTION_MAX,
};

static const char *const action_name[ACTION_MAX] = {
        [ACTION_LIST] = "list",
        [ACTION_SHOW] = "show",
        [ACTION_FLUSH] = "flush",
        [ACTION_DELETE] = "delete",
};

struct queue_options {
        const char *root;
        bool json;
        enum queue_action action;
        const char *id;
};

enum entry_status {
        STATUS_ACTIVE,
        STATUS_DEFERRED,
        STATUS_HOLD,
        STATUS_CORRUPT,
        STATUS_MAILDROP, /* submitted with sendmail, not yet picked up (the relay is stopped) */
        STATUS_MAX,
};

static const char *const status_name[STATUS_MAX] = {
        [STATUS_ACTIVE] = "active",   [STATUS_DEFERRED] = "deferred", [STATUS_HOLD] = "hold",
        [STATUS_CORRUPT] = "corrupt", [STATUS_MAILDROP] = "maildrop",
};

/* One queued message as the listing shows it. */
struct entry {
        char *id;
        enum entry_status status;
        bool state_damaged;        /* its state file was malformed: shown as new */
        struct spool_envelope env; /* empty when corrupt */
        struct spool_state st;
        uint64_t offset; /* of the message in the queue file */
        uint64_t size;   /* message bytes; the file size when corrupt */
        time_t arrival;
};

static void entry_done(struct entry *e)
{
        free(e->id);
        spool_envelope_done(&e->env);
        spool_state_done(&e->st);
}

/* exit_code_for - sysexits code for a -errno from the spool or the file system */
static int exit_code_for(int r)
{
        switch (-r) {
        case EACCES:
        case EPERM:
                return EX_NOPERM;
        case ENOMEM:
                return EX_OSERR;
        default:
                return EX_IOERR;
        }
}

static void print_usage(FILE *out, const char *name)
{
        if (strcmp(name, "mailq") == 0)
                (void)fprintf(out, "Usage: mailq [--root DIR] [--json]\n");
        else
                (void)fprintf(out, "Usage: mailinit queue [--root DIR] [--json] "
                                   "[list|flush|show ID|delete ID]\n");
}

/* parse_options - 0, or an exit code + 256 when the command is over (help, usage error).
 * As mailq, other options (sendmail's -v, -Ac, -q...) are accepted and ignored, -h too. */
static int parse_options(int argc, char **argv, bool as_mailq, struct queue_options *o)
{
        static const struct option long_options[] = {
                {"root", required_argument, NULL, 'r'},
                {"json", no_argument, NULL, 'j'},
                {"help", no_argument, NULL, 'h'},
                {NULL, 0, NULL, 0},
        };
        const char *name = as_mailq ? "mailq" : "queue";
        int c, n_args;

        o->root = getenv("MAILINIT_ROOT");
        o->action = ACTION_LIST;
        optind = 1;
        opterr = as_mailq ? 0 : 1;
        while ((c = getopt_long(argc, argv, as_mailq ? "" : "h", long_options, NULL)) != -1) {
                switch (c) {
                case 'r':
                        o->root = optarg;
                        break;
                case 'j':
                        o->json = true;
                        break;
                case 'h':
                        print_usage(stdout, name);
                        return 256 + EX_OK;
                default:
                        if (as_mailq)
                                break;
                        print_usage(stderr, name);
                        return 256 + EX_USAGE;
                }
        }
        n_args = argc - optind;
        if (n_args == 0)
                return 0;
        for (int i = 0; i < ACTION_MAX; i++)
                if (strcmp(argv[optind], action_name[i]) == 0)
                        o->action = (enum queue_action)i;
        if (strcmp(argv[optind], action_name[o->action]) != 0) {
                (void)fprintf(stderr, "mailinit: unknown queue command '%s'\n", argv[optind]);
                print_usage(stderr, name);
                return 256 + EX_USAGE;
        }
        if (o->action == ACTION_SHOW || o->action == ACTION_DELETE) {
                if (n_args != 2) {
                        print_usage(stderr, name);
                        return 256 + EX_USAGE;
                }
                o->id = argv[optind + 1];
        } else if (n_args != 1) {
                print_usage(stderr, name);
                return 256 + EX_USAGE;
        }
        return 0;
}

/* apply_conf - one configuration file into s; a missing file is fine */
static int apply_conf(struct settings *s, const char *root, const char *path,
                      struct config_error *err)
{
        struct config_file *f = NULL;
        char *io = path_under_root(root, path);
        int r;

        if (!io)
                return -ENOMEM;
        r = config_read_file(io, path, &f, err);
        free(io);
        if (r == -ENOENT && !f)
                return 0;
        if (r >= 0)
                r = settings_apply_file(s, f, err);
        config_file_free(f);
        return r;
}

/* spool_dir_path - spool_dir from the configuration, under root (caller frees) */
static int spool_dir_path(const char *root, char **ret)
{
        struct settings *s = settings_new();
        struct config_error err = {{0}};
        int r;

        if (!s) {
                log_error_errno(ENOMEM, "Out of memory");
                return EX_OSERR;
        }
        settings_allow_missing_region(s);
        r = apply_conf(s, root, MAILINIT_CONF, &err);
        if (r >= 0)
                r = apply_conf(s, root, RELAY_CONF, &err);
        if (r >= 0)
                r = settings_finalize(s, &err);
        if (r < 0) {
                if (r == -ENOMEM)
                        log_error_errno(r, "Out of memory");
                else
                        log_error("%s", err.message[0] ? err.message : strerror(-r));
                settings_free(s);
                return r == -ENOMEM ? EX_OSERR : EX_CONFIG;
        }
        *ret = path_under_root(root, settings_get(s, SETTING_SPOOL_DIR));
        settings_free(s);
        if (!*ret) {
                log_error_errno(ENOMEM, "Out of memory");
                return EX_OSERR;
        }
        return 0;
}

/* printable - s with control characters as '?', for a terminal (caller frees) */
static char *printable(const char *s)
{
        char *p = strdup(s);

        if (!p)
                return NULL;
        for (char *q = p; *q; q++)
                if ((unsigned char)*q < ' ' || *q == 0x7f)
                        *q = '?';
        return p;
}

/* json_text - a JSON string of s; bytes that are not UTF-8 become '?' (new reference) */
static json_t *json_text(const char *s, size_t len)
{
        json_t *j = json_stringn(s, len);
        char *copy;

        if (j)
                return j;
        copy = malloc(len + 1);
        if (!copy)
                return NULL;
        for (size_t i = 0; i < len; i++)
                copy[i] = (char)((unsigned char)s[i] >= 0x80 || s[i] == '\0' ? '?' : s[i]);
        j = json_stringn(copy, len);
        free(copy);
        return j;
}

static void format_rfc3339(time_t t, char *buf, size_t size)
{
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                (void)snprintf(buf, size, "%lld", (long long)t);
}

/* format_asctime - asctime(3) without its newline, in local time (as showq prints it) */
static void format_asctime(time_t t, char *buf, size_t size)
{
        struct tm tm;

        if (!localtime_r(&t, &tm) || strftime(buf, size, "%a %b %e %H:%M:%S %Y", &tm) == 0)
                (void)snprintf(buf, size, "??");
}

/* load_entry - envelope and state of one message: 0 (a malformed queue file gives status
 * corrupt, a malformed state file a fresh state and state_damaged), -ENOENT when it is gone,
 * -EINVAL for a name that is no queue id, or -errno. Quiet: the callers say what they do. */
static int load_entry(struct spool *s, const char *id, struct entry *e)
{
        int r;

        *e = (struct entry){.id = strdup(id)};
        if (!e->id)
                return -ENOMEM;
        r = spool_read(s, id, &e->env, &e->offset, &e->size);
        if (r == -EBADMSG) {
                char *path = NULL;
                struct stat st;

                if (asprintf(&path, "%s/queue/%s", spool_dir(s), id) >= 0 &&
                    lstat(path, &st) == 0) {
                        e->size = (uint64_t)st.st_size;
                        e->arrival = st.st_mtime;
                }
                free(path);
                e->status = STATUS_CORRUPT;
                return 0;
        }
        if (r < 0)
                return r;
        e->arrival = e->env.arrival;
        r = spool_state_load(s, id, e->env.n_recipients, &e->st);
        if (r == -EBADMSG) {
                e->state_damaged = true;
                e->st = (struct spool_state){
                        .rcpt_done = calloc(e->env.n_recipients, sizeof(bool)),
                        .n_rcpt = e->env.n_recipients,
                };
                r = e->st.rcpt_done ? 0 : -ENOMEM;
        }
        if (r < 0)
                return r;
        if (e->st.hold)
                e->status = STATUS_HOLD;
        else if (e->st.attempts == 0)
                e->status = STATUS_ACTIVE;
        else
                e->status = STATUS_DEFERRED;
        return 0;
}

/* load_entries - every message in arrival order (caller frees each with entry_done) */
static int load_entries(struct spool *s, struct entry **ret, size_t *ret_n)
{
        struct entry *entries;
        char **ids = NULL;
        size_t n = 0, m = 0;
        int r;

        r = spool_list(s, &ids, &n);
        if (r < 0)
                return r;
        entries = calloc(n ? n : 1, sizeof *entries);
        if (!entries)
                r = -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (r >= 0) {
                        int q = load_entry(s, ids[i], &entries[m]);

                        if (q >= 0 && entries[m].status == STATUS_CORRUPT)
                                log_warning("Queue file %s/queue/%s is malformed, listing it as "
                                            "corrupt.",
                                            spool_dir(s), ids[i]);
                        if (q >= 0 && entries[m].state_damaged)
                                log_warning("The delivery state of %s is malformed, showing it "
                                            "as new.",
                                            ids[i]);
                        if (q >= 0)
                                m++;
                        else
                                entry_done(&entries[m]);
                        if (q < 0 && q != -ENOENT) /* -ENOENT: delivered meanwhile */
                                r = q;
                }
                free(ids[i]);
        }
        free(ids);
        if (r < 0) {
                for (size_t i = 0; i < m; i++)
                        entry_done(&entries[i]);
                free(entries);
                return r;
        }
        *ret = entries;
        *ret_n = m;
        return 0;
}

/* maildrop_entry - one file of the maildrop as a listing entry (status maildrop): 0, or
 * -EBADMSG for what pickup will set aside, -errno */
static int maildrop_entry(int dir_fd, const char *name, struct entry *e)
{
        struct maildrop_envelope md = {0};
        size_t off, len, got = 0;
        struct stat st;
        char *data = NULL;
        int fd, r = 0;

        fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
            (uint64_t)st.st_size > MAILDROP_ENVELOPE_MAX + MAILDROP_MESSAGE_MAX + 4) {
                close(fd);
                return -EBADMSG;
        }
        data = malloc((size_t)st.st_size + 1);
        while (data && r >= 0 && got < (size_t)st.st_size) {
                ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

                r = n > 0 ? 0 : n == 0 ? -EBADMSG : errno == EINTR ? 0 : -errno;
                got += n > 0 ? (size_t)n : 0;
        }
        close(fd);
        if (!data)
                return -ENOMEM;
        if (r >= 0)
                r = maildrop_parse(data, (size_t)st.st_size, &md, &off, &len);
        free(data);
        if (r < 0)
                return r;
        *e = (struct entry){
                .id = strdup(name), .status = STATUS_MAILDROP, .size = len, .arrival = st.st_mtime};
        if (md.sender) {
                e->env.sender = md.sender;
                md.sender = NULL;
        } else {
                const struct passwd *pw = getpwuid(st.st_uid);

                e->env.sender = strdup(pw ? pw->pw_name : "?");
        }
        e->env.recipients = md.recipients;
        e->env.n_recipients = md.n_recipients;
        md.recipients = NULL;
        md.n_recipients = 0;
        maildrop_envelope_done(&md);
        return e->id && e->env.sender ? 0 : -ENOMEM;
}

/* load_maildrop - append what waits in the maildrop (listable by root and mail_owner only;
 * otherwise nothing is added) */
static int load_maildrop(struct spool *s, struct entry **entries, size_t *n)
{
        char *path = NULL;
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (asprintf(&path, "%s/%s", spool_dir(s), MAILDROP_DIR_NAME) < 0)
                return -ENOMEM;
        d = opendir(path);
        free(path);
        if (!d)
                return 0;
        while (r >= 0 && (de = readdir(d))) {
                struct entry e, *grown;

                if (!maildrop_name_is_message(de->d_name))
                        continue;
                if (maildrop_entry(dirfd(d), de->d_name, &e) < 0)
                        continue; /* gone, or malformed: pickup sets it aside */
                grown = realloc(*entries, (*n + 1) * sizeof *grown);
                if (!grown) {
                        entry_done(&e);
                        r = -ENOMEM;
                        break;
                }
                *entries = grown;
                (*entries)[(*n)++] = e;
        }
        closedir(d);
        return r;
}

static void print_entry(const struct entry *e)
{
        char id_status[MAILDROP_NAME_LEN + 2], when[64]; /* queue ids and maildrop names */
        char *sender;

        (void)snprintf(id_status, sizeof id_status, "%s%s", e->id,
                       e->status == STATUS_ACTIVE ? "*"
                       : e->status == STATUS_HOLD ? "!"
                                                  : "");
        format_asctime(e->arrival, when, sizeof when);
        if (e->status == STATUS_CORRUPT) {
                printf("%-11s %7" PRIu64 " %20.20s %s\n", id_status, e->size, when, "(corrupt)");
                return;
        }
        sender = printable(e->env.sender[0] ? e->env.sender : NULL_SENDER);
        printf("%-11s %7" PRIu64 " %20.20s %s\n", id_status, e->size, when, sender ? sender : "?");
        free(sender);
        if (e->status == STATUS_DEFERRED && e->st.last_reply[0]) {
                char *reason = printable(e->st.last_reply);
                int padding = reason ? REASON_COLUMNS - (int)strlen(reason) : 0;

                printf("%*s(%s)\n", padding > 0 ? padding : 0, "", reason ? reason : "?");
                free(reason);
        }
        for (size_t i = 0; i < e->env.n_recipients; i++) {
                char *rcpt;

                if (i < e->st.n_rcpt && e->st.rcpt_done[i])
                        continue; /* delivered or bounced already: Postfix omits them too */
                rcpt = printable(e->env.recipients[i]);
                printf("%-11s %7s %-20s %s\n", "", "", "", rcpt ? rcpt : "?");
                free(rcpt);
        }
}

static json_t *time_or_null(time_t t)
{
        char buf[64];

        if (t <= 0)
                return json_null();
        format_rfc3339(t, buf, sizeof buf);
        return json_string(buf);
}

/* entry_to_json - the --json object of one message (new reference; NULL on ENOMEM) */
static json_t *entry_to_json(const struct entry *e)
{
        json_t *o = json_object(), *rcpts = json_array();
        bool corrupt = e->status == STATUS_CORRUPT;
        int r = 0;

        if (!o || !rcpts) {
                json_decref(o);
                json_decref(rcpts);
                return NULL;
        }
        for (size_t i = 0; i < e->env.n_recipients; i++)
                if (i >= e->st.n_rcpt || !e->st.rcpt_done[i])
                        r |= json_array_append_new(rcpts, json_text(e->env.recipients[i],
                                                                    strlen(e->env.recipients[i])));
        r |= json_object_set_new(o, "queue_id", json_string(e->id));
        r |= json_object_set_new(o, "sender",
                                 corrupt ? json_null()
                                         : json_text(e->env.sender, strlen(e->env.sender)));
        r |= json_object_set_new(o, "recipients", rcpts);
        r |= json_object_set_new(o, "size", json_integer((json_int_t)e->size));
        r |= json_object_set_new(o, "arrival_time", time_or_null(e->arrival));
        r |= json_object_set_new(o, "status", json_string(status_name[e->status]));
        r |= json_object_set_new(o, "attempts", json_integer(e->st.attempts));
        r |= json_object_set_new(o, "last_reply",
                                 e->st.last_reply[0]
                                         ? json_text(e->st.last_reply, strlen(e->st.last_reply))
                                         : json_null());
        r |= json_object_set_new(o, "next_attempt",
                                 e->status == STATUS_DEFERRED ? time_or_null(e->st.next_attempt)
                                                              : json_null());
        if (r != 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

static int print_json(json_t *j)
{
        int r;

        if (!j) {
                log_error_errno(ENOMEM, "Out of memory");
                return EX_OSERR;
        }
        r = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
        json_decref(j);
        if (r < 0 || putchar('\n') == EOF || fflush(stdout) != 0) {
                log_error("Cannot write the output.");
                return EX_IOERR;
        }
        return EX_OK;
}

/* print_list - the mailq listing (showq_compat.c, short queue ids) */
static int print_list(const struct entry *entries, size_t n)
{
        uint64_t total = 0;

        for (size_t i = 0; i < n; i++) {
                if (i == 0)
                        printf("%-11s %7s %-20s %s\n", "-Queue ID-", "--Size--",
                               "----Arrival Time----", "-Sender/Recipient-------");
                else
                        printf("\n");
                print_entry(&entries[i]);
                total += entries[i].size;
        }
        if (n == 0)
                printf("Mail queue is empty\n");
        else
                printf("\n-- %" PRIu64 " Kbytes in %zu Request%s.\n", total / 1024, n,
                       n == 1 ? "" : "s");
        if (fflush(stdout) != 0) {
                log_error("Cannot write the output.");
                return EX_IOERR;
        }
        return EX_OK;
}

static int print_list_json(const struct entry *entries, size_t n)
{
        json_t *array = json_array();

        for (size_t i = 0; array && i < n; i++) {
                if (json_array_append_new(array, entry_to_json(&entries[i])) < 0) {
                        json_decref(array);
                        array = NULL;
                }
        }
        return print_json(array);
}

static int do_list(struct spool *s, bool json)
{
        struct entry *entries = NULL;
        size_t n = 0;
        int r;

        if (s) {
                r = load_entries(s, &entries, &n);
                if (r >= 0)
                        r = load_maildrop(s, &entries, &n);
                if (r < 0) {
                        log_error_errno(r, "Cannot read the queue in %s: %m", spool_dir(s));
                        return exit_code_for(r);
                }
        }
        r = json ? print_list_json(entries, n) : print_list(entries, n);
        for (size_t i = 0; i < n; i++)
                entry_done(&entries[i]);
        free(entries);
        return r;
}

static int no_such_message(const char *id)
{
        char *p = printable(id);

        log_error("%s: no such message in the queue.", p ? p : "?");
        free(p);
        return EX_UNAVAILABLE;
}

/* copy_body - size bytes at offset of fd to stdout; *ret_last is the last byte written */
static int copy_body(int fd, uint64_t offset, uint64_t size, int *ret_last)
{
        char buf[64 * 1024];

        *ret_last = '\n';
        while (size > 0) {
                size_t want = size < sizeof buf ? (size_t)size : sizeof buf;
                ssize_t n = pread(fd, buf, want, (off_t)offset);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EBADMSG;
                if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
                        return -EIO;
                *ret_last = (unsigned char)buf[n - 1];
                offset += (uint64_t)n;
                size -= (uint64_t)n;
        }
        return 0;
}

static int show_json(struct spool *s, const struct entry *e)
{
        json_t *o = entry_to_json(e), *done = json_array();
        char *body = NULL;
        ssize_t n = 0;
        int fd = -1, r;

        r = o && done ? 0 : -ENOMEM;
        if (r >= 0 && e->size > SIZE_MAX - 1)
                r = -EFBIG;
        if (r >= 0)
                r = spool_open_body(s, e->id, &fd);
        if (r >= 0) {
                body = malloc((size_t)e->size + 1);
                if (!body)
                        r = -ENOMEM;
        }
        while (r >= 0 && (uint64_t)n < e->size) {
                ssize_t k = pread(fd, body + n, (size_t)e->size - (size_t)n, (off_t)e->offset + n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        r = k < 0 ? -errno : -EBADMSG;
                else
                        n += k;
        }
        if (fd >= 0)
                close(fd);
        if (r >= 0) {
                for (size_t i = 0; i < e->env.n_recipients; i++)
                        if (i < e->st.n_rcpt && e->st.rcpt_done[i])
                                r |= json_array_append_new(done,
                                                           json_text(e->env.recipients[i],
                                                                     strlen(e->env.recipients[i])));
                r |= json_object_set_new(o, "recipients_done", done);
                done = NULL;
                r |= json_object_set_new(o, "client",
                                         json_text(e->env.client, strlen(e->env.client)));
                r |= json_object_set_new(o, "body_8bit", json_boolean(e->env.body_8bit));
                r |= json_object_set_new(o, "smtputf8", json_boolean(e->env.smtputf8));
                r |= json_object_set_new(o, "last_attempt", time_or_null(e->st.last_attempt));
                r |= json_object_set_new(o, "message", json_text(body, (size_t)e->size));
                r = r != 0 ? -ENOMEM : 0;
        }
        free(body);
        json_decref(done);
        if (r < 0) {
                json_decref(o);
                log_error_errno(r, "Cannot read message %s: %m", e->id);
                return exit_code_for(r);
        }
        return print_json(o);
}

static int do_show(struct spool *s, const char *id, bool json)
{
        struct entry e = {0};
        char when[64], *text;
        int fd = -1, last, r;

        if (!s)
                return no_such_message(id);
        r = load_entry(s, id, &e);
        if (r >= 0 && e.status == STATUS_CORRUPT) {
                log_error("Queue file %s/queue/%s is malformed.", spool_dir(s), id);
                entry_done(&e);
                return EX_DATAERR;
        }
        if (r >= 0 && e.state_damaged)
                log_warning("The delivery state of %s is malformed, showing it as new.", id);
        if (r < 0) {
                entry_done(&e);
                if (r == -ENOENT || r == -EINVAL)
                        return no_such_message(id);
                log_error_errno(r, "Cannot read message %s: %m", id);
                return exit_code_for(r);
        }
        if (json) {
                r = show_json(s, &e);
                entry_done(&e);
                return r;
        }
        printf("*** ENVELOPE RECORDS %s ***\n", id);
        printf("message_size: %" PRIu64 "\n", e.size);
        format_asctime(e.arrival, when, sizeof when);
        printf("message_arrival_time: %s\n", when);
        text = printable(e.env.client);
        printf("client: %s\n", text ? text : "?");
        free(text);
        printf("flags:%s%s%s\n", e.env.body_8bit ? " 8bit" : "", e.env.smtputf8 ? " smtputf8" : "",
               !e.env.body_8bit && !e.env.smtputf8 ? " -" : "");
        text = printable(e.env.sender[0] ? e.env.sender : "<>");
        printf("sender: %s\n", text ? text : "?");
        free(text);
        for (size_t i = 0; i < e.env.n_recipients; i++) {
                bool done = i < e.st.n_rcpt && e.st.rcpt_done[i];

                text = printable(e.env.recipients[i]);
                printf("%s: %s\n", done ? "done_recipient" : "recipient", text ? text : "?");
                free(text);
        }
        printf("status: %s\n", status_name[e.status]);
        printf("attempts: %u\n", e.st.attempts);
        if (e.st.last_attempt > 0) {
                format_rfc3339(e.st.last_attempt, when, sizeof when);
                printf("last_attempt: %s\n", when);
        }
        if (e.status == STATUS_DEFERRED && e.st.next_attempt > 0) {
                format_rfc3339(e.st.next_attempt, when, sizeof when);
                printf("next_attempt: %s\n", when);
        }
        if (e.st.last_reply[0]) {
                text = printable(e.st.last_reply);
                printf("last_reply: %s\n", text ? text : "?");
                free(text);
        }
        printf("*** MESSAGE CONTENTS %s ***\n", id);
        r = spool_open_body(s, id, &fd);
        if (r >= 0) {
                r = copy_body(fd, e.offset, e.size, &last);
                close(fd);
        }
        if (r >= 0) {
                if (last != '\n')
                        printf("\n");
                printf("*** END OF MESSAGE %s ***\n", id);
        }
        entry_done(&e);
        if (r < 0) {
                log_error_errno(r, "Cannot read message %s: %m", id);
                return exit_code_for(r);
        }
        return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
}

static int do_delete(struct spool *s, const char *id, bool json)
{
        int r;

        if (!s)
                return no_such_message(id);
        r = spool_remove(s, id);
        if (r == -ENOENT || r == -EINVAL)
                return no_such_message(id);
        if (r < 0) {
                log_error_errno(r, "Cannot remove message %s: %m", id);
                return exit_code_for(r);
        }
        if (json)
                return print_json(json_pack("{s:s, s:b}", "queue_id", id, "removed", 1));
        printf("%s: removed\n", id);
        return EX_OK;
}

/* relay_pid - the pid in spool_dir/relay.pid when that process runs and belongs to the pid
 * file's owner; 0 when there is no running relay (why says why, for the message). */
static pid_t relay_pid(const char *dir, char *why, size_t why_size)
{
        char *path = NULL, *text = NULL, *end = NULL, proc[64];
        struct stat st_file, st_proc;
        long pid = 0;
        size_t len = 0;
        int r;

        if (asprintf(&path, "%s/%s", dir, PID_FILE_NAME) < 0) {
                (void)snprintf(why, why_size, "the relay's pid is unknown (out of memory)");
                return 0;
        }
        r = read_file_bounded(path, PID_FILE_MAX, &text, &len);
        if (r == -ENOENT) {
                (void)snprintf(why, why_size, "the relay is not running (no %s)", path);
                goto out;
        }
        if (r >= 0 && stat(path, &st_file) < 0)
                r = -errno;
        if (r < 0) {
                log_warning_errno(r, "Cannot read %s, ignoring: %m", path);
                (void)snprintf(why, why_size, "the relay's pid is unknown");
                goto out;
        }
        errno = 0;
        if (len > 0 && text[0] >= '1' && text[0] <= '9')
                pid = strtol(text, &end, 10);
        if (pid <= 0 || errno != 0 || pid != (pid_t)pid || !end ||
            (*end != '\0' && strcmp(end, "\n") != 0)) {
                log_warning("%s does not hold a process id, ignoring.", path);
                (void)snprintf(why, why_size, "the relay's pid is unknown");
                pid = 0;
                goto out;
        }
        if (kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
                (void)snprintf(why, why_size, "the relay is not running (pid %ld in %s is gone)",
                               pid, path);
                pid = 0;
                goto out;
        }
        /* A stale pid reused by someone else's program must not get SIGUSR1 (it may die). */
        (void)snprintf(proc, sizeof proc, "/proc/%ld", pid);
        if (stat(proc, &st_proc) == 0 && st_proc.st_uid != st_file.st_uid) {
                (void)snprintf(why, why_size,
                               "pid %ld in %s belongs to another user, so it is not the relay", pid,
                               path);
                pid = 0;
        }
out:
        free(text);
        free(path);
        return (pid_t)pid;
}

static int do_flush(struct spool *s, const char *dir, bool json)
{
        struct entry *entries = NULL;
        size_t n = 0, n_due = 0;
        char why[512] = "";
        pid_t pid = 0;
        bool signalled = false;
        int r = 0;

        if (s) {
                r = load_entries(s, &entries, &n);
                if (r < 0) {
                        log_error_errno(r, "Cannot read the queue in %s: %m", dir);
                        return exit_code_for(r);
                }
        }
        for (size_t i = 0; i < n; i++) {
                struct entry *e = &entries[i];

                if (e->status == STATUS_CORRUPT)
                        continue;
                n_due++;
                if (e->st.next_attempt == 0)
                        continue;
                e->st.next_attempt = 0;
                r = spool_state_save(s, e->id, &e->st);
                if (r < 0) {
                        log_error_errno(r, "Cannot update the delivery state of %s: %m", e->id);
                        break;
                }
        }
        for (size_t i = 0; i < n; i++)
                entry_done(&entries[i]);
        free(entries);
        if (r < 0)
                return exit_code_for(r);

        if (s)
                pid = relay_pid(dir, why, sizeof why);
        else
                (void)snprintf(why, sizeof why, "the relay is not running (no %s)", dir);
        if (pid > 0) {
                if (kill(pid, SIGUSR1) < 0) {
                        r = -errno;
                        log_error_errno(r, "Cannot signal the relay (pid %ld): %m", (long)pid);
                        return exit_code_for(r);
                }
                signalled = true;
        }
        if (json)
                return print_json(json_pack("{s:I, s:o, s:b}", "flushed", (json_int_t)n_due,
                                            "relay_pid", pid > 0 ? json_integer(pid) : json_null(),
                                            "signalled", signalled));
        if (signalled)
                printf("Flushed %zu message%s: sent SIGUSR1 to the relay (pid %ld), which "
                       "retries them now.\n",
                       n_due, n_due == 1 ? "" : "s", (long)pid);
        else
                printf("Flushed %zu message%s: %s; they are tried when it starts.\n", n_due,
                       n_due == 1 ? "" : "s", why);
        return EX_OK;
}

int queue_main(int argc, char **argv)
{
        const char *invoked = argc > 0 ? strrchr(argv[0], '/') : NULL;
        struct queue_options o = {0};
        struct spool *s = NULL;
        char *dir = NULL;
        struct stat st;
        int r;

        invoked = invoked ? invoked + 1 : argc > 0 ? argv[0] : "queue";
        r = parse_options(argc, argv, strcmp(invoked, "mailq") == 0, &o);
        if (r >= 256)
                return r - 256;
        r = spool_dir_path(o.root, &dir);
        if (r != 0)
                return r;
        /* Never create the spool from here (as root, in the relay's place): no spool, no mail. */
        if (stat(dir, &st) < 0 && errno == ENOENT) {
                log_debug("%s does not exist: the queue is empty.", dir);
        } else {
                r = spool_open(dir, &s);
                if (r == -EACCES || r == -EPERM) {
                        /* Postfix lets anyone list the queue through its showq daemon; ours is
                         * a directory of the relay's user: say so rather than guess. */
                        log_error(
                                "Cannot open the queue in %s: permission denied: only root and the relay's user (mail_owner) may list it; try 'sudo mailq'",
                                dir);
                        free(dir);
                        return EX_NOPERM;
                }
                if (r < 0) {
                        log_error_errno(r, "Cannot open the queue in %s: %m", dir);
                        free(dir);
                        return exit_code_for(r);
                }
        }
        switch (o.action) {
        case ACTION_LIST:
                r = do_list(s, o.json);
                break;
        case ACTION_SHOW:
                r = do_show(s, o.id, o.json);
                break;
        case ACTION_FLUSH:
                r = do_flush(s, dir, o.json);
                break;
        case ACTION_DELETE:
                r = do_delete(s, o.id, o.json);
                break;
        case ACTION_MAX:
        default:
                r = EX_SOFTWARE;
                break;
        }
        spool_close(s);
        free(dir);
        return r;
}
