/* SPDX-License-Identifier: MIT */
/*
 * test_spool - the relay's queue on disk: what is written reads back the same (binary body,
 * flags, null sender, 1000 recipients), the format matches files built here by hand with
 * zlib's crc32 (data made without the code under test), size limits, group commits, clean-up
 * of incoming/ that spares receivers alive in this or another process, every kind of damaged
 * queue and state file refused with -EBADMSG, quarantine, and four threads writing,
 * committing, listing and removing at once.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "spool.h"

#define BIG_SIZE  ((size_t)64 * 1024)
#define HUGE_SIZE ((size_t)2 * 1024 * 1024)

static char tmpdir[] = "/tmp/test_spool.XXXXXX";

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static int group_setup(void **state)
{
        (void)state;
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
        (void)state;
        if (getenv("TEST_SPOOL_KEEP")) {
                print_message("kept %s\n", tmpdir);
                return 0;
        }
        return nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* open_fresh - a new spool in tmpdir/name */
static struct spool *open_fresh(const char *name)
{
        struct spool *s = NULL;
        char dir[256];

        (void)snprintf(dir, sizeof dir, "%s/%s", tmpdir, name);
        assert_int_equal(spool_open(dir, &s), 0);
        return s;
}

static char *path_of(struct spool *s, const char *sub, const char *name)
{
        char *p;

        assert_true(asprintf(&p, "%s/%s/%s", spool_dir(s), sub, name) > 0);
        return p;
}

static void write_whole(const char *path, const void *data, size_t len)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t)len);
        assert_int_equal(close(fd), 0);
}

static char *read_whole(const char *path, size_t *ret_len)
{
        struct stat st;
        char *data;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        data = malloc((size_t)st.st_size + 1);
        assert_non_null(data);
        assert_int_equal(read(fd, data, (size_t)st.st_size), st.st_size);
        data[st.st_size] = '\0';
        close(fd);
        *ret_len = (size_t)st.st_size;
        return data;
}

