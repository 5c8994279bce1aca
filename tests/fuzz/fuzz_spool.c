/* SPDX-License-Identifier: MIT */
/*
 * fuzz_spool - the spool's readers on arbitrary bytes: the input is written as a queue file
 * (named after its own "id" record when that is a queue id, so real spool files parse) and
 * read with spool_read(), then written as a state file and read with spool_state_load().
 * A queue file that parses must be self-consistent: sizes add up to the file's, the END
 * record carries the body's CRC, the envelope holds what the format allows. A state that
 * loads must survive spool_state_save() and load again the same. Errors other than -EBADMSG
 * (and -ENOMEM) are bugs. Checked with abort(), not assert(): release builds define NDEBUG.
 * One temporary spool serves the whole run and is removed at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "fuzz.h"
#include "spool.h"

#define FUZZ_DEFAULT_ID "0123456789AB"

static struct spool *fuzz_spool;
static char fuzz_dir[] = "/tmp/fuzz_spool.XXXXXX";

static void remove_spool(void)
{
        static const char *const subdirs[] = {"incoming", "queue", "state", "corrupt"};
        char path[256];

        fuzz_spool = spool_close(fuzz_spool);
        for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
                (void)snprintf(path, sizeof path, "%s/%s", fuzz_dir, subdirs[i]);
                (void)rmdir(path);
        }
        (void)rmdir(fuzz_dir);
}

static struct spool *get_spool(void)
{
        if (fuzz_spool)
                return fuzz_spool;
        if (!mkdtemp(fuzz_dir) || spool_open(fuzz_dir, &fuzz_spool) < 0)
                abort();
        if (atexit(remove_spool) != 0)
                abort();
        return fuzz_spool;
}

/* choose_id - the value of the second line "id X" when X is a queue id, else a fixed one */
static void choose_id(const uint8_t *data, size_t size, char id[static SPOOL_QUEUE_ID_MAX + 1])
{
        const uint8_t *nl = memchr(data, '\n', size), *start, *end;
        size_t n;

        (void)snprintf(id, SPOOL_QUEUE_ID_MAX + 1, "%s", FUZZ_DEFAULT_ID);
        if (!nl || (size_t)(nl + 1 - data) + 3 > size || memcmp(nl + 1, "id ", 3) != 0)
                return;
        start = nl + 4;
        end = memchr(start, '\n', size - (size_t)(start - data));
        if (!end)
                return;
        n = (size_t)(end - start);
        if (n < 10 || n > SPOOL_QUEUE_ID_MAX)
                return;
        for (size_t i = 0; i < n; i++)
                if (!strchr("0123456789ABCDEF", start[i]) || start[i] == '\0')
                        return;
        memcpy(id, start, n);
        id[n] = '\0';
}

static void write_as(const char *sub, const char *id, const uint8_t *data, size_t size)
{
        char path[256];
        int fd;

        (void)snprintf(path, sizeof path, "%s/%s/%s", fuzz_dir, sub, id);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                abort();
        if (size > 0 && write(fd, data, size) != (ssize_t)size)
                abort();
        close(fd);
}

static void remove_as(const char *sub, const char *id)
{
        char path[256];

        (void)snprintf(path, sizeof path, "%s/%s/%s", fuzz_dir, sub, id);
        (void)unlink(path);
}

static bool clean_text(const char *s, bool spaces)
{
        for (; *s; s++)
                if ((unsigned char)*s < ' ' || *s == 0x7f || (!spaces && *s == ' '))
                        return false;
        return true;
}

