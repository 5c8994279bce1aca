/* SPDX-License-Identifier: MIT */
/*
 * spool - the built-in relay's durable queue: incoming/ (messages being received), queue/
 * (committed), state/ (delivery state), corrupt/ (quarantined), all under spool_dir, 0700,
 * files 0600, every descriptor O_CLOEXEC.
 *
 * Queue file (text header, message, END record; see spool.h):
 *   MAILINIT-QUEUE 1 / id ID / arrival SECONDS / client TEXT / flags [8bit] [smtputf8] /
 *   sender ADDRESS / rcpt ADDRESS (1..SPOOL_RECIPIENTS_MAX) / body SIZE, then SIZE bytes, then
 *   "\nEND SIZE CRC32\n" (decimal size, 8 lower-case hex digits of zlib's crc32 of the body).
 * The body size is not known when the header is written, so "body" holds 20 zero-padded digits
 * that spool_writer_finish() patches in place. Records come in exactly this order; numbers
 * are canonical decimals (the body record excepted); anything else is -EBADMSG.
 * State file: MAILINIT-STATE 1 / attempts N / next_attempt N / last_attempt N / hold 0|1 /
 * last_reply TEXT / rcpt_done [01]{n} / END, replaced with rename(2), never fsynced.
 *
 * Concurrency: a writer in incoming/ holds flock(LOCK_EX) on its file; spool_open() removes
 * only the incoming files nobody holds, so `mailinit queue` may open the spool while the relay
 * runs. Queue ids come from one mutex-protected counter per struct spool; O_EXCL in incoming/
 * and RENAME_NOREPLACE into queue/ keep them unique across processes.
 * SECURITY: queue and state files are parsed as hostile input (bounded lines, bounded record
 * counts, no control characters); names are checked to be queue ids before any *at() call,
 * and symbolic links are never followed.
 */
#include "spool.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <zlib.h>

#include "fileio.h"

#define SPOOL_MAGIC          "MAILINIT-QUEUE 1"
#define SPOOL_STATE_MAGIC    "MAILINIT-STATE 1"
#define SPOOL_BUFFER_SIZE    ((size_t)64 * 1024)
#define SPOOL_ADDRESS_MAX    512 /* octets; twice RFC 5321's 256-octet path (4.5.3.1.3) */
#define SPOOL_LINE_MAX       (SPOOL_ADDRESS_MAX + 64)
#define SPOOL_BODY_DIGITS    20 /* UINT64_MAX has 20 decimal digits */
#define SPOOL_ID_MIN         10
#define SPOOL_ID_ATTEMPTS    64
#define SPOOL_STATE_FILE_MAX (SPOOL_RECIPIENTS_MAX + SPOOL_REPLY_MAX + 256)
#define SPOOL_STALE_TMP_SEC  600
/* From this many writers on, one syncfs(2) beats one fdatasync(2) per file: measured on ext4
 * (virtio disk, Linux 6.x) at 0.8 ms against 2.2 ms for 4 files, 2.7 ms against 31 ms for
 * 100, and still no slower with 20 MB of unrelated dirty data on the file system; for 1 to 3
 * files the two were within noise, and syncfs also waits for other programs' data. */
#ifndef SPOOL_SYNCFS_MIN /* -DSPOOL_SYNCFS_MIN=... to benchmark */
#        define SPOOL_SYNCFS_MIN 4
#endif

enum subdir {
        SUBDIR_INCOMING,
        SUBDIR_QUEUE,
        SUBDIR_STATE,
        SUBDIR_CORRUPT,
        SUBDIR_MAX,
};

static const char *const subdir_name[SUBDIR_MAX] = {
        [SUBDIR_INCOMING] = "incoming",
        [SUBDIR_QUEUE] = "queue",
        [SUBDIR_STATE] = "state",
        [SUBDIR_CORRUPT] = "corrupt",
};

struct spool {
        char *dir;
        int dir_fd;
        int sub_fd[SUBDIR_MAX];
        bool chown_new; /* running as root in a spool owned by another user: give files to it */
        uid_t owner_uid;
        gid_t owner_gid;
        bool use_syncfs;
        pthread_mutex_t lock; /* protects the counters below */
        uint32_t id_counter;
        uint64_t tmp_counter;
};

enum writer_state {
        WRITER_WRITING,
        WRITER_FINISHED,
        WRITER_COMMITTED,
        WRITER_FAILED,
        WRITER_STATE_MAX,
};

struct spool_writer {
        struct spool *spool; /* borrowed: the spool outlives its writers */
        char id[SPOOL_QUEUE_ID_MAX + 1];
        int fd;
        enum writer_state state;
        int error; /* why it is WRITER_FAILED */
        unsigned char *buf;
        size_t buf_len;
        uint64_t written;     /* bytes handed to write(2) */
        uint64_t size_offset; /* file offset of the body record's digits */
        uint64_t body_size;
        uint64_t max_size; /* 0: no limit */
        uLong crc;
};

/* writer_set_state - the one place a writer changes state; a failure keeps its first error */
static int writer_set_state(struct spool_writer *w, enum writer_state state, int error)
{
        assert(state < WRITER_STATE_MAX);
        if (state == WRITER_FAILED && w->state != WRITER_FAILED)
                w->error = error;
        w->state = state;
        return error;
}

/* spool_id_valid - 10 to SPOOL_QUEUE_ID_MAX upper-case hex digits: safe as a file name */
static bool spool_id_valid(const char *id)
{
        size_t n = id ? strlen(id) : 0;

        if (n < SPOOL_ID_MIN || n > SPOOL_QUEUE_ID_MAX)
                return false;
        return strspn(id, "0123456789ABCDEF") == n;
}

