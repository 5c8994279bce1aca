/* SPDX-License-Identifier: MIT */
/*
 * checks_local - the instance's own end of the mail path: the local relay (Postfix or
 * mailinit's) answers SMTP on the first `listen` address (the address firstboot's
 * confirmation mail goes to): banner and EHLO, then QUIT; its systemd units (restart_units)
 * are active, asked over D-Bus (GetUnit, then the unit's ActiveState); and its queue moves:
 * no message older than DOCTOR_QUEUE_STUCK_SEC. The built-in relay's spool is read with the
 * relay's spool code (as `mailinit queue` does); Postfix's queue with `postqueue -j`, run
 * with an environment of PATH only (the doctor's environment may hold AWS keys).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <systemd/sd-bus.h>

#include "address.h"
#include "backoff.h"
#include "buf.h"
#include "doctor.h"
#include "fileio.h"
#include "parse.h"
#include "smtp_client.h"
#include "spool.h"

#define LOCAL_TIMEOUT_MS     5000ULL
#define BUS_TIMEOUT_USEC     (5ULL * 1000000ULL)
#define POSTQUEUE_TIMEOUT_MS 15000ULL
#define POSTQUEUE_OUTPUT_MAX (4 * 1024 * 1024)
#define UNITS_MAX            8

void check_local_smtp(struct doctor *d)
{
        const char *listen = settings_get(d->s.settings, SETTING_LISTEN), *state = listen, *item;
        char text[128] = "127.0.0.1:25", host[NI_MAXHOST], port[NI_MAXSERV];
        struct listen_address la;
        struct smtp_client_options o = {
                .tls = RELAY_TLS_NONE,
                .helo = "localhost",
                .connect_timeout_ms = LOCAL_TIMEOUT_MS,
                .command_timeout_ms = LOCAL_TIMEOUT_MS,
        };
        struct smtp_client_error err = {0};
        struct smtp_client *c = NULL;
        uint64_t port_number;
        size_t len;
        int r;

        if ((item = list_next(&state, &len)) && len < sizeof text)
                (void)snprintf(text, sizeof text, "%.*s", (int)len, item);
        if (listen_address_parse(text, strlen(text), &la) < 0 ||
            getnameinfo((struct sockaddr *)&la.sa, la.sa_len, host, sizeof host, port, sizeof port,
                        NI_NUMERICHOST | NI_NUMERICSERV) != 0 ||
            parse_uint64(port, &port_number) < 0) {
                check_set(d, CHECK_LOCAL_SMTP, CHECK_FAIL, "listen address '%s' is not usable",
                          text);
                check_fix(d, CHECK_LOCAL_SMTP, "listen = 127.0.0.1:25, [::1]:25");
                return;
        }
        o.host = host;
        o.port = (uint16_t)port_number;
        r = smtp_client_connect(&o, &c, &err);
        if (r < 0) {
                bool postfix = strcmp(settings_get(d->s.settings, SETTING_MODE), "postfix") == 0;

                check_set(d, CHECK_LOCAL_SMTP, CHECK_FAIL, "the local relay at %s: %s", text,
                          err.text);
                check_fix(
                        d, CHECK_LOCAL_SMTP,
                        postfix ? "start Postfix (systemctl restart postfix.service) and check inet_interfaces in main.cf"
                                : "start the relay (systemctl restart mailinit-relay.socket mailinit-relay.service) and check the listen key");
                return;
        }
        check_set(
                d, CHECK_LOCAL_SMTP, CHECK_OK,
                "%s greets with 220 and accepts EHLO (the address local programs and the confirmation mail use)",
                text);
        (void)smtp_client_quit(c);
}

/* unit_state - ActiveState of a unit, or -errno with why (-ENOENT: not loaded) */
static int unit_state(sd_bus *bus, const char *unit, char **ret, char *why, size_t why_size)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *path;
        int r;

        r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "GetUnit", &error, &reply, "s",
                               unit);
        if (r < 0) {
                /* -ENOENT means "no such unit" to the caller, never "no bus socket". */
                if (sd_bus_error_has_name(&error, "org.freedesktop.systemd1.NoSuchUnit"))
                        r = -ENOENT;
                else if (r == -ENOENT)
                        r = -ENOTCONN;
                (void)snprintf(why, why_size, "%s", error.message ? error.message : strerror(-r));
                sd_bus_error_free(&error);
                return r;
        }
        r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path,
                                               "org.freedesktop.systemd1.Unit", "ActiveState",
                                               &error, ret);
        if (r < 0)
                (void)snprintf(why, why_size, "%s", error.message ? error.message : strerror(-r));
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        return r;
}

