/* SPDX-License-Identifier: MIT */
/*
 * pickup - locally submitted mail, from $spool_dir/maildrop into the queue (see pickup.h).
 *
 * The event loop only notices: an inotify watch (IN_MOVED_TO for sendmail's rename,
 * IN_CLOSE_WRITE for writers that do not rename), a timer every PICKUP_RESCAN_SEC, and the
 * start each ask the pickup thread to scan. The thread lists the directory and takes each
 * file in turn: temporary files ("tmp.NAME") are left alone, and removed once older than a
 * day; messages are read, checked, written to the spool with spool_writer/spool_commit
 * (fsynced, like mail received over SMTP) and unlinked only after that, so a crash in between
 * delivers a message twice, never zero times. Committed queue ids go back to the loop through
 * an eventfd, which hands them to delivery.
 *
 * SECURITY: every dropped file is untrusted input from a local user: opened O_NOFOLLOW |
 * O_NONBLOCK relative to the directory, regular files with one link only, size-bounded before
 * it is read, parsed strictly (maildrop_parse). The submitter is the file's owner (st_uid),
 * never something the file says; the sender rule (submit_policy: trusted_users) and
 * authorized_submit_users are enforced here, since the postdrop helper reads no
 * configuration. A file that fails any check is moved to $spool_dir/corrupt/maildrop.NAME
 * (removed when that fails) with one log line naming it and its owner; nothing else is
 * affected. A spool write error leaves the file for the next scan.
 */
#include "pickup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "headers.h"
#include "log.h"
#include "maildrop.h"
#include "maildrop_dir.h"
#include "submit_policy.h"

#define PICKUP_SCAN_MAX    10000 /* files taken per scan; the next scan takes the rest */
#define PICKUP_ADDRESS_MAX (MAILDROP_ADDRESS_MAX + 256)

struct pickup {
        sd_event *event;
        struct spool *spool;         /* borrowed */
        struct pickup_config config; /* its strings point into owned[] */
        char *owned[5];
        pickup_queued_fn queued;
        void *userdata;
        char *maildrop_path;
        int maildrop_fd;
        int corrupt_fd;
        int efd;
        sd_event_source *inotify_source;
        sd_event_source *timer_source;
        sd_event_source *efd_source;
        pthread_t thread;
        bool thread_started;
        pthread_mutex_t lock; /* protects what follows */
        pthread_cond_t cond;
        bool scan_requested;
        bool stopping;
        char **done_ids; /* committed, to hand to delivery on the loop */
        size_t n_done;
};

/* request_scan - wake the thread (any thread) */
static void request_scan(struct pickup *p)
{
        pthread_mutex_lock(&p->lock);
        p->scan_requested = true;
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
}

/* quarantine - move a file that failed a check aside (or remove it), one log line */
static void quarantine(struct pickup *p, const char *name, long uid, const char *why)
{
        char target[sizeof "maildrop." + MAILDROP_NAME_LEN + 1], fresh[MAILDROP_NAME_LEN + 1];
        const char *id = name;

        if (!maildrop_name_is_message(name)) {
                if (maildrop_new_name(fresh) < 0)
                        (void)snprintf(fresh, sizeof fresh, "%lx", (unsigned long)time(NULL));
                id = fresh;
        }
        (void)snprintf(target, sizeof target, "maildrop.%s", id);
        if (p->corrupt_fd >= 0 &&
            renameat2(p->maildrop_fd, name, p->corrupt_fd, target, RENAME_NOREPLACE) == 0) {
                log_warning("maildrop/%.*s (uid %ld): %s: moved to corrupt/%s", 64, name, uid, why,
                            target);
                return;
        }
        if (unlinkat(p->maildrop_fd, name, 0) < 0 &&
            unlinkat(p->maildrop_fd, name, AT_REMOVEDIR) < 0) {
                log_error_errno(errno, "maildrop/%.*s (uid %ld): %s, and it cannot be removed: %m",
                                64, name, uid, why);
                return;
        }
        log_warning("maildrop/%.*s (uid %ld): %s: removed", 64, name, uid, why);
}

/* read_all - the whole file (size bytes) into a new buffer (caller frees) */
static int read_all(int fd, size_t size, char **ret)
{
        char *data = malloc(size + 1);
        size_t got = 0;

        if (!data)
                return -ENOMEM;
        while (got < size) {
                ssize_t n = pread(fd, data + got, size - got, (off_t)got);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        int r = n < 0 ? -errno : -EBADMSG; /* shrunk while read */

                        free(data);
                        return r;
                }
                got += (size_t)n;
        }
        data[size] = '\0';
        *ret = data;
        return 0;
}