/* check_queue_file - what a parsed queue file promises */
static void check_queue_file(struct spool *s, const char *id, const uint8_t *data, size_t size,
                             const struct spool_envelope *env, uint64_t offset, uint64_t body)
{
        char trailer[64];
        size_t trailer_len;
        unsigned char *back;
        int fd;

        if (strcmp(env->queue_id, id) != 0)
                abort();
        if (env->n_recipients == 0 || env->n_recipients > SPOOL_RECIPIENTS_MAX)
                abort();
        if (!env->sender || !clean_text(env->sender, false))
                abort();
        for (size_t i = 0; i < env->n_recipients; i++)
                if (!env->recipients[i][0] || !clean_text(env->recipients[i], false))
                        abort();
        if (!memchr(env->client, '\0', sizeof env->client) || !clean_text(env->client, true))
                abort();
        if (offset > size || body > size - offset)
                abort();
        (void)snprintf(trailer, sizeof trailer, "\nEND %" PRIu64 " %08lx\n", body,
                       crc32(0L, data + offset, (uInt)body));
        trailer_len = strlen(trailer);
        if (size - offset - body != trailer_len ||
            memcmp(data + offset + body, trailer, trailer_len) != 0)
                abort();
        /* the body as the delivery agent reads it */
        if (spool_open_body(s, id, &fd) < 0)
                abort();
        back = malloc(body + 1);
        if (back && pread(fd, back, body, (off_t)offset) != (ssize_t)body)
                abort();
        if (back && memcmp(back, data + offset, body) != 0)
                abort();
        free(back);
        close(fd);
}

/* rcpt_done_length - the number of [01] after "\nrcpt_done ", so real state files load */
static size_t rcpt_done_length(const uint8_t *data, size_t size)
{
        static const char key[] = "\nrcpt_done ";
        const uint8_t *p = memmem(data, size, key, strlen(key));
        size_t n = 0;

        if (!p)
                return 1;
        p += strlen(key);
        while (p + n < data + size && (p[n] == '0' || p[n] == '1'))
                n++;
        return n > SPOOL_RECIPIENTS_MAX ? SPOOL_RECIPIENTS_MAX : n;
}

static void check_state(struct spool *s, const char *id, size_t n)
{
        struct spool_state st, again;
        int r = spool_state_load(s, id, n, &st);

        if (r == -EBADMSG || r == -ENOMEM)
                return;
        if (r < 0 || st.n_rcpt != n)
                abort();
        if (!memchr(st.last_reply, '\0', sizeof st.last_reply) || !clean_text(st.last_reply, true))
                abort();
        /* what loads, saves and loads the same */
        r = spool_state_save(s, id, &st);
        if (r == -ENOMEM) {
                spool_state_done(&st);
                return;
        }
        if (r < 0 || spool_state_load(s, id, n, &again) < 0)
                abort();
        if (again.attempts != st.attempts || again.next_attempt != st.next_attempt ||
            again.last_attempt != st.last_attempt || again.hold != st.hold ||
            strcmp(again.last_reply, st.last_reply) != 0 || again.n_rcpt != st.n_rcpt ||
            (n > 0 && memcmp(again.rcpt_done, st.rcpt_done, n * sizeof(bool)) != 0))
                abort();
        spool_state_done(&again);
        spool_state_done(&st);
        /* n 0: the schedule without the recipients */
        if (spool_state_load(s, id, 0, &again) < 0)
                abort();
        spool_state_done(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct spool_envelope env = {0};
        char id[SPOOL_QUEUE_ID_MAX + 1];
        uint64_t offset = 0, body = 0;
        struct spool *s;
        size_t n;
        int r;

        if (size > (size_t)FUZZ_INPUT_MAX)
                return 0;
        s = get_spool();
        choose_id(data, size, id);

        write_as("queue", id, data, size);
        r = spool_read(s, id, &env, &offset, &body);
        if (r == 0) {
                check_queue_file(s, id, data, size, &env, offset, body);
                n = env.n_recipients;
                spool_envelope_done(&env);
        } else if (r == -EBADMSG || r == -ENOMEM) {
                n = rcpt_done_length(data, size);
        } else {
                abort();
        }
        remove_as("queue", id);

        write_as("state", id, data, size);
        check_state(s, id, n);
        remove_as("state", id);
        return 0;
}