void check_service(struct doctor *d)
{
        const char *list = settings_get(d->s.settings, SETTING_RESTART_UNITS), *state = list, *item;
        char active[DOCTOR_REASON_MAX] = "", why[256];
        sd_bus *bus = NULL;
        size_t len, n = 0;
        int r;

        r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_set_method_call_timeout(bus, BUS_TIMEOUT_USEC);
        if (r < 0) {
                check_set(d, CHECK_SERVICE, CHECK_SKIP, "no system bus to ask systemd: %s",
                          strerror(-r));
                sd_bus_flush_close_unref(bus);
                return;
        }
        while ((item = list_next(&state, &len)) && n < UNITS_MAX) {
                char unit[256], *st = NULL;

                if (len >= sizeof unit)
                        continue;
                (void)snprintf(unit, sizeof unit, "%.*s", (int)len, item);
                n++;
                why[0] = '\0';
                r = unit_state(bus, unit, &st, why, sizeof why);
                if (r == -ENOENT) {
                        check_set(d, CHECK_SERVICE, CHECK_FAIL,
                                  "%s is not loaded: not installed, or never started since boot",
                                  unit);
                        check_fix(
                                d, CHECK_SERVICE,
                                "systemctl enable --now %s; journalctl -u %s -b shows why it stopped",
                                unit, unit);
                        break;
                }
                if (r < 0) {
                        check_set(d, CHECK_SERVICE, CHECK_SKIP, "cannot ask systemd about %s: %s",
                                  unit, why);
                        break;
                }
                if (strcmp(st, "active") != 0) {
                        bool changing = strcmp(st, "activating") == 0 ||
                                        strcmp(st, "reloading") == 0 ||
                                        strcmp(st, "deactivating") == 0;

                        check_set(d, CHECK_SERVICE, changing ? CHECK_WARN : CHECK_FAIL, "%s is %s",
                                  unit, st);
                        check_fix(d, CHECK_SERVICE,
                                  "journalctl -u %s -b shows why; systemctl restart %s", unit,
                                  unit);
                        free(st);
                        break;
                }
                free(st);
                if (strlen(active) + len + 3 < sizeof active)
                        (void)snprintf(active + strlen(active), sizeof active - strlen(active),
                                       "%s%s", active[0] ? ", " : "", unit);
        }
        if (d->checks[CHECK_SERVICE].result == CHECK_RESULT_MAX) {
                if (n == 0)
                        check_set(d, CHECK_SERVICE, CHECK_SKIP, "restart_units names no unit");
                else
                        check_set(d, CHECK_SERVICE, CHECK_OK, "active: %s", active);
        }
        sd_bus_flush_close_unref(bus);
}

/* format_age - "3 h", "12 min", "2 d" */
static void format_age(time_t seconds, char *out, size_t size)
{
        if (seconds >= 2 * 86400)
                (void)snprintf(out, size, "%lld d", (long long)(seconds / 86400));
        else if (seconds >= 2 * 3600)
                (void)snprintf(out, size, "%lld h", (long long)(seconds / 3600));
        else
                (void)snprintf(out, size, "%lld min", (long long)(seconds / 60));
}

/* What a queue looks like, for the verdict. */
struct queue_summary {
        size_t total;
        size_t deferred;
        size_t corrupt;
        size_t old; /* older than DOCTOR_QUEUE_STUCK_SEC */
        time_t oldest_arrival;
        char oldest_id[64];
        char oldest_reply[SPOOL_REPLY_MAX];
};

static void queue_add(struct queue_summary *q, time_t now, const char *id, time_t arrival,
                      bool deferred, const char *reply)
{
        q->total++;
        if (deferred)
                q->deferred++;
        if (arrival > 0 && now - arrival > DOCTOR_QUEUE_STUCK_SEC)
                q->old++;
        if (arrival > 0 && (q->oldest_arrival == 0 || arrival < q->oldest_arrival)) {
                q->oldest_arrival = arrival;
                (void)snprintf(q->oldest_id, sizeof q->oldest_id, "%s", id);
                (void)snprintf(q->oldest_reply, sizeof q->oldest_reply, "%s", reply ? reply : "");
        }
}