/* address_valid - no spaces or control characters, bounded; UTF-8 passes (SMTPUTF8) */
static bool address_valid(const char *a, size_t len, bool allow_empty)
{
        if (len == 0)
                return allow_empty;
        if (len > SPOOL_ADDRESS_MAX)
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)a[i];

                if (c <= ' ' || c == 0x7f)
                        return false;
        }
        return true;
}

/* text_valid - printable text (spaces and UTF-8 allowed, control characters not) */
static bool text_valid(const char *t, size_t len)
{
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)t[i];

                if (c < ' ' || c == 0x7f)
                        return false;
        }
        return true;
}

/* parse_decimal - canonical decimal (no sign, no leading zero but "0"), of len bytes */
static int parse_decimal(const char *s, size_t len, uint64_t *ret)
{
        uint64_t v = 0;

        if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
                return -EBADMSG;
        for (size_t i = 0; i < len; i++) {
                unsigned d;

                if (s[i] < '0' || s[i] > '9')
                        return -EBADMSG;
                d = (unsigned)(s[i] - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -EBADMSG;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

/* parse_time - a canonical decimal that fits time_t */
static int parse_time(const char *s, size_t len, time_t *ret)
{
        uint64_t v;
        time_t t;

        if (parse_decimal(s, len, &v) < 0 || v > INT64_MAX)
                return -EBADMSG;
        t = (time_t)v;
        if ((uint64_t)t != v)
                return -EBADMSG;
        *ret = t;
        return 0;
}

static int pwrite_all(int fd, const void *data, size_t len, uint64_t offset)
{
        const unsigned char *p = data;

        while (len > 0) {
                ssize_t n = pwrite(fd, p, len, (off_t)offset);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
                offset += (uint64_t)n;
        }
        return 0;
}

/* give_to_owner - files and directories root creates in a spool owned by the relay's user
 * must stay usable by the relay (`mailinit queue flush` run as root writes state files). */
static int give_to_owner(const struct spool *s, int fd)
{
        if (!s->chown_new)
                return 0;
        return fchown(fd, s->owner_uid, s->owner_gid) < 0 ? -errno : 0;
}

static bool kernel_syncfs_reports_errors(void)
{
        struct utsname u;
        unsigned major = 0, minor = 0;

        /* syncfs(2) returns writeback errors only since Linux 5.8 */
        if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
                return false;
        return major > 5 || (major == 5 && minor >= 8);
}

/* open_subdir - create (0700) and open one of the spool's directories */
static int open_subdir(struct spool *s, enum subdir sub)
{
        bool created = false;
        int fd;

        if (mkdirat(s->dir_fd, subdir_name[sub], 0700) == 0)
                created = true;
        else if (errno != EEXIST)
                return -errno;
        fd = openat(s->dir_fd, subdir_name[sub], O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        if (created) {
                int r = give_to_owner(s, fd);

                if (r < 0) {
                        close(fd);
                        return r;
                }
        }
        s->sub_fd[sub] = fd;
        return 0;
}

/* open_dir_stream - a private stream over one of the directories (threads may list at once) */
static DIR *open_dir_stream(const struct spool *s, enum subdir sub)
{
        DIR *d;
        int fd = openat(s->sub_fd[sub], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return NULL;
        d = fdopendir(fd);
        if (!d) {
                int e = errno;

                close(fd);
                errno = e;
        }
        return d;
}

/* clean_incoming - remove messages whose receiver is gone: a live writer holds its lock */
static int clean_incoming(struct spool *s)
{
        struct dirent *de;
        DIR *d = open_dir_stream(s, SUBDIR_INCOMING);
        int dfd;

        if (!d)
                return -errno;
        dfd = dirfd(d);
        while ((de = readdir(d))) {
                int fd;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                fd = openat(dfd, de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
                if (fd < 0) {
                        /* a symbolic link or a socket is nobody's message either */
                        if (errno == ELOOP || errno == ENXIO)
                                (void)unlinkat(dfd, de->d_name, 0);
                        continue;
                }
                if (flock(fd, LOCK_EX | LOCK_NB) == 0)
                        (void)unlinkat(dfd, de->d_name, 0);
                close(fd);
        }
        closedir(d);
        return 0;
}

/* clean_state - drop state files of messages that are gone, and stale temporary files */
static int clean_state(struct spool *s)
{
        struct dirent *de;
        DIR *d = open_dir_stream(s, SUBDIR_STATE);
        time_t now = time(NULL);
        int dfd;

        if (!d)
                return -errno;
        dfd = dirfd(d);
        while ((de = readdir(d))) {
                struct stat st;

                if (spool_id_valid(de->d_name)) {
                        if (fstatat(s->sub_fd[SUBDIR_QUEUE], de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
                                    0 &&
                            errno == ENOENT)
                                (void)unlinkat(dfd, de->d_name, 0);
                } else if (de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 &&
                           strcmp(de->d_name, "..") != 0) {
                        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                            S_ISREG(st.st_mode) && st.st_mtime + SPOOL_STALE_TMP_SEC < now)
                                (void)unlinkat(dfd, de->d_name, 0);
                }
        }
        closedir(d);
        return 0;
}

int spool_open(const char *dir, struct spool **ret)
{
        struct spool *s;
        uint32_t seed = 0;
        struct stat st;
        int r;

        assert(dir && ret);
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->dir_fd = -1;
        for (int i = 0; i < SUBDIR_MAX; i++)
                s->sub_fd[i] = -1;
        r = pthread_mutex_init(&s->lock, NULL);
        if (r != 0) {
                free(s);
                return -r;
        }
        s->dir = strdup(dir);
        if (!s->dir) {
                r = -ENOMEM;
                goto fail;
        }
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                r = -errno;
                goto fail;
        }
        s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dir_fd < 0 || fstat(s->dir_fd, &st) < 0) {
                r = -errno;
                goto fail;
        }
        s->owner_uid = st.st_uid;
        s->owner_gid = st.st_gid;
        s->chown_new = geteuid() == 0 && (st.st_uid != 0 || st.st_gid != 0);
        for (int i = 0; i < SUBDIR_MAX; i++) {
                r = open_subdir(s, (enum subdir)i);
                if (r < 0)
                        goto fail;
        }
        r = clean_incoming(s);
        if (r >= 0)
                r = clean_state(s);
        if (r < 0)
                goto fail;
        s->use_syncfs = kernel_syncfs_reports_errors();
        if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
                seed = (uint32_t)getpid() * 2654435761u ^ (uint32_t)time(NULL);
        s->id_counter = seed;
        *ret = s;
        return 0;
fail:
        spool_close(s);
        return r;
}

struct spool *spool_close(struct spool *s)
{
        if (!s)
                return NULL;
        for (int i = 0; i < SUBDIR_MAX; i++)
                if (s->sub_fd[i] >= 0)
                        close(s->sub_fd[i]);
        if (s->dir_fd >= 0)
                close(s->dir_fd);
        pthread_mutex_destroy(&s->lock);
        free(s->dir);
        free(s);
        return NULL;
}

const char *spool_dir(const struct spool *s)
{
        return s->dir;
}

/* next_id - Postfix-style: 7 hex digits of the time, 5 of a per-spool counter */
static void next_id(struct spool *s, char id[static SPOOL_QUEUE_ID_MAX + 1])
{
        uint32_t n;

        pthread_mutex_lock(&s->lock);
        n = s->id_counter++;
        pthread_mutex_unlock(&s->lock);
        (void)snprintf(id, SPOOL_QUEUE_ID_MAX + 1, "%07" PRIX32 "%05" PRIX32,
                       (uint32_t)time(NULL) & 0xfffffffu, n & 0xfffffu);
}

static bool name_exists(int dir_fd, const char *name)
{
        struct stat st;

        return fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
}

/* writer_create_file - reserve a fresh id: O_EXCL in incoming/, free everywhere else */
static int writer_create_file(struct spool_writer *w)
{
        struct spool *s = w->spool;
        int in = s->sub_fd[SUBDIR_INCOMING];

        for (int attempt = 0; attempt < SPOOL_ID_ATTEMPTS; attempt++) {
                struct stat st;
                int fd, r;

                next_id(s, w->id);
                fd = openat(in, w->id, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd < 0) {
                        if (errno == EEXIST)
                                continue;
                        return -errno;
                }
                /* The lock tells spool_open() in another process that this file is alive. A
                 * clean-up that got here first holds the lock (then removes the file) or has
                 * removed it already (st_nlink == 0): take another id. */
                if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                        r = -errno;
                        close(fd);
                        if (r == -EWOULDBLOCK)
                                continue;
                        (void)unlinkat(in, w->id, 0);
                        return r;
                }
                if (fstat(fd, &st) < 0) {
                        r = -errno;
                        (void)unlinkat(in, w->id, 0);
                        close(fd);
                        return r;
                }
                if (st.st_nlink == 0) {
                        close(fd);
                        continue;
                }
                if (name_exists(s->sub_fd[SUBDIR_QUEUE], w->id) ||
                    name_exists(s->sub_fd[SUBDIR_STATE], w->id) ||
                    name_exists(s->sub_fd[SUBDIR_CORRUPT], w->id)) {
                        (void)unlinkat(in, w->id, 0);
                        close(fd);
                        continue;
                }
                r = give_to_owner(s, fd);
                if (r < 0) {
                        (void)unlinkat(in, w->id, 0);
                        close(fd);
                        return r;
                }
                w->fd = fd;
                return 0;
        }
        return -EAGAIN;
}

static int writer_flush(struct spool_writer *w)
{
        int r;

        if (w->buf_len == 0)
                return 0;
        r = fd_write_all(w->fd, w->buf, w->buf_len);
        if (r < 0)
                return r;
        w->written += w->buf_len;
        w->buf_len = 0;
        return 0;
}

/* writer_put - buffered append of file bytes (header, body or trailer) */
static int writer_put(struct spool_writer *w, const void *data, size_t len)
{
        int r;

        if (len > SPOOL_BUFFER_SIZE - w->buf_len) {
                r = writer_flush(w);
                if (r < 0)
                        return r;
        }
        if (len >= SPOOL_BUFFER_SIZE) {
                r = fd_write_all(w->fd, data, len);
                if (r < 0)
                        return r;
                w->written += len;
                return 0;
        }
        memcpy(w->buf + w->buf_len, data, len);
        w->buf_len += len;
        return 0;
}

static int writer_put_record(struct spool_writer *w, const char *key, const char *value)
{
        int r = writer_put(w, key, strlen(key));

        if (r >= 0)
                r = writer_put(w, " ", 1);
        if (r >= 0)
                r = writer_put(w, value, strlen(value));
        if (r >= 0)
                r = writer_put(w, "\n", 1);
        return r;
}

static int writer_put_header(struct spool_writer *w, const struct spool_envelope *env,
                             time_t arrival)
{
        char line[64];
        int r;

        r = writer_put(w, SPOOL_MAGIC "\n", strlen(SPOOL_MAGIC) + 1);
        if (r >= 0)
                r = writer_put_record(w, "id", w->id);
        if (r >= 0) {
                (void)snprintf(line, sizeof line, "%" PRIu64, (uint64_t)arrival);
                r = writer_put_record(w, "arrival", line);
        }
        if (r >= 0)
                r = writer_put_record(w, "client", env->client);
        if (r >= 0) {
                (void)snprintf(line, sizeof line, "flags%s%s\n", env->body_8bit ? " 8bit" : "",
                               env->smtputf8 ? " smtputf8" : "");
                r = writer_put(w, line, strlen(line));
        }
        if (r >= 0)
                r = writer_put_record(w, "sender", env->sender);
        for (size_t i = 0; r >= 0 && i < env->n_recipients; i++)
                r = writer_put_record(w, "rcpt", env->recipients[i]);
        if (r >= 0) {
                w->size_offset = w->written + w->buf_len + strlen("body ");
                (void)snprintf(line, sizeof line, "body %0*d\n", SPOOL_BODY_DIGITS, 0);
                r = writer_put(w, line, strlen(line));
        }
        return r;
}

static int envelope_check(const struct spool_envelope *env)
{
        size_t client_len = strnlen(env->client, sizeof env->client);

        if (!env->sender || !address_valid(env->sender, strlen(env->sender), true))
                return -EINVAL;
        if (env->n_recipients == 0 || env->n_recipients > SPOOL_RECIPIENTS_MAX || !env->recipients)
                return -EINVAL;
        for (size_t i = 0; i < env->n_recipients; i++)
                if (!env->recipients[i] ||
                    !address_valid(env->recipients[i], strlen(env->recipients[i]), false))
                        return -EINVAL;
        if (client_len == sizeof env->client || !text_valid(env->client, client_len))
                return -EINVAL;
        if (env->arrival < 0)
                return -EINVAL;
        return 0;
}

int spool_writer_new(struct spool *s, const struct spool_envelope *env, uint64_t max_size,
                     struct spool_writer **ret)
{
        struct spool_writer *w;
        int r;

        assert(s && env && ret);
        r = envelope_check(env);
        if (r < 0)
                return r;
        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->spool = s;
        w->fd = -1;
        w->max_size = max_size;
        w->crc = crc32(0L, Z_NULL, 0);
        w->buf = malloc(SPOOL_BUFFER_SIZE);
        if (!w->buf) {
                r = -ENOMEM;
                goto fail;
        }
        r = writer_create_file(w);
        if (r < 0)
                goto fail;
        r = writer_put_header(w, env, env->arrival > 0 ? env->arrival : time(NULL));
        if (r < 0)
                goto fail;
        writer_set_state(w, WRITER_WRITING, 0);
        *ret = w;
        return 0;
fail:
        spool_writer_free(w);
        return r;
}

const char *spool_writer_id(const struct spool_writer *w)
{
        return w->id;
}

uint64_t spool_writer_size(const struct spool_writer *w)
{
        return w->body_size;
}

int spool_writer_write(struct spool_writer *w, const void *data, size_t len)
{
        int r;

        if (w->state == WRITER_FAILED)
                return w->error;
        if (w->state != WRITER_WRITING)
                return -EINVAL;
        if (w->max_size > 0 && (len > w->max_size || w->body_size > w->max_size - len))
                return writer_set_state(w, WRITER_FAILED, -EFBIG);
        r = writer_put(w, data, len);
        if (r < 0)
                return writer_set_state(w, WRITER_FAILED, r);
        w->crc = crc32_z(w->crc, data, len);
        w->body_size += len;
        return 0;
}

int spool_writer_finish(struct spool_writer *w)
{
        char line[64];
        int r;

        if (w->state == WRITER_FAILED)
                return w->error;
        if (w->state != WRITER_WRITING)
                return -EINVAL;
        (void)snprintf(line, sizeof line, "\nEND %" PRIu64 " %08lx\n", w->body_size,
                       (unsigned long)w->crc);
        r = writer_put(w, line, strlen(line));
        if (r >= 0)
                r = writer_flush(w);
        if (r >= 0) {
                (void)snprintf(line, sizeof line, "%0*" PRIu64, SPOOL_BODY_DIGITS, w->body_size);
                r = pwrite_all(w->fd, line, SPOOL_BODY_DIGITS, w->size_offset);
        }
        if (r < 0)
                return writer_set_state(w, WRITER_FAILED, r);
        writer_set_state(w, WRITER_FINISHED, 0);
        return 0;
}

/* move_into_queue - rename that never replaces a message already there */
static int move_into_queue(struct spool *s, const char *id)
{
        int in = s->sub_fd[SUBDIR_INCOMING], q = s->sub_fd[SUBDIR_QUEUE];

        if (renameat2(in, id, q, id, RENAME_NOREPLACE) == 0)
                return 0;
        if (errno != EINVAL && errno != ENOSYS)
                return -errno;
        /* a file system without RENAME_NOREPLACE: link(2) refuses to replace too */
        if (linkat(in, id, q, id, 0) < 0)
                return -errno;
        (void)unlinkat(in, id, 0);
        return 0;
}

int spool_commit(struct spool *s, struct spool_writer *const *w, size_t n, int *results)
{
        size_t n_ready = 0, n_renamed = 0;
        bool synced = false;
        int first = 0;

        assert(s && (n == 0 || (w && results)));
        for (size_t i = 0; i < n; i++) {
                results[i] =
                        w[i] && w[i]->spool == s && w[i]->state == WRITER_FINISHED ? 0 : -EINVAL;
                if (results[i] == 0)
                        n_ready++;
        }
        if (s->use_syncfs && n_ready >= SPOOL_SYNCFS_MIN) {
                /* One pass over the file system instead of one journal commit per file. On an
                 * error (maybe another file's), fall back to per-file syncs to know whose. */
                for (size_t i = 0; i < n; i++) {
                        if (results[i] == 0) {
                                synced = syncfs(w[i]->fd) == 0;
                                break;
                        }
                }
        }
        for (size_t i = 0; i < n; i++) {
                if (results[i] != 0)
                        continue;
                if (!synced && fdatasync(w[i]->fd) < 0) {
                        results[i] = -errno;
                        continue;
                }
                results[i] = move_into_queue(s, w[i]->id);
                if (results[i] == 0) {
                        results[i] = 1; /* renamed; durable after the directory fsync */
                        n_renamed++;
                }
        }
        if (n_renamed > 0) {
                int r = fsync(s->sub_fd[SUBDIR_QUEUE]) < 0 ? -errno : 0;

                for (size_t i = 0; i < n; i++) {
                        if (results[i] != 1)
                                continue;
                        if (r == 0) {
                                results[i] = 0;
                                writer_set_state(w[i], WRITER_COMMITTED, 0);
                        } else {
                                /* not acknowledged: take it back rather than deliver it */
                                (void)renameat(s->sub_fd[SUBDIR_QUEUE], w[i]->id,
                                               s->sub_fd[SUBDIR_INCOMING], w[i]->id);
                                results[i] = r;
                        }
                }
        }
        for (size_t i = 0; i < n && first == 0; i++)
                first = results[i];
        return first;
}

struct spool_writer *spool_writer_free(struct spool_writer *w)
{
        if (!w)
                return NULL;
        if (w->fd >= 0) {
                /* unlink while the lock is still held, then let it go */
                if (w->state != WRITER_COMMITTED)
                        (void)unlinkat(w->spool->sub_fd[SUBDIR_INCOMING], w->id, 0);
                close(w->fd);
        }
        free(w->buf);
        free(w);
        return NULL;
}

struct listed {
        char *id;
        struct timespec mtime;
};

static int listed_compare(const void *a, const void *b)
{
        const struct listed *x = a, *y = b;

        if (x->mtime.tv_sec != y->mtime.tv_sec)
                return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
        if (x->mtime.tv_nsec != y->mtime.tv_nsec)
                return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
        return strcmp(x->id, y->id);
}

int spool_list(struct spool *s, char ***ret_ids, size_t *ret_n)
{
        struct listed *items = NULL;
        size_t n = 0, cap = 0;
        char **ids = NULL;
        DIR *d;
        int r = 0;

        assert(s && ret_ids && ret_n);
        d = open_dir_stream(s, SUBDIR_QUEUE);
        if (!d)
                return -errno;
        for (;;) {
                struct dirent *de;
                struct stat st;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        r = -errno;
                        break;
                }
                /* other names (editor backups, temporary files) are not messages */
                if (!spool_id_valid(de->d_name))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT) /* delivered meanwhile */
                                continue;
                        r = -errno;
                        break;
                }
                if (n == cap) {
                        size_t new_cap = cap ? cap * 2 : 64;
                        struct listed *p = realloc(items, new_cap * sizeof *items);

                        if (!p) {
                                r = -ENOMEM;
                                break;
                        }
                        items = p;
                        cap = new_cap;
                }
                items[n].id = strdup(de->d_name);
                if (!items[n].id) {
                        r = -ENOMEM;
                        break;
                }
                items[n++].mtime = st.st_mtim;
        }
        closedir(d);
        if (r >= 0) {
                if (n > 1)
                        qsort(items, n, sizeof *items, listed_compare);
                ids = calloc(n + 1, sizeof *ids);
                if (!ids)
                        r = -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                if (ids)
                        ids[i] = items[i].id;
                else
                        free(items[i].id);
        }
        free(items);
        if (r < 0)
                return r;
        *ret_ids = ids;
        *ret_n = n;
        return 0;
}