/* login_of - the user name of uid (caller frees), NULL when there is none */
static char *login_of(uid_t uid)
{
        struct passwd pw, *found = NULL;
        char buf[4096];

        if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) != 0 || !found || !found->pw_name[0])
                return NULL;
        return strdup(found->pw_name);
}

static bool has_8bit(const char *s, size_t len)
{
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)s[i] >= 0x80)
                        return true;
        return false;
}

/* enqueue - write the message into the spool and commit it; *ret_id gets the queue id,
 * *ret_nrcpt the number of distinct recipients */
static int enqueue(struct pickup *p, const struct maildrop_envelope *md, char *sender, uid_t uid,
                   const char *msg, size_t len, char ret_id[SPOOL_QUEUE_ID_MAX + 1],
                   uint64_t *ret_size, size_t *ret_nrcpt)
{
        const char *origin = p->config.myorigin;
        char completed[PICKUP_ADDRESS_MAX];
        struct spool_envelope env = {0};
        struct spool_writer *w = NULL;
        struct buf head, from;
        size_t end = 0, j;
        int r, result = 0;

        env.sender = sender;
        env.arrival = time(NULL);
        (void)snprintf(env.client, sizeof env.client, "local uid=%lu", (unsigned long)uid);
        env.body_8bit = has_8bit(msg, len);
        env.smtputf8 = has_8bit(sender, strlen(sender));
        env.recipients = calloc(md->n_recipients, sizeof *env.recipients);
        if (!env.recipients)
                return -ENOMEM;
        for (size_t i = 0; i < md->n_recipients; i++) {
                if (headers_complete_address(md->recipients[i], origin, completed,
                                             sizeof completed) < 0) {
                        r = -EBADMSG;
                        goto out;
                }
                /* one copy per address, as Postfix's cleanup (sendmail -t with the same
                 * address on the command line, or "root" and "root@$myorigin") */
                for (j = 0; j < env.n_recipients; j++)
                        if (strcmp(env.recipients[j], completed) == 0)
                                break;
                if (j < env.n_recipients)
                        continue;
                env.recipients[env.n_recipients] = strdup(completed);
                if (!env.recipients[env.n_recipients]) {
                        r = -ENOMEM;
                        goto out;
                }
                env.n_recipients++;
                if (has_8bit(completed, strlen(completed)))
                        env.smtputf8 = true;
        }
        buf_init(&head, HEADERS_SECTION_MAX + 64 * 1024);
        buf_init(&from, MAILDROP_FULLNAME_MAX * 2 + PICKUP_ADDRESS_MAX);
        r = spool_writer_new(p->spool, &env, 0, &w);
        if (r >= 0 && !*sender) /* the null sender: Postfix's From: is MAILER-DAEMON */
                r = headers_complete_address("MAILER-DAEMON", origin, completed, sizeof completed);
        if (r >= 0)
                r = headers_mailbox(md->fullname, *sender ? sender : completed, &from);
        if (r >= 0) {
                struct headers_context ctx = {
                        .myhostname = p->config.myhostname,
                        .myorigin = origin,
                        .protocol = "local",
                        .queue_id = spool_writer_id(w),
                        .recipient = env.n_recipients == 1 ? env.recipients[0] : NULL,
                        .now = env.arrival,
                        .local = true,
                        .local_uid = (unsigned)uid,
                        .from = from.data,
                };

                end = headers_end(msg, len);
                r = headers_rewrite(msg, end, &ctx, &head);
                if (r == -EFBIG) {
                        /* a header section over the limit: it is body, as over SMTP */
                        end = 0;
                        r = headers_rewrite("", 0, &ctx, &head);
                }
        }
        if (r >= 0)
                r = spool_writer_write(w, head.data, head.len);
        if (r >= 0 && len > end)
                r = spool_writer_write(w, msg + end, len - end);
        if (r >= 0)
                r = spool_writer_finish(w);
        if (r >= 0) {
                r = spool_commit(p->spool, &w, 1, &result);
                if (r >= 0)
                        r = result;
        }
        if (r >= 0) {
                (void)snprintf(ret_id, SPOOL_QUEUE_ID_MAX + 1, "%s", spool_writer_id(w));
                *ret_size = spool_writer_size(w);
                *ret_nrcpt = env.n_recipients;
        }
        buf_done(&head);
        buf_done(&from);
        spool_writer_free(w);
out:
        for (size_t i = 0; i < env.n_recipients; i++)
                free(env.recipients[i]);
        free(env.recipients);
        return r;
}

