/* SPDX-License-Identifier: MIT */
/*
 * postfix_tools - fork/exec of postconf and postmap.
 *
 * The tools are looked up in PATH, so tests can hide them. SECURITY: the child's
 * environment is built from scratch (PATH, LANG=C): the parent's
 * environment may hold AWS_SECRET_ACCESS_KEY or AWS_SESSION_TOKEN, and nothing secret is
 * ever on a command line (postmap reads the password from the 0600 file). Descriptors are
 * O_CLOEXEC throughout, so the child inherits only stdin (/dev/null), stdout and stderr.
 */
#include "postfix_tools.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TOOL_TIMEOUT_MS 30000

#define TOOL_DEFAULT_PATH "/usr/sbin:/usr/bin:/sbin:/bin"

/* find_tool - absolute path of a Postfix command in $PATH (systemd gives services one with
 * /usr/sbin), or NULL */
static char *find_tool(const char *name)
{
        const char *path = getenv("PATH");

        if (!path || !*path)
                path = TOOL_DEFAULT_PATH;
        while (*path) {
                size_t n = strcspn(path, ":");
                char *p;

                if (n > 0 && path[0] == '/') {
                        if (asprintf(&p, "%.*s/%s", (int)n, path, name) < 0)
                                return NULL;
                        if (access(p, X_OK) == 0)
                                return p;
                        free(p);
                }
                path += n;
                if (*path == ':')
                        path++;
        }
        return NULL;
}

/* read_with_deadline - collect fd's output until EOF or the deadline */
static void read_with_deadline(int fd, char *out, size_t out_size, size_t *len, int timeout_ms)
{
        struct timespec start, now;

        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                struct pollfd p = {fd, POLLIN, 0};
                long elapsed;
                ssize_t n;
                char chunk[512];

                clock_gettime(CLOCK_MONOTONIC, &now);
                elapsed = (now.tv_sec - start.tv_sec) * 1000 +
                          (now.tv_nsec - start.tv_nsec) / 1000000;
                if (elapsed >= timeout_ms || poll(&p, 1, (int)(timeout_ms - elapsed)) <= 0)
                        return;
                n = read(fd, chunk, sizeof chunk);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return;
                if (*len + 1 < out_size) {
                        size_t take =
                                (size_t)n < out_size - 1 - *len ? (size_t)n : out_size - 1 - *len;

                        memcpy(out + *len, chunk, take);
                        *len += take;
                        out[*len] = '\0';
                }
        }
}

/* run_tool - run argv[0] (a name) with argv; stdout into out (may be NULL), stderr into why */
static int run_tool(const char *const argv[], char *out, size_t out_size, char *why,
                    size_t why_size)
{
        static const char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", NULL};
        char err_text[POSTFIX_TOOL_OUTPUT_MAX] = "", out_text[POSTFIX_TOOL_OUTPUT_MAX] = "";
        int out_pipe[2], err_pipe[2], status;
        size_t out_len = 0, err_len = 0;
        char *path;
        pid_t pid;

        path = find_tool(argv[0]);
        if (!path) {
                (void)snprintf(why, why_size,
                               "%s is not installed (not found in PATH): is Postfix installed?",
                               argv[0]);
                return -ENOENT;
        }
        if (pipe2(out_pipe, O_CLOEXEC) < 0) {
                free(path);
                return -errno;
        }
        if (pipe2(err_pipe, O_CLOEXEC) < 0) {
                int r = -errno;

                close(out_pipe[0]);
                close(out_pipe[1]);
                free(path);
                return r;
        }
        pid = fork();
        if (pid < 0) {
                int r = -errno;

                close(out_pipe[0]);
                close(out_pipe[1]);
                close(err_pipe[0]);
                close(err_pipe[1]);
                free(path);
                return r;
        }
        if (pid == 0) {
                int devnull = open("/dev/null", O_RDONLY);

                if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 ||
                    dup2(out_pipe[1], STDOUT_FILENO) < 0 || dup2(err_pipe[1], STDERR_FILENO) < 0)
                        _exit(127);
                /* execve's prototype predates const; it does not modify the strings. */
                execve(path, (char *const *)(uintptr_t)argv, (char *const *)(uintptr_t)envp);
                _exit(127);
        }
        free(path);
        close(out_pipe[1]);
        close(err_pipe[1]);
        read_with_deadline(out_pipe[0], out_text, sizeof out_text, &out_len, TOOL_TIMEOUT_MS);
        read_with_deadline(err_pipe[0], err_text, sizeof err_text, &err_len, 1000);
        close(out_pipe[0]);
        close(err_pipe[0]);
        if (waitpid(pid, &status, WNOHANG) == 0) {
                /* Still running after its output closed or the deadline: stop it. */
                struct timespec t = {0, 100 * 1000 * 1000};

                nanosleep(&t, NULL);
                if (waitpid(pid, &status, WNOHANG) == 0) {
                        (void)kill(pid, SIGKILL);
                        (void)waitpid(pid, &status, 0);
                        (void)snprintf(why, why_size, "%s did not finish within %d s", argv[0],
                                       TOOL_TIMEOUT_MS / 1000);
                        return -ETIMEDOUT;
                }
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                err_text[strcspn(err_text, "\n")] = '\0';
                (void)snprintf(why, why_size, "%s failed%s%s", argv[0], err_text[0] ? ": " : "",
                               err_text);
                return WIFEXITED(status) && WEXITSTATUS(status) == 127 ? -ENOENT : -EIO;
        }
        if (out)
                (void)snprintf(out, out_size, "%s", out_text);
        return 0;
}

int postfix_default_database_type(const char *config_dir, char *out, size_t out_size, char *why,
                                  size_t why_size)
{
        const char *const argv[] = {"postconf", "-c", config_dir, "-h", "default_database_type",
                                    NULL};
        int r;

        r = run_tool(argv, out, out_size, why, why_size);
        if (r < 0)
                return r;
        out[strcspn(out, " \t\r\n")] = '\0';
        if (!out[0]) {
                (void)snprintf(why, why_size, "postconf printed no default_database_type");
                return -EIO;
        }
        return 0;
}

int postfix_postmap(const char *config_dir, const char *type, const char *source, char *why,
                    size_t why_size)
{
        char *map;
        int r;

        if (asprintf(&map, "%s:%s", type, source) < 0)
                return -ENOMEM;
        {
                const char *const argv[] = {"postmap", "-c", config_dir, map, NULL};

                r = run_tool(argv, NULL, 0, why, why_size);
        }
        free(map);
        return r;
}

const char *postfix_table_suffix(const char *type)
{
        if (strcmp(type, "hash") == 0 || strcmp(type, "btree") == 0)
                return ".db";
        if (strcmp(type, "lmdb") == 0)
                return ".lmdb";
        if (strcmp(type, "cdb") == 0)
                return ".cdb";
        return NULL;
}
