/* SPDX-License-Identifier: MIT */
/*
 * spool_tool - test-only driver of relay/spool.c, to fill a spool the way the relay does
 * (tests/integration/test_queue_cmd.sh; also the source of the fuzz seed corpus):
 *   spool_tool DIR create [--count N] [--sender ADDR] [--rcpt ADDR]... [--body TEXT]
 *                         [--body-file FILE] [--arrival SECONDS] [--client TEXT] [--8bit]
 *                         [--smtputf8]                  prints the new queue ids, one a line
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
                {NULL, 0, NULL, 0},
        };
        static char default_sender[] = "app@example.com", default_rcpt[] = "user@example.com";
        static char default_body[] = "Subject: test\r\n\r\nHello from spool_tool.\r\n";
        struct spool_envelope env = {.sender = default_sender};
        char **rcpts = calloc(SPOOL_RECIPIENTS_MAX + 1, sizeof *rcpts), *body = default_body;
        char *loaded = NULL;
        size_t body_len = strlen(default_body), n_rcpts = 0;
        long long count = 1;
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
        for (long long i = 0; i < count && r >= 0; i++) {
                struct spool_writer *w = NULL;
                int result = 0;

                r = spool_writer_new(s, &env, 0, &w);
                if (r >= 0)
                        r = spool_writer_write(w, body, body_len);
                if (r >= 0)
                        r = spool_writer_finish(w);
                if (r >= 0)
                        r = spool_commit(s, &w, 1, &result);
                if (r >= 0)
                        printf("%s\n", spool_writer_id(w));
                spool_writer_free(w);
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
