/* SPDX-License-Identifier: MIT */
/*
 * spool_tool - test-only driver of relay/spool.c, to fill a spool the way the relay does
 * (tests/integration/test_queue_cmd.sh; also the source of the fuzz seed corpus):
 *   spool_tool DIR create [--count N] [--sender ADDR] [--rcpt ADDR]... [--body TEXT]
 *                         [--body-file FILE] [--arrival SECONDS] [--client TEXT] [--8bit]
 *                         [--smtputf8] [--batch N] [--deferred-until SECONDS]
 *                                                       prints the new queue ids, one a line
 *       --batch N commits N messages as one group (as the relay's group commit does; bench/
 *       fills a queue of 100 000 this way); --deferred-until gives each message a state of
 *       one failed attempt, next attempt at SECONDS (a deferred queue).
 *   spool_tool DIR state ID [--attempts N] [--next-attempt SECONDS] [--last-attempt SECONDS]
 *                           [--last-reply TEXT] [--hold] [--done INDEX]...
 *   spool_tool DIR show-state ID    "attempts=N next_attempt=N hold=0|1 rcpt_done=01..."
 * --sender '' is the null sender; without --rcpt the recipient is user@example.com.
 * Exit 0, 1 when the spool refuses, 2 for bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fileio.h"
#include "spool.h"

#define TOOL_BODY_MAX ((size_t)64 * 1024 * 1024)

static int usage(void)
{
        (void)fprintf(stderr, "usage: spool_tool DIR create|state ID|show-state ID [options]\n");
        return 2;
}

static long long number(const char *s)
{
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || v < 0) {
                (void)fprintf(stderr, "spool_tool: not a number: '%s'\n", s);
                exit(2);
        }
        return v;
}

/* save_deferred - the state of a message that failed once and waits until `until` */
static int save_deferred(struct spool *s, const char *id, size_t n_rcpt, time_t until)
{
        struct spool_state st;
        int r = spool_state_load(s, id, n_rcpt, &st);

        if (r < 0)
                return r;
        st.attempts = 1;
        st.last_attempt = time(NULL);
        st.next_attempt = until;
        (void)snprintf(st.last_reply, sizeof st.last_reply, "451 4.3.0 deferred by spool_tool");
        r = spool_state_save(s, id, &st);
        spool_state_done(&st);
        return r;
}

/* create_group - queue n copies of one message, committed as one group (spool_commit), and
 * print their ids; with deferred_until >= 0 each gets a deferred state. 0 or -errno. */
static int create_group(struct spool *s, const struct spool_envelope *env, const char *body,
                        size_t body_len, size_t n, long long deferred_until)
{
        struct spool_writer **w = calloc(n, sizeof *w);
        int *results = calloc(n, sizeof *results);
        size_t made = 0;
        int r = w && results ? 0 : -ENOMEM;

        for (; r >= 0 && made < n; made++) {
                r = spool_writer_new(s, env, 0, &w[made]);
                if (r >= 0)
                        r = spool_writer_write(w[made], body, body_len);
                if (r >= 0)
                        r = spool_writer_finish(w[made]);
        }
        if (r >= 0)
                r = spool_commit(s, w, n, results);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                if (deferred_until >= 0)
                        r = save_deferred(s, spool_writer_id(w[i]), env->n_recipients,
                                          (time_t)deferred_until);
                if (r >= 0)
                        printf("%s\n", spool_writer_id(w[i]));
        }
        for (size_t i = 0; w && i < made; i++)
                spool_writer_free(w[i]);
        free(w);
        free(results);
        return r;
}