/* hand_over - a committed queue id, for the event loop */
static void hand_over(struct pickup *p, const char *id)
{
        char *copy = strdup(id), **grown;
        uint64_t one = 1;

        pthread_mutex_lock(&p->lock);
        grown = copy ? realloc(p->done_ids, (p->n_done + 1) * sizeof *grown) : NULL;
        if (grown) {
                p->done_ids = grown;
                p->done_ids[p->n_done++] = copy;
                copy = NULL;
        }
        pthread_mutex_unlock(&p->lock);
        free(copy); /* out of memory: delivery's next scan of the spool finds it */
        (void)!write(p->efd, &one, sizeof one);
}

/* take_file - one directory entry of the maildrop */
static void take_file(struct pickup *p, const char *name)
{
        struct maildrop_envelope md = {0};
        char id[SPOOL_QUEUE_ID_MAX + 1], *data = NULL, *login = NULL, *sender = NULL;
        char completed[PICKUP_ADDRESS_MAX];
        size_t off, len, limit, nrcpt = 0;
        uint64_t size = 0;
        struct stat st;
        int fd, r;

        if (maildrop_name_is_temp(name)) {
                if (fstatat(p->maildrop_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                    st.st_mtime + MAILDROP_TEMP_MAX_SEC < time(NULL) &&
                    unlinkat(p->maildrop_fd, name, 0) == 0)
                        log_info("maildrop/%s (uid %lu): removed an unfinished file a day old",
                                 name, (unsigned long)st.st_uid);
                return;
        }
        if (!maildrop_name_is_message(name)) {
                long uid = fstatat(p->maildrop_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0
                                   ? (long)st.st_uid
                                   : -1;

                quarantine(p, name, uid, "not a maildrop file name");
                return;
        }
        fd = openat(p->maildrop_fd, name,
                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) {
                long uid = fstatat(p->maildrop_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0
                                   ? (long)st.st_uid
                                   : -1;

                if (errno == ENOENT)
                        return;
                if (errno == EACCES) {
                        log_error(
                                "maildrop/%s (uid %ld): not readable by the relay: is the relay's user in the group of the maildrop (setgid_group)?",
                                name, uid);
                        return;
                }
                quarantine(p, name, uid, errno == ELOOP ? "a symbolic link" : "cannot be opened");
                return;
        }
        limit = MAILDROP_ENVELOPE_MAX + strlen(MAILDROP_TRAILER) +
                (p->config.message_size_limit ? (size_t)p->config.message_size_limit
                                              : MAILDROP_MESSAGE_MAX);
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                quarantine(p, name, (long)st.st_uid, "not a regular file");
                goto out;
        }
        if (st.st_nlink != 1) {
                quarantine(p, name, (long)st.st_uid, "a file with several links");
                goto out;
        }
        if ((uint64_t)st.st_size > limit) {
                quarantine(p, name, (long)st.st_uid, "message file too big (message_size_limit)");
                goto out;
        }
        r = read_all(fd, (size_t)st.st_size, &data);
        if (r < 0) {
                if (r == -ENOMEM)
                        log_error("maildrop/%s: out of memory, trying later", name);
                else
                        quarantine(p, name, (long)st.st_uid, "cannot be read");
                goto out;
        }
        r = maildrop_parse(data, (size_t)st.st_size, &md, &off, &len);
        if (r == -ENOMEM) {
                log_error("maildrop/%s: out of memory, trying later", name);
                goto out;
        }
        if (r < 0) {
                quarantine(p, name, (long)st.st_uid, "malformed maildrop file");
                goto out;
        }
        if (p->config.message_size_limit && len > p->config.message_size_limit) {
                quarantine(p, name, (long)st.st_uid, "message file too big (message_size_limit)");
                goto out;
        }
        login = login_of(st.st_uid);
        if (!login) {
                quarantine(p, name, (long)st.st_uid, "no user name for the file's owner");
                goto out;
        }
        if (!submit_authorized(p->config.authorized_submit_users, login, st.st_uid == 0)) {
                quarantine(p, name, (long)st.st_uid, "the owner is not in authorized_submit_users");
                goto out;
        }
        if (!submit_sender_allowed(
                    md.sender, login, p->config.myorigin,
                    submit_trusted(p->config.trusted_users, login, st.st_uid == 0))) {
                quarantine(p, name, (long)st.st_uid,
                           "sender not owned by the file's owner (trusted_users)");
                goto out;
        }
        r = headers_complete_address(md.sender ? md.sender : login, p->config.myorigin, completed,
                                     sizeof completed);
        sender = r >= 0 ? strdup(completed) : NULL;
        if (!sender) {
                quarantine(p, name, (long)st.st_uid, "sender address too long");
                goto out;
        }
        r = enqueue(p, &md, sender, st.st_uid, data + off, len, id, &size, &nrcpt);
        if (r == -EBADMSG) {
                quarantine(p, name, (long)st.st_uid, "recipient address too long");
                goto out;
        }
        if (r < 0) {
                log_error_errno(r,
                                "maildrop/%s: cannot write the queue file: %m; trying again later",
                                name);
                goto out;
        }
        /* the queue file is durable: only now may the dropped file go */
        if (unlinkat(p->maildrop_fd, name, 0) < 0)
                log_error_errno(
                        errno,
                        "maildrop/%s: cannot remove it after queueing it as %s: %m (it will be delivered twice)",
                        name, id);
        log_info("%s: uid=%lu from=<%s> (maildrop %s)", id, (unsigned long)st.st_uid, sender, name);
        log_info("%s: from=<%s>, size=%llu, nrcpt=%zu (queue active)", id, sender,
                 (unsigned long long)size, nrcpt);
        hand_over(p, id);
out:
        maildrop_envelope_done(&md);
        free(sender);
        free(login);
        free(data);
        close(fd);
}

/* scan - every entry of the maildrop, once */
static void scan(struct pickup *p)
{
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        DIR *d;
        int fd = openat(p->maildrop_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0 || !(d = fdopendir(fd))) {
                log_error_errno(errno, "Cannot list %s: %m", p->maildrop_path);
                if (fd >= 0)
                        close(fd);
                return;
        }
        while ((de = readdir(d)) && n < PICKUP_SCAN_MAX) {
                char **grown;

                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                grown = realloc(names, (n + 1) * sizeof *grown);
                if (!grown)
                        break;
                names = grown;
                names[n] = strdup(de->d_name);
                if (!names[n])
                        break;
                n++;
        }
        closedir(d);
        for (size_t i = 0; i < n; i++) {
                bool stop;

                pthread_mutex_lock(&p->lock);
                stop = p->stopping;
                pthread_mutex_unlock(&p->lock);
                if (!stop)
                        take_file(p, names[i]);
                free(names[i]);
        }
        free(names);
}

static void *pickup_thread(void *userdata)
{
        struct pickup *p = userdata;

        pthread_mutex_lock(&p->lock);
        for (;;) {
                while (!p->scan_requested && !p->stopping)
                        pthread_cond_wait(&p->cond, &p->lock);
                if (p->stopping)
                        break;
                p->scan_requested = false;
                pthread_mutex_unlock(&p->lock);
                scan(p);
                pthread_mutex_lock(&p->lock);
        }
        pthread_mutex_unlock(&p->lock);
        return NULL;
}

static int on_inotify(sd_event_source *s, const struct inotify_event *ev, void *userdata)
{
        (void)s;
        (void)ev;
        request_scan(userdata);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        request_scan(userdata);
        return sd_event_source_set_time(s, usec + PICKUP_RESCAN_SEC * 1000000ULL);
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct pickup *p = userdata;
        uint64_t counter;
        char **ids;
        size_t n;

        (void)s;
        (void)revents;
        (void)!read(fd, &counter, sizeof counter);
        pthread_mutex_lock(&p->lock);
        ids = p->done_ids;
        n = p->n_done;
        p->done_ids = NULL;
        p->n_done = 0;
        pthread_mutex_unlock(&p->lock);
        for (size_t i = 0; i < n; i++) {
                if (p->queued)
                        p->queued(p->userdata, ids[i]);
                free(ids[i]);
        }
        free(ids);
        return 0;
}

/* copy_config - c with its strings copied into p->owned */
static int copy_config(struct pickup *p, const struct pickup_config *c)
{
        const char *from[5] = {c->myhostname ? c->myhostname : "localhost",
                               c->myorigin ? c->myorigin : "localhost", c->trusted_users,
                               c->authorized_submit_users, c->setgid_group};

        for (size_t i = 0; i < 5; i++) {
                p->owned[i] = strdup(from[i] ? from[i] : "");
                if (!p->owned[i])
                        return -ENOMEM;
        }
        p->config = (struct pickup_config){
                .myhostname = p->owned[0],
                .myorigin = p->owned[1],
                .message_size_limit = c->message_size_limit,
                .trusted_users = p->owned[2],
                .authorized_submit_users = p->owned[3],
                .setgid_group = p->owned[4],
        };
        return 0;
}

/* open_dirs - the maildrop (prepared) and corrupt/ under the spool */
static int open_dirs(struct pickup *p)
{
        const struct group *gr = getgrnam(p->config.setgid_group);
        struct stat st;
        int spool_fd, r;

        spool_fd = open(spool_dir(p->spool), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (spool_fd < 0)
                return -errno;
        if (fstat(spool_fd, &st) < 0) {
                r = -errno;
                close(spool_fd);
                return r;
        }
        if (!gr && geteuid() == 0)
                log_warning(
                        "setgid_group '%s' does not exist: only root and the relay's user can submit mail with sendmail",
                        p->config.setgid_group);
        r = maildrop_dir_prepare(spool_fd, st.st_uid, gr ? gr->gr_gid : (gid_t)-1, &p->maildrop_fd);
        if (r >= 0) {
                p->corrupt_fd = openat(spool_fd, "corrupt",
                                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (p->corrupt_fd < 0)
                        r = -errno;
        }
        close(spool_fd);
        if (r >= 0 &&
            asprintf(&p->maildrop_path, "%s/%s", spool_dir(p->spool), MAILDROP_DIR_NAME) < 0) {
                p->maildrop_path = NULL;
                r = -ENOMEM;
        }
        return r;
}

int pickup_new(sd_event *e, struct spool *spool, const struct pickup_config *config,
               pickup_queued_fn queued, void *userdata, struct pickup **ret)
{
        struct pickup *p = calloc(1, sizeof *p);
        uint64_t now;
        int r;

        if (!p)
                return -ENOMEM;
        p->event = sd_event_ref(e);
        p->spool = spool;
        p->queued = queued;
        p->userdata = userdata;
        p->maildrop_fd = p->corrupt_fd = p->efd = -1;
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->cond, NULL);
        r = copy_config(p, config);
        if (r >= 0)
                r = open_dirs(p);
        if (r < 0)
                goto fail;
        p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (p->efd < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(e, &p->efd_source, p->efd, EPOLLIN, on_done, p);
        if (r >= 0)
                r = sd_event_add_inotify(e, &p->inotify_source, p->maildrop_path,
                                         IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR, on_inotify, p);
        if (r >= 0)
                r = sd_event_now(e, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(e, &p->timer_source, CLOCK_MONOTONIC,
                                      now + PICKUP_RESCAN_SEC * 1000000ULL, 1000000ULL, on_timer,
                                      p);
        if (r < 0)
                goto fail;
        r = -pthread_create(&p->thread, NULL, pickup_thread, p);
        if (r < 0)
                goto fail;
        p->thread_started = true;
        request_scan(p); /* what was dropped while the relay was not running */
        *ret = p;
        return 0;
fail:
        pickup_free(p);
        return r;
}

struct pickup *pickup_free(struct pickup *p)
{
        if (!p)
                return NULL;
        if (p->thread_started) {
                pthread_mutex_lock(&p->lock);
                p->stopping = true;
                pthread_cond_signal(&p->cond);
                pthread_mutex_unlock(&p->lock);
                pthread_join(p->thread, NULL);
        }
        sd_event_source_disable_unref(p->inotify_source);
        sd_event_source_disable_unref(p->timer_source);
        sd_event_source_disable_unref(p->efd_source);
        /* ids committed but not handed over: delivery's scan of the spool finds them */
        for (size_t i = 0; i < p->n_done; i++)
                free(p->done_ids[i]);
        free(p->done_ids);
        if (p->efd >= 0)
                close(p->efd);
        if (p->maildrop_fd >= 0)
                close(p->maildrop_fd);
        if (p->corrupt_fd >= 0)
                close(p->corrupt_fd);
        free(p->maildrop_path);
        for (size_t i = 0; i < 5; i++)
                free(p->owned[i]);
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        sd_event_unref(p->event);
        free(p);
        return NULL;
}