/* queue_verdict - the queue check from a summary; inspect: the command that shows a message */
static void queue_verdict(struct doctor *d, const struct queue_summary *q, time_t now,
                          const char *where, const char *inspect, const char *flush)
{
        char age[32];

        if (q->total == 0) {
                check_set(d, CHECK_QUEUE, CHECK_OK, "the queue (%s) is empty", where);
                return;
        }
        format_age(now - q->oldest_arrival, age, sizeof age);
        if (q->old > 0) {
                check_set(
                        d, CHECK_QUEUE, CHECK_WARN,
                        "%zu of %zu queued message%s older than %d h (%zu deferred); the oldest, %s, waits for %s%s%s",
                        q->old, q->total, q->total == 1 ? " is" : "s are",
                        DOCTOR_QUEUE_STUCK_SEC / 3600, q->deferred, q->oldest_id, age,
                        q->oldest_reply[0] ? ": " : "", q->oldest_reply);
                check_fix(
                        d, CHECK_QUEUE,
                        "fix what the relayhost checks report, then retry now: %s; '%s %s' shows the message",
                        flush, inspect, q->oldest_id);
                return;
        }
        if (q->corrupt > 0) {
                check_set(d, CHECK_QUEUE, CHECK_WARN, "%zu malformed queue file%s in %s",
                          q->corrupt, q->corrupt == 1 ? "" : "s", where);
                check_fix(d, CHECK_QUEUE, "'mailinit queue' lists them as corrupt; delete them");
                return;
        }
        check_set(d, CHECK_QUEUE, CHECK_OK,
                  "%zu message%s queued (%zu deferred), none older than %d h (the oldest: %s)",
                  q->total, q->total == 1 ? "" : "s", q->deferred, DOCTOR_QUEUE_STUCK_SEC / 3600,
                  age);
}

static void check_builtin_queue(struct doctor *d)
{
        const char *spool_path = settings_get(d->s.settings, SETTING_SPOOL_DIR);
        struct queue_summary q = {0};
        struct spool *spool = NULL;
        char *io = path_under_root(d->o.root, spool_path), **ids = NULL;
        time_t now = time(NULL);
        struct stat st;
        size_t n = 0;
        int r;

        if (!io) {
                check_set(d, CHECK_QUEUE, CHECK_FAIL, "out of memory");
                return;
        }
        if (stat(io, &st) < 0) {
                r = -errno;
                check_set(d, CHECK_QUEUE, r == -ENOENT ? CHECK_WARN : CHECK_SKIP,
                          "cannot read the queue in %s: %s%s", spool_path, strerror(-r),
                          r == -EACCES ? " (run doctor as root)" : "");
                if (r == -ENOENT)
                        check_fix(d, CHECK_QUEUE, "start the relay once (it creates spool_path)");
                free(io);
                return;
        }
        r = spool_open(io, &spool);
        if (r >= 0)
                r = spool_list(spool, &ids, &n);
        if (r < 0) {
                check_set(d, CHECK_QUEUE, CHECK_SKIP, "cannot read the queue in %s: %s", spool_path,
                          strerror(-r));
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                struct spool_envelope env = {0};
                struct spool_state sst = {0};
                uint64_t offset, size;

                r = spool_read(spool, ids[i], &env, &offset, &size);
                if (r == -EBADMSG)
                        q.corrupt++;
                if (r >= 0 && spool_state_load(spool, ids[i], env.n_recipients, &sst) >= 0) {
                        queue_add(&q, now, ids[i], env.arrival, sst.attempts > 0, sst.last_reply);
                        spool_state_done(&sst);
                } else if (r >= 0) {
                        queue_add(&q, now, ids[i], env.arrival, false, NULL);
                }
                spool_envelope_done(&env);
        }
        queue_verdict(d, &q, now, spool_path, "mailinit queue show", "mailinit queue flush");
out:
        for (size_t i = 0; i < n; i++)
                free(ids[i]);
        free(ids);
        spool_close(spool);
        free(io);
}

/* find_program - name in PATH, then the sbin directories; caller frees */
static char *find_program(const char *name)
{
        const char *path = getenv("PATH"), *state;
        char dirs[4096], *candidate;
        const char *dir;
        size_t len;

        (void)snprintf(dirs, sizeof dirs, "%s:/usr/sbin:/usr/bin:/sbin:/bin", path ? path : "");
        state = dirs;
        while (*state) {
                dir = state;
                len = strcspn(state, ":");
                state += len + (state[len] == ':');
                if (len == 0)
                        continue;
                if (asprintf(&candidate, "%.*s/%s", (int)len, dir, name) < 0)
                        return NULL;
                if (access(candidate, X_OK) == 0)
                        return candidate;
                free(candidate);
        }
        return NULL;
}