/* A buffered line reader over a queue file; offset counts the bytes consumed. */
struct reader {
        int fd;
        unsigned char *buf;
        size_t pos, len;
        uint64_t offset;
};

static int reader_fill(struct reader *rd)
{
        ssize_t n;

        if (rd->pos > 0) {
                memmove(rd->buf, rd->buf + rd->pos, rd->len - rd->pos);
                rd->len -= rd->pos;
                rd->pos = 0;
        }
        do
                n = read(rd->fd, rd->buf + rd->len, SPOOL_BUFFER_SIZE - rd->len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        rd->len += (size_t)n;
        return (int)(n > 0);
}

/* reader_line - the next line without its '\n' (NUL-terminated, at most SPOOL_LINE_MAX);
 * -EBADMSG for a longer line, a NUL byte, or the end of the file before '\n' */
static int reader_line(struct reader *rd, char line[static SPOOL_LINE_MAX + 1], size_t *ret_len)
{
        for (;;) {
                size_t avail = rd->len - rd->pos;
                unsigned char *nl = memchr(rd->buf + rd->pos, '\n', avail);
                int r;

                if (nl) {
                        size_t len = (size_t)(nl - (rd->buf + rd->pos));

                        if (len > SPOOL_LINE_MAX || memchr(rd->buf + rd->pos, '\0', len))
                                return -EBADMSG;
                        memcpy(line, rd->buf + rd->pos, len);
                        line[len] = '\0';
                        rd->pos += len + 1;
                        rd->offset += len + 1;
                        *ret_len = len;
                        return 0;
                }
                if (avail > SPOOL_LINE_MAX)
                        return -EBADMSG;
                r = reader_fill(rd);
                if (r < 0)
                        return r;
                if (r == 0)
                        return -EBADMSG;
        }
}

/* reader_crc - run the next len bytes through crc32; -EBADMSG when the file ends first */
static int reader_crc(struct reader *rd, uint64_t len, uLong *crc)
{
        while (len > 0) {
                size_t avail = rd->len - rd->pos, take;

                if (avail == 0) {
                        int r = reader_fill(rd);

                        if (r < 0)
                                return r;
                        if (r == 0)
                                return -EBADMSG;
                        continue;
                }
                take = avail < len ? avail : (size_t)len;
                *crc = crc32_z(*crc, rd->buf + rd->pos, take);
                rd->pos += take;
                rd->offset += take;
                len -= take;
        }
        return 0;
}

/* record_value - the value of "KEY VALUE" when line starts with key and a space, else NULL */
static const char *record_value(const char *line, const char *key)
{
        size_t n = strlen(key);

        if (strncmp(line, key, n) != 0 || line[n] != ' ')
                return NULL;
        return line + n + 1;
}

static int parse_flags(const char *line, size_t len, struct spool_envelope *env)
{
        const char *p = line + strlen("flags"), *end = line + len;

        if (strncmp(line, "flags", 5) != 0)
                return -EBADMSG;
        while (p < end) {
                const char *word;
                size_t n;

                if (*p != ' ')
                        return -EBADMSG;
                word = p + 1;
                n = strcspn(word, " ");
                if (n == 4 && strncmp(word, "8bit", 4) == 0 && !env->body_8bit)
                        env->body_8bit = true;
                else if (n == 8 && strncmp(word, "smtputf8", 8) == 0 && !env->smtputf8)
                        env->smtputf8 = true;
                else
                        return -EBADMSG;
                p = word + n;
        }
        return 0;
}

static int envelope_add_recipient(struct spool_envelope *env, const char *a, size_t len,
                                  size_t *cap)
{
        if (env->n_recipients == SPOOL_RECIPIENTS_MAX)
                return -EBADMSG;
        if (env->n_recipients == *cap) {
                size_t new_cap = *cap ? *cap * 2 : 8;
                char **p;

                if (new_cap > SPOOL_RECIPIENTS_MAX)
                        new_cap = SPOOL_RECIPIENTS_MAX;
                p = realloc(env->recipients, new_cap * sizeof *p);
                if (!p)
                        return -ENOMEM;
                env->recipients = p;
                *cap = new_cap;
        }
        env->recipients[env->n_recipients] = strndup(a, len);
        if (!env->recipients[env->n_recipients])
                return -ENOMEM;
        env->n_recipients++;
        return 0;
}

/* read_header - every record up to and including "body", in order */
static int read_header(struct reader *rd, const char *id, struct spool_envelope *env,
                       uint64_t *ret_body_size)
{
        char line[SPOOL_LINE_MAX + 1];
        const char *v;
        size_t len, cap = 0;
        uint64_t size = 0;
        int r;

        r = reader_line(rd, line, &len);
        if (r < 0 || strcmp(line, SPOOL_MAGIC) != 0)
                return -EBADMSG;
        r = reader_line(rd, line, &len);
        if (r < 0 || !(v = record_value(line, "id")) || strcmp(v, id) != 0)
                return -EBADMSG;
        (void)snprintf(env->queue_id, sizeof env->queue_id, "%s", id);
        r = reader_line(rd, line, &len);
        if (r < 0 || !(v = record_value(line, "arrival")) ||
            parse_time(v, len - (size_t)(v - line), &env->arrival) < 0)
                return -EBADMSG;
        r = reader_line(rd, line, &len);
        if (r < 0 || !(v = record_value(line, "client")))
                return -EBADMSG;
        len -= (size_t)(v - line);
        if (len >= sizeof env->client || !text_valid(v, len))
                return -EBADMSG;
        memcpy(env->client, v, len + 1);
        r = reader_line(rd, line, &len);
        if (r < 0 || parse_flags(line, len, env) < 0)
                return -EBADMSG;
        r = reader_line(rd, line, &len);
        if (r < 0 || !(v = record_value(line, "sender")))
                return -EBADMSG;
        len -= (size_t)(v - line);
        if (!address_valid(v, len, true))
                return -EBADMSG;
        env->sender = strndup(v, len);
        if (!env->sender)
                return -ENOMEM;
        for (;;) {
                r = reader_line(rd, line, &len);
                if (r < 0)
                        return r;
                v = record_value(line, "rcpt");
                if (!v)
                        break;
                len -= (size_t)(v - line);
                if (!address_valid(v, len, false))
                        return -EBADMSG;
                r = envelope_add_recipient(env, v, len, &cap);
                if (r < 0)
                        return r;
        }
        /* then "body", with a fixed width, as spool_writer_finish() patches it */
        v = record_value(line, "body");
        if (!v || env->n_recipients == 0)
                return -EBADMSG; /* unknown or misplaced record, or no recipient */
        len -= (size_t)(v - line);
        if (len != SPOOL_BODY_DIGITS || strspn(v, "0123456789") != len)
                return -EBADMSG;
        for (size_t i = 0; i < len; i++) {
                unsigned d = (unsigned)(v[i] - '0');

                if (size > (UINT64_MAX - d) / 10)
                        return -EBADMSG;
                size = size * 10 + d;
        }
        *ret_body_size = size;
        return 0;
}

static size_t decimal_length(uint64_t v)
{
        size_t n = 1;

        while (v >= 10) {
                v /= 10;
                n++;
        }
        return n;
}

/* read_queue_file - parse and check the whole file of fd (header, size, CRC, END) */
static int read_queue_file(int fd, const char *id, struct spool_envelope *env, uint64_t *ret_offset,
                           uint64_t *ret_size)
{
        struct reader rd = {.fd = fd};
        uint64_t body_size = 0, body_offset, trailer_len;
        char want[64], got[64];
        uLong crc = crc32(0L, Z_NULL, 0);
        struct stat st;
        int r;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;
        rd.buf = malloc(SPOOL_BUFFER_SIZE);
        if (!rd.buf)
                return -ENOMEM;
        r = read_header(&rd, id, env, &body_size);
        if (r < 0)
                goto out;
        /* "\nEND " SIZE " " 8 hex digits "\n": the file size is known before the body is read */
        body_offset = rd.offset;
        trailer_len = 5 + decimal_length(body_size) + 1 + 8 + 1;
        if (body_size > (uint64_t)st.st_size || (uint64_t)st.st_size - body_size < body_offset ||
            (uint64_t)st.st_size - body_size - body_offset != trailer_len) {
                r = -EBADMSG;
                goto out;
        }
        r = reader_crc(&rd, body_size, &crc);
        if (r < 0)
                goto out;
        (void)snprintf(want, sizeof want, "\nEND %" PRIu64 " %08lx\n", body_size,
                       (unsigned long)crc);
        assert(strlen(want) == trailer_len);
        while (rd.len - rd.pos < trailer_len + 1) {
                r = reader_fill(&rd);
                if (r < 0)
                        goto out;
                if (r == 0)
                        break;
        }
        /* exactly the trailer, and nothing after it */
        if (rd.len - rd.pos != trailer_len) {
                r = -EBADMSG;
                goto out;
        }
        memcpy(got, rd.buf + rd.pos, trailer_len);
        if (memcmp(got, want, trailer_len) != 0) {
                r = -EBADMSG;
                goto out;
        }
        *ret_offset = body_offset;
        *ret_size = body_size;
        r = 0;
out:
        free(rd.buf);
        return r;
}

int spool_read(struct spool *s, const char *id, struct spool_envelope *ret,
               uint64_t *ret_body_offset, uint64_t *ret_body_size)
{
        struct spool_envelope env = {0};
        uint64_t offset = 0, size = 0;
        int fd, r;

        assert(s && ret);
        if (!spool_id_valid(id))
                return -EINVAL;
        fd = openat(s->sub_fd[SUBDIR_QUEUE], id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return errno == ELOOP ? -EBADMSG : -errno;
        r = read_queue_file(fd, id, &env, &offset, &size);
        close(fd);
        if (r < 0) {
                spool_envelope_done(&env);
                return r;
        }
        *ret = env;
        if (ret_body_offset)
                *ret_body_offset = offset;
        if (ret_body_size)
                *ret_body_size = size;
        return 0;
}

int spool_open_body(struct spool *s, const char *id, int *ret_fd)
{
        int fd;

        assert(s && ret_fd);
        if (!spool_id_valid(id))
                return -EINVAL;
        fd = openat(s->sub_fd[SUBDIR_QUEUE], id, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return errno == ELOOP ? -EBADMSG : -errno;
        *ret_fd = fd;
        return 0;
}

void spool_envelope_done(struct spool_envelope *env)
{
        if (!env)
                return;
        for (size_t i = 0; i < env->n_recipients; i++)
                free(env->recipients[i]);
        free(env->recipients);
        free(env->sender);
        env->recipients = NULL;
        env->n_recipients = 0;
        env->sender = NULL;
}

/* read_small_file - the whole of dir/name when at most max bytes (-EBADMSG when larger) */
static int read_small_file(int dir_fd, const char *name, char *buf, size_t max, size_t *ret_len)
{
        size_t len = 0;
        struct stat st;
        int fd, r = 0;

        fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return errno == ELOOP ? -EBADMSG : -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto out;
        }
        if (!S_ISREG(st.st_mode)) {
                r = -EBADMSG;
                goto out;
        }
        for (;;) {
                ssize_t n = read(fd, buf + len, max + 1 - len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto out;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > max) {
                        r = -EBADMSG;
                        goto out;
                }
        }
        *ret_len = len;
out:
        close(fd);
        return r;
}

/* next_state_line - the next '\n'-terminated line of text, NUL-terminated in place */
static char *next_state_line(char **cursor, char *end)
{
        char *line = *cursor, *nl;

        if (line >= end)
                return NULL;
        nl = memchr(line, '\n', (size_t)(end - line));
        if (!nl)
                return NULL;
        *nl = '\0';
        *cursor = nl + 1;
        return line;
}

static int state_number(char **cursor, char *end, const char *key, uint64_t *ret)
{
        char *line = next_state_line(cursor, end);
        const char *v;

        if (!line || !(v = record_value(line, key)))
                return -EBADMSG;
        return parse_decimal(v, strlen(v), ret);
}

static int parse_state(char *text, size_t len, size_t n_recipients, struct spool_state *st)
{
        char *cursor = text, *end = text + len, *line;
        const char *v;
        uint64_t attempts, next, last, hold;
        size_t vlen;

        if (memchr(text, '\0', len))
                return -EBADMSG;
        line = next_state_line(&cursor, end);
        if (!line || strcmp(line, SPOOL_STATE_MAGIC) != 0)
                return -EBADMSG;
        if (state_number(&cursor, end, "attempts", &attempts) < 0 || attempts > UINT_MAX ||
            state_number(&cursor, end, "next_attempt", &next) < 0 || next > INT64_MAX ||
            state_number(&cursor, end, "last_attempt", &last) < 0 || last > INT64_MAX ||
            state_number(&cursor, end, "hold", &hold) < 0 || hold > 1)
                return -EBADMSG;
        if ((uint64_t)(time_t)next != next || (uint64_t)(time_t)last != last)
                return -EBADMSG;
        line = next_state_line(&cursor, end);
        if (!line || !(v = record_value(line, "last_reply")))
                return -EBADMSG;
        vlen = strlen(v);
        if (vlen >= SPOOL_REPLY_MAX || !text_valid(v, vlen))
                return -EBADMSG;
        st->attempts = (unsigned)attempts;
        st->next_attempt = (time_t)next;
        st->last_attempt = (time_t)last;
        st->hold = hold == 1;
        memcpy(st->last_reply, v, vlen + 1);
        line = next_state_line(&cursor, end);
        if (!line || !(v = record_value(line, "rcpt_done")))
                return -EBADMSG;
        vlen = strlen(v);
        if (strspn(v, "01") != vlen || vlen > SPOOL_RECIPIENTS_MAX)
                return -EBADMSG;
        /* n_recipients 0: a caller that only wants the schedule (delivery_scan) */
        if (n_recipients > 0 && vlen != n_recipients)
                return -EBADMSG;
        for (size_t i = 0; i < n_recipients; i++)
                st->rcpt_done[i] = v[i] == '1';
        line = next_state_line(&cursor, end);
        if (!line || strcmp(line, "END") != 0 || cursor != end)
                return -EBADMSG;
        return 0;
}

int spool_state_load(struct spool *s, const char *id, size_t n_recipients, struct spool_state *ret)
{
        struct spool_state st = {0};
        char *text = NULL;
        size_t len = 0;
        int r;

        assert(s && ret);
        if (!spool_id_valid(id) || n_recipients > SPOOL_RECIPIENTS_MAX)
                return -EINVAL;
        st.n_rcpt = n_recipients;
        st.rcpt_done = calloc(n_recipients ? n_recipients : 1, sizeof *st.rcpt_done);
        text = malloc(SPOOL_STATE_FILE_MAX + 1);
        if (!st.rcpt_done || !text) {
                r = -ENOMEM;
                goto out;
        }
        r = read_small_file(s->sub_fd[SUBDIR_STATE], id, text, SPOOL_STATE_FILE_MAX, &len);
        if (r == -ENOENT) {
                r = 0; /* never tried yet */
        } else if (r >= 0) {
                r = parse_state(text, len, n_recipients, &st);
        }
out:
        free(text);
        if (r < 0) {
                free(st.rcpt_done);
                return r;
        }
        *ret = st;
        return 0;
}

int spool_state_save(struct spool *s, const char *id, const struct spool_state *st)
{
        char *text = NULL, tmp[SPOOL_QUEUE_ID_MAX + 64];
        size_t len, reply_len;
        int dfd, fd, r;
        uint64_t n;

        assert(s && st);
        dfd = s->sub_fd[SUBDIR_STATE];
        if (!spool_id_valid(id) || st->n_rcpt > SPOOL_RECIPIENTS_MAX ||
            (st->n_rcpt > 0 && !st->rcpt_done) || st->next_attempt < 0 || st->last_attempt < 0)
                return -EINVAL;
        text = malloc(SPOOL_STATE_FILE_MAX + 1);
        if (!text)
                return -ENOMEM;
        len = (size_t)snprintf(text, SPOOL_STATE_FILE_MAX + 1,
                               SPOOL_STATE_MAGIC "\nattempts %u\nnext_attempt %" PRIu64
                                                 "\nlast_attempt %" PRIu64 "\nhold %d\nlast_reply ",
                               st->attempts, (uint64_t)st->next_attempt, (uint64_t)st->last_attempt,
                               st->hold ? 1 : 0);
        /* Replies come from remote servers: control characters become '?', not errors. */
        reply_len = strnlen(st->last_reply, SPOOL_REPLY_MAX - 1);
        for (size_t i = 0; i < reply_len; i++) {
                unsigned char c = (unsigned char)st->last_reply[i];

                text[len++] = (char)(c < ' ' || c == 0x7f ? '?' : c);
        }
        len += (size_t)snprintf(text + len, SPOOL_STATE_FILE_MAX + 1 - len, "\nrcpt_done ");
        for (size_t i = 0; i < st->n_rcpt; i++)
                text[len++] = st->rcpt_done[i] ? '1' : '0';
        len += (size_t)snprintf(text + len, SPOOL_STATE_FILE_MAX + 1 - len, "\nEND\n");
        assert(len <= SPOOL_STATE_FILE_MAX);

        pthread_mutex_lock(&s->lock);
        n = s->tmp_counter++;
        pthread_mutex_unlock(&s->lock);
        (void)snprintf(tmp, sizeof tmp, ".%s.%ld.%" PRIu64, id, (long)getpid(), n);
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
                r = -errno;
                goto out;
        }
        r = give_to_owner(s, fd);
        if (r >= 0)
                r = fd_write_all(fd, text, len);
        if (close(fd) < 0 && r >= 0)
                r = -errno;
        if (r >= 0 && renameat(dfd, tmp, dfd, id) < 0)
                r = -errno;
        if (r < 0)
                (void)unlinkat(dfd, tmp, 0);
out:
        free(text);
        return r;
}

void spool_state_done(struct spool_state *st)
{
        if (!st)
                return;
        free(st->rcpt_done);
        st->rcpt_done = NULL;
        st->n_rcpt = 0;
}

int spool_remove(struct spool *s, const char *id)
{
        int r = 0;

        assert(s);
        if (!spool_id_valid(id))
                return -EINVAL;
        if (unlinkat(s->sub_fd[SUBDIR_QUEUE], id, 0) < 0)
                r = -errno;
        /* a state file without its message is dropped in any case */
        (void)unlinkat(s->sub_fd[SUBDIR_STATE], id, 0);
        return r;
}

int spool_quarantine(struct spool *s, const char *id)
{
        assert(s);
        if (!spool_id_valid(id))
                return -EINVAL;
        if (renameat(s->sub_fd[SUBDIR_QUEUE], id, s->sub_fd[SUBDIR_CORRUPT], id) < 0)
                return -errno;
        (void)unlinkat(s->sub_fd[SUBDIR_STATE], id, 0);
        return 0;
}