static int create(struct spool *s, int argc, char **argv)
{
        static const struct option options[] = {
                {"count", required_argument, NULL, 'n'},
                {"sender", required_argument, NULL, 's'},
                {"rcpt", required_argument, NULL, 'r'},
                {"body", required_argument, NULL, 'b'},
                {"body-file", required_argument, NULL, 'f'},
                {"arrival", required_argument, NULL, 'a'},
                {"client", required_argument, NULL, 'c'},
                {"8bit", no_argument, NULL, '8'},
                {"smtputf8", no_argument, NULL, 'u'},
                {"batch", required_argument, NULL, 'B'},
                {"deferred-until", required_argument, NULL, 'D'},
                {NULL, 0, NULL, 0},
        };
        static char default_sender[] = "app@example.com", default_rcpt[] = "user@example.com";
        static char default_body[] = "Subject: test\r\n\r\nHello from spool_tool.\r\n";
        struct spool_envelope env = {.sender = default_sender};
        char **rcpts = calloc(SPOOL_RECIPIENTS_MAX + 1, sizeof *rcpts), *body = default_body;
        char *loaded = NULL;
        size_t body_len = strlen(default_body), n_rcpts = 0;
        long long count = 1, batch = 1, deferred_until = -1;
        int c, r = 0;

        if (!rcpts)
                return 1;
        (void)snprintf(env.client, sizeof env.client, "localhost[127.0.0.1]");
        optind = 1;
        while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
                switch (c) {
                case 'n':
                        count = number(optarg);
                        break;
                case 's':
                        env.sender = optarg;
                        break;
                case 'r':
                        if (n_rcpts <= SPOOL_RECIPIENTS_MAX)
                                rcpts[n_rcpts++] = optarg;
                        break;
                case 'b':
                        body = optarg;
                        body_len = strlen(optarg);
                        break;
                case 'f':
                        free(loaded);
                        loaded = NULL;
                        r = read_file_bounded(optarg, TOOL_BODY_MAX, &loaded, &body_len);
                        if (r < 0) {
                                (void)fprintf(stderr, "spool_tool: %s: %s\n", optarg, strerror(-r));
                                free(rcpts);
                                return 1;
                        }
                        body = loaded;
                        break;
                case 'a':
                        env.arrival = (time_t)number(optarg);
                        break;
                case 'c':
                        (void)snprintf(env.client, sizeof env.client, "%s", optarg);
                        break;
                case '8':
                        env.body_8bit = true;
                        break;
                case 'u':
                        env.smtputf8 = true;
                        break;
                case 'B':
                        batch = number(optarg);
                        break;
                case 'D':
                        deferred_until = number(optarg);
                        break;
                default:
                        free(rcpts);
                        free(loaded);
                        return usage();
                }
        }
        if (n_rcpts == 0)
                rcpts[n_rcpts++] = default_rcpt;
        env.recipients = rcpts;
        env.n_recipients = n_rcpts;
        if (batch < 1 || batch > 10000)
                batch = 1;
        for (long long done = 0; done < count && r >= 0; done += batch) {
                size_t n = (size_t)(count - done < batch ? count - done : batch);

                r = create_group(s, &env, body, body_len, n, deferred_until);
        }
        free(rcpts);
        free(loaded);
        if (r < 0) {
                (void)fprintf(stderr, "spool_tool: cannot queue a message: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}

static int set_state(struct spool *s, const char *id, int argc, char **argv)
{
        static const struct option options[] = {
                {"attempts", required_argument, NULL, 'a'},
                {"next-attempt", required_argument, NULL, 'n'},
                {"last-attempt", required_argument, NULL, 'l'},
                {"last-reply", required_argument, NULL, 'r'},
                {"hold", no_argument, NULL, 'h'},
                {"done", required_argument, NULL, 'd'},
                {NULL, 0, NULL, 0},
        };
        struct spool_envelope env;
        struct spool_state st;
        long long index;
        int c, r;

        r = spool_read(s, id, &env, NULL, NULL);
        if (r < 0) {
                (void)fprintf(stderr, "spool_tool: %s: %s\n", id, strerror(-r));
                return 1;
        }
        r = spool_state_load(s, id, env.n_recipients, &st);
        if (r < 0) {
                (void)fprintf(stderr, "spool_tool: state of %s: %s\n", id, strerror(-r));
                spool_envelope_done(&env);
                return 1;
        }
        optind = 1;
        while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
                switch (c) {
                case 'a':
                        st.attempts = (unsigned)number(optarg);
                        break;
                case 'n':
                        st.next_attempt = (time_t)number(optarg);
                        break;
                case 'l':
                        st.last_attempt = (time_t)number(optarg);
                        break;
                case 'r':
                        (void)snprintf(st.last_reply, sizeof st.last_reply, "%s", optarg);
                        break;
                case 'h':
                        st.hold = true;
                        break;
                case 'd':
                        index = number(optarg);
                        if ((size_t)index < st.n_rcpt)
                                st.rcpt_done[index] = true;
                        break;
                default:
                        spool_state_done(&st);
                        spool_envelope_done(&env);
                        return usage();
                }
        }
        r = spool_state_save(s, id, &st);
        spool_state_done(&st);
        spool_envelope_done(&env);
        if (r < 0) {
                (void)fprintf(stderr, "spool_tool: cannot save the state of %s: %s\n", id,
                              strerror(-r));
                return 1;
        }
        return 0;
}

static int show_state(struct spool *s, const char *id)
{
        struct spool_state st;
        int r = spool_state_load(s, id, 0, &st);

        if (r < 0) {
                (void)fprintf(stderr, "spool_tool: state of %s: %s\n", id, strerror(-r));
                return 1;
        }
        printf("attempts=%u next_attempt=%lld last_attempt=%lld hold=%d last_reply=%s\n",
               st.attempts, (long long)st.next_attempt, (long long)st.last_attempt, st.hold ? 1 : 0,
               st.last_reply);
        spool_state_done(&st);
        return 0;
}

int main(int argc, char **argv)
{
        struct spool *s = NULL;
        int r;

        if (argc < 3)
                return usage();
        r = spool_open(argv[1], &s);
        if (r < 0) {
                (void)fprintf(stderr, "spool_tool: cannot open %s: %s\n", argv[1], strerror(-r));
                return 1;
        }
        if (strcmp(argv[2], "create") == 0)
                r = create(s, argc - 2, argv + 2);
        else if (strcmp(argv[2], "state") == 0 && argc >= 4)
                r = set_state(s, argv[3], argc - 3, argv + 3);
        else if (strcmp(argv[2], "show-state") == 0 && argc == 4)
                r = show_state(s, argv[3]);
        else
                r = usage();
        spool_close(s);
        return r;
}