static size_t count_entries(struct spool *s, const char *sub)
{
        char dir[512];
        struct dirent *de;
        size_t n = 0;
        DIR *d;

        (void)snprintf(dir, sizeof dir, "%s/%s", spool_dir(s), sub);
        d = opendir(dir);
        assert_non_null(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

static bool exists(struct spool *s, const char *sub, const char *name)
{
        char *p = path_of(s, sub, name);
        struct stat st;
        bool r = lstat(p, &st) == 0;

        free(p);
        return r;
}

/* queue_one - write, finish and commit a message; its id in id */
static void queue_one(struct spool *s, const struct spool_envelope *env, const void *body,
                      size_t len, char id[static SPOOL_QUEUE_ID_MAX + 1])
{
        struct spool_writer *w = NULL;
        int result = -1;

        assert_int_equal(spool_writer_new(s, env, 0, &w), 0);
        assert_int_equal(spool_writer_write(w, body, len), 0);
        assert_int_equal(spool_writer_finish(w), 0);
        assert_int_equal(spool_commit(s, &w, 1, &result), 0);
        assert_int_equal(result, 0);
        (void)snprintf(id, SPOOL_QUEUE_ID_MAX + 1, "%s", spool_writer_id(w));
        spool_writer_free(w);
}

static char rcpt_alice[] = "alice@example.com", rcpt_bob[] = "bob@example.org",
            small_sender[] = "app@example.com", empty_sender[] = "";
static char *rcpt_one[] = {rcpt_alice, rcpt_bob};

static const struct spool_envelope small_env = {
        .sender = small_sender,
        .recipients = rcpt_one,
        .n_recipients = 2,
        .arrival = 1700000000,
        .client = "localhost[127.0.0.1]",
};

static const char small_body[] = "Subject: hi\r\n\r\nHello\r\nworld\r\n";

static bool id_looks_right(const char *id)
{
        size_t n = strlen(id);

        return n >= 10 && n <= 12 && strspn(id, "0123456789ABCDEF") == n;
}

static void test_roundtrip(void **state)
{
        struct spool *s = open_fresh("roundtrip");
        char **rcpts = calloc(SPOOL_RECIPIENTS_MAX, sizeof *rcpts);
        size_t body_len = 200000, chunks[] = {1, 100, 70000, 65536, 0}, done = 0, file_len;
        unsigned char *body = malloc(body_len), *back = malloc(body_len);
        struct spool_envelope env = {
                .sender = empty_sender,
                .recipients = rcpts,
                .n_recipients = SPOOL_RECIPIENTS_MAX,
                .arrival = 1700000000,
                .client = "localhost[127.0.0.1]",
                .body_8bit = true,
        };
        struct spool_envelope got;
        struct spool_writer *w = NULL;
        uint64_t offset = 0, size = 0;
        char id[SPOOL_QUEUE_ID_MAX + 1], *path, *file, *want;
        struct stat st;
        int result, fd;
        size_t want_len = 0;
        FILE *mem;

        (void)state;
        assert_non_null(rcpts);
        assert_non_null(body);
        assert_non_null(back);
        for (size_t i = 0; i < SPOOL_RECIPIENTS_MAX; i++)
                assert_true(asprintf(&rcpts[i], "rcpt%zu@example.com", i) > 0);
        for (size_t i = 0; i < body_len; i++)
                body[i] = (unsigned char)(i * 7); /* NULs, CRs, LFs and 8-bit bytes */

        assert_int_equal(spool_writer_new(s, &env, body_len, &w), 0);
        assert_true(id_looks_right(spool_writer_id(w)));
        for (size_t i = 0; done < body_len; i++) {
                size_t n = chunks[i] ? chunks[i] : body_len - done;

                assert_int_equal(spool_writer_write(w, body + done, n), 0);
                done += n;
        }
        assert_int_equal(spool_writer_size(w), body_len);
        assert_int_equal(spool_writer_finish(w), 0);
        (void)snprintf(id, sizeof id, "%s", spool_writer_id(w));
        assert_true(exists(s, "incoming", id));
        assert_false(exists(s, "queue", id));
        assert_int_equal(spool_commit(s, &w, 1, &result), 0);
        assert_int_equal(result, 0);
        spool_writer_free(w);
        assert_false(exists(s, "incoming", id));

        /* modes: 0600 files, 0700 directories */
        path = path_of(s, "queue", id);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(stat(spool_dir(s), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        free(path);
        path = path_of(s, "corrupt", "");
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        free(path);

        assert_int_equal(spool_read(s, id, &got, &offset, &size), 0);
        assert_string_equal(got.queue_id, id);
        assert_string_equal(got.sender, "");
        assert_int_equal(got.n_recipients, SPOOL_RECIPIENTS_MAX);
        for (size_t i = 0; i < SPOOL_RECIPIENTS_MAX; i++)
                assert_string_equal(got.recipients[i], rcpts[i]);
        assert_int_equal(got.arrival, 1700000000);
        assert_string_equal(got.client, "localhost[127.0.0.1]");
        assert_true(got.body_8bit);
        assert_false(got.smtputf8);
        assert_int_equal(size, body_len);
        spool_envelope_done(&got);

        assert_int_equal(spool_open_body(s, id, &fd), 0);
        assert_int_equal(pread(fd, back, body_len, (off_t)offset), (ssize_t)body_len);
        assert_memory_equal(back, body, body_len);
        close(fd);

        /* The bytes on disk, built here without the spool code. */
        path = path_of(s, "queue", id);
        file = read_whole(path, &file_len);
        free(path);
        mem = open_memstream(&want, &want_len);
        assert_non_null(mem);
        (void)fprintf(mem,
                      "MAILINIT-QUEUE 1\nid %s\narrival 1700000000\nclient localhost[127.0.0.1]\n"
                      "flags 8bit\nsender \n",
                      id);
        for (size_t i = 0; i < SPOOL_RECIPIENTS_MAX; i++)
                (void)fprintf(mem, "rcpt %s\n", rcpts[i]);
        (void)fprintf(mem, "body %020zu\n", body_len);
        assert_int_equal(fclose(mem), 0);
        assert_int_equal(offset, want_len);
        assert_memory_equal(file, want, want_len);
        free(want);
        assert_true(asprintf(&want, "\nEND %zu %08lx\n", body_len,
                             crc32(0L, body, (uInt)body_len)) > 0);
        assert_int_equal(file_len, offset + body_len + strlen(want));
        assert_memory_equal(file + offset + body_len, want, strlen(want));
        free(want);
        free(file);

        for (size_t i = 0; i < SPOOL_RECIPIENTS_MAX; i++)
                free(rcpts[i]);
        free(rcpts);
        free(body);
        free(back);
        spool_close(s);
}

static void test_roundtrip_utf8_empty_body(void **state)
{
        char rcpt[] = "jos\xc3\xa9@example.com", sender[] = "\xc3\xa9t\xc3\xa9@example.com";
        char *rcpts[] = {rcpt};
        struct spool_envelope env = {
                .sender = sender,
                .recipients = rcpts,
                .n_recipients = 1,
                .client = "ip-10-0-0-1[10.0.0.1]",
                .smtputf8 = true,
        };
        struct spool_envelope got;
        struct spool *s = open_fresh("utf8");
        char id[SPOOL_QUEUE_ID_MAX + 1];
        uint64_t offset, size = 99;
        time_t before = time(NULL);

        (void)state;
        queue_one(s, &env, "", 0, id);
        assert_int_equal(spool_read(s, id, &got, &offset, &size), 0);
        assert_int_equal(size, 0);
        assert_string_equal(got.sender, env.sender);
        assert_string_equal(got.recipients[0], rcpts[0]);
        assert_true(got.smtputf8);
        assert_false(got.body_8bit);
        /* arrival 0: now */
        assert_true(got.arrival >= before && got.arrival <= time(NULL));
        spool_envelope_done(&got);
        spool_close(s);
}

static void test_queue_ids(void **state)
{
        struct spool *s = open_fresh("ids");
        struct spool_writer *w[300];

        (void)state;
        for (size_t i = 0; i < 300; i++) {
                assert_int_equal(spool_writer_new(s, &small_env, 0, &w[i]), 0);
                assert_true(id_looks_right(spool_writer_id(w[i])));
                for (size_t j = 0; j < i; j++)
                        assert_string_not_equal(spool_writer_id(w[i]), spool_writer_id(w[j]));
        }
        assert_int_equal(count_entries(s, "incoming"), 300);
        for (size_t i = 0; i < 300; i++)
                assert_null(spool_writer_free(w[i]));
        assert_int_equal(count_entries(s, "incoming"), 0);
        spool_close(s);
}

static void test_bad_envelope(void **state)
{
        struct spool *s = open_fresh("badenv");
        char spaced_addr[] = "a b@example.com", ctl_addr[] = "a\x01@example.com",
             x[] = "x@example.com";
        char *many[SPOOL_RECIPIENTS_MAX + 1], *spaced[] = {spaced_addr}, *empty[] = {empty_sender},
                                              *ctl[] = {ctl_addr};
        struct spool_envelope env;
        struct spool_writer *w = NULL;

        (void)state;
        for (size_t i = 0; i <= SPOOL_RECIPIENTS_MAX; i++)
                many[i] = x;
        env = small_env;
        env.sender = spaced_addr;
        assert_int_equal(spool_writer_new(s, &env, 0, &w), -EINVAL);
        env = small_env;
        env.sender = NULL;
        assert_int_equal(spool_writer_new(s, &env, 0, &w), -EINVAL);
        env = small_env;
        env.recipients = spaced;
        env.n_recipients = 1;
        assert_int_equal(spool_writer_new(s, &env, 0, &w), -EINVAL);
        env.recipients = empty;
        assert_int_equal(spool_writer_new(s, &env, 0, &w), -EINVAL);
        env.recipients = ctl;
        assert_int_equal(spool_writer_new(s, &env, 0, &w), -EINVAL);
        env.n_recipients = 0;
        assert_int_equal(spool_writer_new(s, &env, 0, &w), -EINVAL);
        env.recipients = many;
        env.n_recipients = SPOOL_RECIPIENTS_MAX + 1;
        assert_int_equal(spool_writer_new(s, &env, 0, &w), -EINVAL);
        env = small_env;
        (void)snprintf(env.client, sizeof env.client, "host\nrcpt evil@example.com");
        assert_int_equal(spool_writer_new(s, &env, 0, &w), -EINVAL);
        assert_null(w);
        assert_int_equal(count_entries(s, "incoming"), 0);
        spool_close(s);
}

static void test_efbig(void **state)
{
        struct spool *s = open_fresh("efbig");
        char block[600];
        struct spool_writer *w = NULL;
        int result;

        (void)state;
        memset(block, 'x', sizeof block);
        assert_int_equal(spool_writer_new(s, &small_env, 1000, &w), 0);
        assert_int_equal(spool_writer_write(w, block, 600), 0);
        assert_int_equal(spool_writer_write(w, block, 400), 0); /* exactly the limit */
        assert_int_equal(spool_writer_size(w), 1000);
        assert_int_equal(spool_writer_write(w, block, 1), -EFBIG);
        assert_int_equal(spool_writer_write(w, block, 1), -EFBIG);
        assert_int_equal(spool_writer_finish(w), -EFBIG);
        assert_int_equal(spool_commit(s, &w, 1, &result), -EINVAL);
        assert_int_equal(result, -EINVAL);
        spool_writer_free(w);
        assert_int_equal(count_entries(s, "incoming"), 0);
        assert_int_equal(count_entries(s, "queue"), 0);

        /* one write larger than the limit; the header does not count */
        assert_int_equal(spool_writer_new(s, &small_env, 10, &w), 0);
        assert_int_equal(spool_writer_write(w, block, 11), -EFBIG);
        spool_writer_free(w);
        assert_int_equal(spool_writer_new(s, &small_env, 1, &w), 0);
        assert_int_equal(spool_writer_write(w, block, 1), 0);
        assert_int_equal(spool_writer_finish(w), 0);
        spool_writer_free(w);
        assert_int_equal(count_entries(s, "incoming"), 0);
        spool_close(s);
}

static void test_commit_many(void **state)
{
        struct spool *s = open_fresh("commit");
        struct spool_writer *w[101];
        int results[101];
        char body[3000], **ids;
        size_t n;

        (void)state;
        memset(body, 'b', sizeof body);
        for (size_t i = 0; i < 100; i++) {
                assert_int_equal(spool_writer_new(s, &small_env, 0, &w[i]), 0);
                assert_int_equal(spool_writer_write(w[i], body, 1 + i * 29), 0);
                assert_int_equal(spool_writer_finish(w[i]), 0);
        }
        assert_int_equal(spool_commit(s, w, 100, results), 0);
        for (size_t i = 0; i < 100; i++)
                assert_int_equal(results[i], 0);
        assert_int_equal(count_entries(s, "incoming"), 0);
        assert_int_equal(spool_list(s, &ids, &n), 0);
        assert_int_equal(n, 100);
        for (size_t i = 0; i < n; i++) {
                struct spool_envelope env;
                uint64_t size;

                assert_int_equal(spool_read(s, ids[i], &env, NULL, &size), 0);
                spool_envelope_done(&env);
                free(ids[i]);
        }
        free(ids);
        /* committing again, or an unfinished writer, is refused per writer */
        assert_int_equal(spool_writer_new(s, &small_env, 0, &w[100]), 0);
        assert_int_equal(spool_commit(s, w + 99, 2, results), -EINVAL);
        assert_int_equal(results[0], -EINVAL);
        assert_int_equal(results[1], -EINVAL);
        assert_int_equal(spool_writer_finish(w[100]), 0);
        assert_int_equal(spool_commit(s, w + 99, 2, results), -EINVAL);
        assert_int_equal(results[0], -EINVAL);
        assert_int_equal(results[1], 0);
        for (size_t i = 0; i <= 100; i++)
                spool_writer_free(w[i]);
        /* the commits stay: freeing a committed writer removes nothing */
        assert_int_equal(count_entries(s, "queue"), 101);
        assert_int_equal(spool_commit(s, NULL, 0, NULL), 0);
        spool_close(s);
}

static void test_uncommitted_removed(void **state)
{
        struct spool *s = open_fresh("uncommitted");
        struct spool_writer *w = NULL;
        char id[SPOOL_QUEUE_ID_MAX + 1];

        (void)state;
        assert_int_equal(spool_writer_new(s, &small_env, 0, &w), 0);
        assert_int_equal(spool_writer_write(w, small_body, strlen(small_body)), 0);
        assert_int_equal(count_entries(s, "incoming"), 1);
        assert_null(spool_writer_free(w));
        assert_int_equal(count_entries(s, "incoming"), 0);

        assert_int_equal(spool_writer_new(s, &small_env, 0, &w), 0);
        (void)snprintf(id, sizeof id, "%s", spool_writer_id(w));
        assert_int_equal(spool_writer_finish(w), 0);
        assert_true(exists(s, "incoming", id));
        spool_writer_free(w);
        assert_false(exists(s, "incoming", id));
        assert_int_equal(count_entries(s, "queue"), 0);
        assert_null(spool_writer_free(NULL));
        assert_null(spool_close(NULL));
        spool_close(s);
}

static void test_leftovers_removed_on_open(void **state)
{
        struct spool *s = open_fresh("leftovers"), *again = NULL;
        struct spool_writer *live = NULL;
        struct spool_state st = {0};
        char *p, id[SPOOL_QUEUE_ID_MAX + 1], live_id[SPOOL_QUEUE_ID_MAX + 1];
        int result;

        (void)state;
        queue_one(s, &small_env, small_body, strlen(small_body), id);
        assert_int_equal(spool_state_load(s, id, 2, &st), 0);
        st.attempts = 1;
        assert_int_equal(spool_state_save(s, id, &st), 0);
        spool_state_done(&st);
        /* a receiver still writing, in this process */
        assert_int_equal(spool_writer_new(s, &small_env, 0, &live), 0);
        (void)snprintf(live_id, sizeof live_id, "%s", spool_writer_id(live));
        /* left-overs of a crash */
        p = path_of(s, "incoming", "0000000000AA");
        write_whole(p, "MAILINIT-QUEUE 1\nid 0000000000AA\n", 33);
        free(p);
        p = path_of(s, "incoming", "junk");
        write_whole(p, "x", 1);
        free(p);
        p = path_of(s, "state", "00000000BEEF");
        write_whole(p, "orphan", 6);
        free(p);
        assert_int_equal(count_entries(s, "incoming"), 3);

        assert_int_equal(spool_open(spool_dir(s), &again), 0);
        assert_int_equal(count_entries(s, "incoming"), 1);
        assert_true(exists(s, "incoming", live_id));
        assert_false(exists(s, "state", "00000000BEEF"));
        assert_true(exists(s, "state", id));
        assert_true(exists(s, "queue", id));
        spool_close(again);

        assert_int_equal(spool_writer_finish(live), 0);
        assert_int_equal(spool_commit(s, &live, 1, &result), 0);
        spool_writer_free(live);
        assert_true(exists(s, "queue", live_id));
        spool_close(s);
}

/* A receiver in another process: its file stays while it lives, and goes once it is killed. */
static void test_leftover_of_killed_process(void **state)
{
        struct spool *s = open_fresh("killed"), *again = NULL;
        char id[SPOOL_QUEUE_ID_MAX + 1] = "";
        int pipefd[2], status;
        pid_t child;

        (void)state;
        assert_int_equal(pipe(pipefd), 0);
        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                struct spool_writer *w = NULL;

                close(pipefd[0]);
                if (spool_writer_new(s, &small_env, 0, &w) < 0 ||
                    spool_writer_write(w, small_body, strlen(small_body)) < 0)
                        _exit(1);
                if (write(pipefd[1], spool_writer_id(w), strlen(spool_writer_id(w))) < 0)
                        _exit(1);
                for (;;)
                        pause();
        }
        close(pipefd[1]);
        assert_true(read(pipefd[0], id, SPOOL_QUEUE_ID_MAX) >= 10);
        close(pipefd[0]);
        assert_true(exists(s, "incoming", id));
        assert_int_equal(spool_open(spool_dir(s), &again), 0);
        spool_close(again);
        assert_true(exists(s, "incoming", id));
        assert_int_equal(kill(child, SIGKILL), 0);
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_int_equal(spool_open(spool_dir(s), &again), 0);
        spool_close(again);
        assert_false(exists(s, "incoming", id));
        spool_close(s);
}

/* build_queue_file - the documented format, by hand: n recipients, body, zlib crc32 */
static char *build_queue_file(const char *id, size_t n, const char *body, size_t *ret_len)
{
        size_t body_len = strlen(body), len = 0;
        char *data;
        FILE *mem = open_memstream(&data, &len);

        assert_non_null(mem);
        (void)fprintf(mem,
                      "MAILINIT-QUEUE 1\nid %s\narrival 1700000000\nclient localhost[127.0.0.1]\n"
                      "flags\nsender app@example.com\n",
                      id);
        for (size_t i = 0; i < n; i++)
                (void)fprintf(mem, "rcpt r%zu@example.com\n", i);
        (void)fprintf(mem, "body %020zu\n%s\nEND %zu %08lx\n", body_len, body, body_len,
                      crc32(0L, (const Bytef *)body, (uInt)body_len));
        assert_int_equal(fclose(mem), 0);
        *ret_len = len;
        return data;
}

/* replace - data with the first occurrence of from replaced by to (caller frees) */
static char *replace(const char *data, size_t len, const char *from, const char *to,
                     size_t *ret_len)
{
        const char *at = memmem(data, len, from, strlen(from));
        size_t head, out_len = 0;
        char *out = NULL;
        FILE *mem;

        assert_non_null(at);
        head = (size_t)(at - data);
        mem = open_memstream(&out, &out_len);
        assert_non_null(mem);
        assert_int_equal(fwrite(data, 1, head, mem), head);
        assert_int_equal(fwrite(to, 1, strlen(to), mem), strlen(to));
        assert_int_equal(fwrite(at + strlen(from), 1, len - head - strlen(from), mem),
                         len - head - strlen(from));
        assert_int_equal(fclose(mem), 0);
        *ret_len = out_len;
        return out;
}

static int read_as(struct spool *s, const char *id, const void *data, size_t len)
{
        struct spool_envelope env = {0};
        uint64_t offset = 0, size = 0;
        char *p = path_of(s, "queue", id);
        int r;

        write_whole(p, data, len);
        free(p);
        r = spool_read(s, id, &env, &offset, &size);
        if (r == 0)
                spool_envelope_done(&env);
        return r;
}

static void test_malformed(void **state)
{
        static const char id[] = "0123456789AB";
        static const struct {
                const char *name, *from, *to;
        } mutations[] = {
                {"END size too large", "END 29 ", "END 30 "},
                {"END size too small", "END 29 ", "END 28 "},
                {"body size too large", "body 00000000000000000029", "body 00000000000000000030"},
                {"body size too small", "body 00000000000000000029", "body 00000000000000000028"},
                {"body size short", "body 00000000000000000029", "body 0000000000000000029"},
                {"body size not digits", "body 00000000000000000029", "body 0000000000000000002x"},
                {"unknown record", "flags\n", "flags\nx-priority high\n"},
                {"misplaced record", "flags\n", "flags\nrcpt early@example.com\n"},
                {"body byte changed", "Hello", "Jello"},
                {"space in recipient", "rcpt r0@example.com", "rcpt r0 @example.com"},
                {"control in sender", "sender app@", "sender a\x01p@"},
                {"tab in sender", "sender app@", "sender a\tp@"},
                {"CR in header", "flags\n", "flags\r\n"},
                {"leading zero arrival", "arrival 1", "arrival 01"},
                {"negative arrival", "arrival 1", "arrival -1"},
                {"huge arrival", "arrival 1700000000", "arrival 99999999999999999999"},
                {"unknown flag", "flags\n", "flags 7bit\n"},
                {"duplicate flag", "flags\n", "flags 8bit 8bit\n"},
                {"flags trailing space", "flags\n", "flags \n"},
                {"wrong magic", "MAILINIT-QUEUE 1", "MAILINIT-QUEUE 2"},
                {"id mismatch", "id 0123456789AB", "id 0123456789AC"},
                {"sender without space", "sender app@example.com", "sender"},
                {"END lower", "\nEND", "\nend"},
        };
        struct spool *s = open_fresh("malformed");
        const char *body = "Subject: x\r\n\r\nHello, world.\r\n",
                   *foreign = "From: someone@example.com\n\nNot a queue file.\n";
        char *good, *bad, *p;
        size_t good_len, bad_len;

        (void)state;
        assert_int_equal(strlen(body), 29);
        good = build_queue_file(id, 2, body, &good_len);
        assert_int_equal(read_as(s, id, good, good_len), 0);

        /* every truncation */
        for (size_t len = 0; len < good_len; len++)
                if (read_as(s, id, good, len) != -EBADMSG)
                        fail_msg("truncated at %zu of %zu: got %d, want -EBADMSG", len, good_len,
                                 read_as(s, id, good, len));
        /* trailing garbage */
        bad = malloc(good_len + 1);
        memcpy(bad, good, good_len);
        bad[good_len] = '\n';
        assert_int_equal(read_as(s, id, bad, good_len + 1), -EBADMSG);
        free(bad);

        for (size_t i = 0; i < sizeof mutations / sizeof mutations[0]; i++) {
                int r;

                bad = replace(good, good_len, mutations[i].from, mutations[i].to, &bad_len);
                r = read_as(s, id, bad, bad_len);
                if (r != -EBADMSG)
                        fail_msg("%s: got %d, want -EBADMSG", mutations[i].name, r);
                free(bad);
        }
        /* a NUL byte in a header line, a wrong CRC digit */
        bad = malloc(good_len);
        memcpy(bad, good, good_len);
        bad[strlen("MAILINIT-QUEUE 1\nid 0123456789AB\narrival 1700000000\nclient local")] = '\0';
        assert_int_equal(read_as(s, id, bad, good_len), -EBADMSG);
        memcpy(bad, good, good_len);
        bad[good_len - 2] = bad[good_len - 2] == '0' ? '1' : '0';
        assert_int_equal(read_as(s, id, bad, good_len), -EBADMSG);
        free(bad);

        /* 1000 recipients built by hand parse; 1001 do not; none do not either */
        free(good);
        good = build_queue_file(id, SPOOL_RECIPIENTS_MAX, body, &good_len);
        assert_int_equal(read_as(s, id, good, good_len), 0);
        free(good);
        good = build_queue_file(id, SPOOL_RECIPIENTS_MAX + 1, body, &good_len);
        assert_int_equal(read_as(s, id, good, good_len), -EBADMSG);
        free(good);
        good = build_queue_file(id, 0, body, &good_len);
        assert_int_equal(read_as(s, id, good, good_len), -EBADMSG);
        free(good);

        /* foreign files */
        assert_int_equal(read_as(s, id, "", 0), -EBADMSG);
        assert_int_equal(read_as(s, id, foreign, strlen(foreign)), -EBADMSG);
        bad = calloc(1, HUGE_SIZE);
        assert_int_equal(read_as(s, id, bad, HUGE_SIZE), -EBADMSG);
        free(bad);
        p = path_of(s, "queue", id);
        assert_int_equal(unlink(p), 0);
        assert_int_equal(symlink("/etc/passwd", p), 0);
        {
                struct spool_envelope env;

                assert_int_equal(spool_read(s, id, &env, NULL, NULL), -EBADMSG);
                assert_int_equal(unlink(p), 0);
                assert_int_equal(mkdir(p, 0700), 0);
                assert_int_equal(spool_read(s, id, &env, NULL, NULL), -EBADMSG);
                assert_int_equal(rmdir(p), 0);
                assert_int_equal(spool_read(s, id, &env, NULL, NULL), -ENOENT);
                assert_int_equal(spool_read(s, "../state/x", &env, NULL, NULL), -EINVAL);
                assert_int_equal(spool_read(s, "0123456789ab", &env, NULL, NULL), -EINVAL);
        }
        free(p);
        spool_close(s);
}

static void test_list(void **state)
{
        struct spool *s = open_fresh("list");
        char a[SPOOL_QUEUE_ID_MAX + 1], b[SPOOL_QUEUE_ID_MAX + 1], c[SPOOL_QUEUE_ID_MAX + 1];
        const char *names[] = {"README", ".hidden", "0123", "0123456789abc"};
        struct timespec times[2] = {{.tv_sec = 1700000000}, {.tv_sec = 1700000000}};
        char **ids, *p;
        size_t n;

        (void)state;
        assert_int_equal(spool_list(s, &ids, &n), 0);
        assert_int_equal(n, 0);
        free(ids);
        queue_one(s, &small_env, small_body, strlen(small_body), a);
        queue_one(s, &small_env, small_body, strlen(small_body), b);
        queue_one(s, &small_env, small_body, strlen(small_body), c);
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
                p = path_of(s, "queue", names[i]);
                write_whole(p, "x", 1);
                free(p);
        }
        /* arrival order (mtime) first: c oldest, then a and b at the same time, by id */
        p = path_of(s, "queue", c);
        times[0].tv_sec = times[1].tv_sec = 1600000000;
        assert_int_equal(utimensat(AT_FDCWD, p, times, 0), 0);
        free(p);
        times[0].tv_sec = times[1].tv_sec = 1700000000;
        p = path_of(s, "queue", a);
        assert_int_equal(utimensat(AT_FDCWD, p, times, 0), 0);
        free(p);
        p = path_of(s, "queue", b);
        assert_int_equal(utimensat(AT_FDCWD, p, times, 0), 0);
        free(p);

        assert_int_equal(spool_list(s, &ids, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(ids[0], c);
        assert_string_equal(ids[1], strcmp(a, b) < 0 ? a : b);
        assert_string_equal(ids[2], strcmp(a, b) < 0 ? b : a);
        for (size_t i = 0; i < n; i++)
                free(ids[i]);
        free(ids);
        spool_close(s);
}

static void test_state_roundtrip(void **state)
{
        struct spool *s = open_fresh("state");
        struct spool_state st = {0}, got = {0};
        char id[SPOOL_QUEUE_ID_MAX + 1], *p, *text;
        bool done[] = {true, false};
        struct stat sb;
        size_t len;

        (void)state;
        queue_one(s, &small_env, small_body, strlen(small_body), id);
        /* missing: fresh */
        assert_int_equal(spool_state_load(s, id, 2, &st), 0);
        assert_int_equal(st.attempts, 0);
        assert_int_equal(st.next_attempt, 0);
        assert_false(st.hold);
        assert_string_equal(st.last_reply, "");
        assert_int_equal(st.n_rcpt, 2);
        assert_false(st.rcpt_done[0]);
        assert_false(st.rcpt_done[1]);
        spool_state_done(&st);

        st = (struct spool_state){
                .attempts = 3,
                .next_attempt = 1700000300,
                .last_attempt = 1700000000,
                .hold = true,
                .rcpt_done = done,
                .n_rcpt = 2,
        };
        (void)snprintf(st.last_reply, sizeof st.last_reply,
                       "451 4.3.0 Try again\r\nlater \xc3\xa9");
        assert_int_equal(spool_state_save(s, id, &st), 0);
        assert_int_equal(spool_state_load(s, id, 2, &got), 0);
        assert_int_equal(got.attempts, 3);
        assert_int_equal(got.next_attempt, 1700000300);
        assert_int_equal(got.last_attempt, 1700000000);
        assert_true(got.hold);
        /* control characters of remote replies are replaced */
        assert_string_equal(got.last_reply, "451 4.3.0 Try again??later \xc3\xa9");
        assert_true(got.rcpt_done[0]);
        assert_false(got.rcpt_done[1]);
        spool_state_done(&got);
        /* n_recipients 0: the schedule only */
        assert_int_equal(spool_state_load(s, id, 0, &got), 0);
        assert_int_equal(got.attempts, 3);
        assert_int_equal(got.n_rcpt, 0);
        spool_state_done(&got);

        p = path_of(s, "state", id);
        assert_int_equal(stat(p, &sb), 0);
        assert_int_equal(sb.st_mode & 07777, 0600);
        text = read_whole(p, &len);
        assert_string_equal(text, "MAILINIT-STATE 1\nattempts 3\nnext_attempt 1700000300\n"
                                  "last_attempt 1700000000\nhold 1\n"
                                  "last_reply 451 4.3.0 Try again??later \xc3\xa9\n"
                                  "rcpt_done 10\nEND\n");
        free(text);
        free(p);
        /* a longest reply is cut, not refused */
        memset(st.last_reply, 'r', sizeof st.last_reply);
        assert_int_equal(spool_state_save(s, id, &st), 0);
        assert_int_equal(spool_state_load(s, id, 2, &got), 0);
        assert_int_equal(strlen(got.last_reply), SPOOL_REPLY_MAX - 1);
        spool_state_done(&got);
        /* nothing left behind but the state file */
        assert_int_equal(count_entries(s, "state"), 1);
        assert_int_equal(spool_state_load(s, "bad/id", 2, &got), -EINVAL);
        assert_int_equal(spool_state_save(s, "bad/id", &st), -EINVAL);
        assert_int_equal(spool_state_load(s, id, SPOOL_RECIPIENTS_MAX + 1, &got), -EINVAL);
        spool_close(s);
}

static void test_state_hostile(void **state)
{
        static const char good[] = "MAILINIT-STATE 1\nattempts 1\nnext_attempt 5\n"
                                   "last_attempt 4\nhold 0\nlast_reply 451 x\nrcpt_done 01\nEND\n";
        static const struct {
                const char *name, *from, *to;
        } mutations[] = {
                {"wrong magic", "STATE 1", "STATE 2"},
                {"missing END", "END\n", ""},
                {"END without newline", "END\n", "END"},
                {"after END", "END\n", "END\nattempts 2\n"},
                {"negative attempts", "attempts 1", "attempts -1"},
                {"leading zero", "attempts 1", "attempts 01"},
                {"attempts too large", "attempts 1", "attempts 4294967296"},
                {"attempts overflow", "attempts 1", "attempts 99999999999999999999999"},
                {"hold 2", "hold 0", "hold 2"},
                {"hold word", "hold 0", "hold yes"},
                {"control in reply", "451 x", "451\x01x"},
                {"rcpt_done too short", "rcpt_done 01", "rcpt_done 0"},
                {"rcpt_done too long", "rcpt_done 01", "rcpt_done 011"},
                {"rcpt_done not bits", "rcpt_done 01", "rcpt_done 02"},
                {"reordered", "attempts 1\nnext_attempt 5", "next_attempt 5\nattempts 1"},
                {"unknown record", "hold 0\n", "hold 0\nx 1\n"},
                {"CRLF", "hold 0\n", "hold 0\r\n"},
                {"space after number", "attempts 1", "attempts 1 "},
                {"no space", "attempts 1", "attempts1"},
        };
        struct spool *s = open_fresh("hostile");
        struct spool_state st;
        char id[SPOOL_QUEUE_ID_MAX + 1], *p, *bad, *big;
        size_t bad_len;

        (void)state;
        queue_one(s, &small_env, small_body, strlen(small_body), id);
        p = path_of(s, "state", id);
        write_whole(p, good, strlen(good));
        assert_int_equal(spool_state_load(s, id, 2, &st), 0);
        assert_int_equal(st.attempts, 1);
        assert_true(st.rcpt_done[1]);
        spool_state_done(&st);
        for (size_t i = 0; i < sizeof mutations / sizeof mutations[0]; i++) {
                int r;

                bad = replace(good, strlen(good), mutations[i].from, mutations[i].to, &bad_len);
                write_whole(p, bad, bad_len);
                free(bad);
                r = spool_state_load(s, id, 2, &st);
                if (r != -EBADMSG)
                        fail_msg("%s: got %d, want -EBADMSG", mutations[i].name, r);
        }
        for (size_t len = 0; len < strlen(good); len++) {
                write_whole(p, good, len);
                assert_int_equal(spool_state_load(s, id, 2, &st), -EBADMSG);
        }
        /* a reply of SPOOL_REPLY_MAX characters cannot come from spool_state_save */
        big = malloc(BIG_SIZE);
        memset(big, 'r', SPOOL_REPLY_MAX);
        big[SPOOL_REPLY_MAX] = '\0';
        bad = replace(good, strlen(good), "451 x", big, &bad_len);
        write_whole(p, bad, bad_len);
        assert_int_equal(spool_state_load(s, id, 2, &st), -EBADMSG);
        free(bad);
        memset(big, 'r', BIG_SIZE);
        /* oversized and binary files */
        write_whole(p, big, BIG_SIZE);
        assert_int_equal(spool_state_load(s, id, 2, &st), -EBADMSG);
        memcpy(big, good, strlen(good));
        big[10] = '\0';
        write_whole(p, big, strlen(good));
        assert_int_equal(spool_state_load(s, id, 2, &st), -EBADMSG);
        free(big);
        /* not a regular file */
        assert_int_equal(unlink(p), 0);
        assert_int_equal(symlink("/etc/passwd", p), 0);
        assert_int_equal(spool_state_load(s, id, 2, &st), -EBADMSG);
        assert_int_equal(unlink(p), 0);
        assert_int_equal(mkfifo(p, 0600), 0);
        assert_int_equal(spool_state_load(s, id, 2, &st), -EBADMSG);
        assert_int_equal(unlink(p), 0);
        free(p);
        spool_close(s);
}

static void test_remove_and_quarantine(void **state)
{
        struct spool *s = open_fresh("quarantine");
        struct spool_state st = {0};
        struct spool_envelope env;
        char id[SPOOL_QUEUE_ID_MAX + 1], *p;

        (void)state;
        queue_one(s, &small_env, small_body, strlen(small_body), id);
        assert_int_equal(spool_state_load(s, id, 2, &st), 0);
        st.attempts = 2;
        assert_int_equal(spool_state_save(s, id, &st), 0);
        spool_state_done(&st);
        assert_int_equal(spool_remove(s, id), 0);
        assert_false(exists(s, "queue", id));
        assert_false(exists(s, "state", id));
        assert_int_equal(spool_remove(s, id), -ENOENT);
        assert_int_equal(spool_remove(s, "nope"), -EINVAL);

        queue_one(s, &small_env, small_body, strlen(small_body), id);
        assert_int_equal(spool_state_load(s, id, 2, &st), 0);
        assert_int_equal(spool_state_save(s, id, &st), 0);
        spool_state_done(&st);
        p = path_of(s, "queue", id);
        assert_int_equal(truncate(p, 40), 0);
        free(p);
        assert_int_equal(spool_read(s, id, &env, NULL, NULL), -EBADMSG);
        assert_int_equal(spool_quarantine(s, id), 0);
        assert_true(exists(s, "corrupt", id));
        assert_false(exists(s, "queue", id));
        assert_false(exists(s, "state", id));
        assert_int_equal(spool_read(s, id, &env, NULL, NULL), -ENOENT);
        assert_int_equal(spool_quarantine(s, id), -ENOENT);
        spool_close(s);
}

/* Four threads: two receivers, one committer, one delivery agent listing/reading/removing. */
#define CONCURRENT_PER_WRITER 200
#define CONCURRENT_BATCH      32

struct shared {
        struct spool *spool;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        struct spool_writer *pending[2 * CONCURRENT_PER_WRITER];
        size_t n_pending;
        unsigned writers_running;
        bool commits_done;
        unsigned committed, removed, errors;
};

static void *writer_thread(void *arg)
{
        struct shared *sh = arg;
        char body[2048];

        memset(body, 'w', sizeof body);
        for (size_t i = 0; i < CONCURRENT_PER_WRITER; i++) {
                struct spool_writer *w = NULL;
                int r = spool_writer_new(sh->spool, &small_env, 0, &w);

                if (r >= 0)
                        r = spool_writer_write(w, body, 1 + (i * 13) % sizeof body);
                if (r >= 0)
                        r = spool_writer_finish(w);
                pthread_mutex_lock(&sh->lock);
                if (r < 0) {
                        sh->errors++;
                        spool_writer_free(w);
                } else {
                        sh->pending[sh->n_pending++] = w;
                        pthread_cond_broadcast(&sh->cond);
                }
                pthread_mutex_unlock(&sh->lock);
        }
        pthread_mutex_lock(&sh->lock);
        sh->writers_running--;
        pthread_cond_broadcast(&sh->cond);
        pthread_mutex_unlock(&sh->lock);
        return NULL;
}

static void *commit_thread(void *arg)
{
        struct shared *sh = arg;

        for (;;) {
                struct spool_writer *batch[CONCURRENT_BATCH];
                int results[CONCURRENT_BATCH];
                size_t n = 0;

                pthread_mutex_lock(&sh->lock);
                while (sh->n_pending == 0 && sh->writers_running > 0)
                        pthread_cond_wait(&sh->cond, &sh->lock);
                if (sh->n_pending == 0) {
                        sh->commits_done = true;
                        pthread_mutex_unlock(&sh->lock);
                        return NULL;
                }
                while (n < CONCURRENT_BATCH && sh->n_pending > 0)
                        batch[n++] = sh->pending[--sh->n_pending];
                pthread_mutex_unlock(&sh->lock);
                (void)spool_commit(sh->spool, batch, n, results);
                pthread_mutex_lock(&sh->lock);
                for (size_t i = 0; i < n; i++) {
                        if (results[i] == 0)
                                sh->committed++;
                        else
                                sh->errors++;
                        spool_writer_free(batch[i]);
                }
                pthread_mutex_unlock(&sh->lock);
        }
}

static void *delivery_thread(void *arg)
{
        struct shared *sh = arg;

        for (;;) {
                bool last;
                char **ids = NULL;
                size_t n = 0;

                pthread_mutex_lock(&sh->lock);
                last = sh->commits_done;
                pthread_mutex_unlock(&sh->lock);
                if (spool_list(sh->spool, &ids, &n) < 0) {
                        pthread_mutex_lock(&sh->lock);
                        sh->errors++;
                        pthread_mutex_unlock(&sh->lock);
                        return NULL;
                }
                for (size_t i = 0; i < n; i++) {
                        struct spool_envelope env;
                        struct spool_state st;
                        uint64_t size;
                        int r = spool_read(sh->spool, ids[i], &env, NULL, &size);

                        if (r == 0) {
                                r = spool_state_load(sh->spool, ids[i], env.n_recipients, &st);
                                if (r == 0) {
                                        st.attempts++;
                                        r = spool_state_save(sh->spool, ids[i], &st);
                                        spool_state_done(&st);
                                }
                                if (r == 0)
                                        r = spool_remove(sh->spool, ids[i]);
                                spool_envelope_done(&env);
                        }
                        pthread_mutex_lock(&sh->lock);
                        if (r == 0)
                                sh->removed++;
                        else
                                sh->errors++;
                        pthread_mutex_unlock(&sh->lock);
                        free(ids[i]);
                }
                free(ids);
                if (last && n == 0)
                        return NULL;
        }
}

static void test_concurrent(void **state)
{
        struct shared sh = {.writers_running = 2};
        pthread_t t[4];

        (void)state;
        sh.spool = open_fresh("concurrent");
        pthread_mutex_init(&sh.lock, NULL);
        pthread_cond_init(&sh.cond, NULL);
        assert_int_equal(pthread_create(&t[0], NULL, writer_thread, &sh), 0);
        assert_int_equal(pthread_create(&t[1], NULL, writer_thread, &sh), 0);
        assert_int_equal(pthread_create(&t[2], NULL, commit_thread, &sh), 0);
        assert_int_equal(pthread_create(&t[3], NULL, delivery_thread, &sh), 0);
        for (size_t i = 0; i < 4; i++)
                assert_int_equal(pthread_join(t[i], NULL), 0);
        print_message("committed %u, removed %u, errors %u\n", sh.committed, sh.removed, sh.errors);
        assert_int_equal(sh.errors, 0);
        assert_int_equal(sh.committed, 2 * CONCURRENT_PER_WRITER);
        assert_int_equal(sh.removed, 2 * CONCURRENT_PER_WRITER);
        assert_int_equal(count_entries(sh.spool, "incoming"), 0);
        assert_int_equal(count_entries(sh.spool, "queue"), 0);
        assert_int_equal(count_entries(sh.spool, "state"), 0);
        pthread_cond_destroy(&sh.cond);
        pthread_mutex_destroy(&sh.lock);
        spool_close(sh.spool);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_roundtrip),
                cmocka_unit_test(test_roundtrip_utf8_empty_body),
                cmocka_unit_test(test_queue_ids),
                cmocka_unit_test(test_bad_envelope),
                cmocka_unit_test(test_efbig),
                cmocka_unit_test(test_commit_many),
                cmocka_unit_test(test_uncommitted_removed),
                cmocka_unit_test(test_leftovers_removed_on_open),
                cmocka_unit_test(test_leftover_of_killed_process),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_list),
                cmocka_unit_test(test_state_roundtrip),
                cmocka_unit_test(test_state_hostile),
                cmocka_unit_test(test_remove_and_quarantine),
                cmocka_unit_test(test_concurrent),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