/* run_capture - run argv (environment: PATH only), stdout and stderr into out, bounded in
 * time and size. Returns the exit status (>= 0) or -errno. */
static int run_capture(char *const *argv, struct buf *out)
{
        static char env_path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
        char *const envp[] = {env_path, NULL};
        uint64_t deadline = now_monotonic_usec() + POSTQUEUE_TIMEOUT_MS * 1000ULL;
        posix_spawn_file_actions_t fa;
        int pipefd[2], status = 0, r;
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        r = posix_spawn_file_actions_init(&fa);
        if (r == 0)
                r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
        if (r == 0)
                r = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        (void)close(pipefd[1]);
        if (r != 0) {
                (void)close(pipefd[0]);
                return -r;
        }
        for (;;) {
                char chunk[8192];
                ssize_t n;

                r = fd_wait(pipefd[0], POLLIN, deadline);
                if (r < 0)
                        break;
                n = read(pipefd[0], chunk, sizeof chunk);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                if (buf_append(out, chunk, (size_t)n) < 0) {
                        r = -EFBIG;
                        break;
                }
        }
        (void)close(pipefd[0]);
        if (r < 0)
                (void)kill(pid, SIGKILL); /* our own child, by its pid */
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return r;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* postqueue_line - one message of `postqueue -j` into q */
static void postqueue_line(struct queue_summary *q, time_t now, const char *line, size_t len)
{
        json_t *j = json_loadb(line, len, 0, NULL), *rcpt;
        const char *id, *queue, *reason = NULL;

        if (!json_is_object(j)) {
                json_decref(j);
                return;
        }
        id = json_string_value(json_object_get(j, "queue_id"));
        queue = json_string_value(json_object_get(j, "queue_name"));
        rcpt = json_array_get(json_object_get(j, "recipients"), 0);
        if (rcpt)
                reason = json_string_value(json_object_get(rcpt, "delay_reason"));
        queue_add(q, now, id ? id : "?",
                  (time_t)json_integer_value(json_object_get(j, "arrival_time")),
                  queue && strcmp(queue, "deferred") == 0, reason);
        json_decref(j);
}

static void check_postfix_queue(struct doctor *d)
{
        const char *postfix_dir = settings_get(d->s.settings, SETTING_POSTFIX_DIR);
        char *program = find_program("postqueue"), *config = NULL;
        struct queue_summary q = {0};
        time_t now = time(NULL);
        struct buf out;
        int status;

        buf_init(&out, POSTQUEUE_OUTPUT_MAX);
        if (!program) {
                check_set(d, CHECK_QUEUE, CHECK_SKIP, "postqueue is not installed");
                return;
        }
        config = path_under_root(d->o.root, postfix_dir);
        if (!config) {
                free(program);
                check_set(d, CHECK_QUEUE, CHECK_FAIL, "out of memory");
                return;
        }
        {
                char opt_c[] = "-c", opt_j[] = "-j";
                char *argv[] = {program, opt_c, config, opt_j, NULL};

                status = run_capture(argv, &out);
        }
        if (status != 0) {
                const char *text = out.len ? (const char *)out.data : "";
                size_t len = out.len;

                while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
                        len--;
                check_set(d, CHECK_QUEUE, CHECK_WARN, "postqueue -j failed (%s): %.*s",
                          status < 0 ? strerror(-status) : "exit status",
                          (int)(len > 300 ? 300 : len), text);
                check_fix(
                        d, CHECK_QUEUE,
                        "Postfix must be running to list its queue: systemctl restart postfix.service");
        } else {
                const char *p = out.data ? (const char *)out.data : "", *end = p + out.len;

                while (p < end) {
                        const char *nl = memchr(p, '\n', (size_t)(end - p));
                        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

                        if (*p == '{') /* an empty line starts with its LF */
                                postqueue_line(&q, now, p, len);
                        p += len + 1;
                }
                queue_verdict(d, &q, now, "Postfix", "postcat -vq", "postqueue -f");
        }
        buf_done(&out);
        free(config);
        free(program);
}

void check_queue(struct doctor *d)
{
        if (strcmp(settings_get(d->s.settings, SETTING_MODE), "postfix") == 0)
                check_postfix_queue(d);
        else
                check_builtin_queue(d);
}
