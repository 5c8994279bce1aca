/* SPDX-License-Identifier: MIT */
/*
 * log - one sink for every message the program prints about itself.
 *
 * Target: the journal (sd_journal_sendv with MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, ERRNO and
 * the caller's fields) when stderr is the journal stream systemd gave us, stderr otherwise,
 * as "ident: warning: text". All text is masked for secrets before it leaves, whatever the
 * target. Never fails: a message that cannot be formatted is dropped.
 */
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "secret_mask.h"

#define LOG_MESSAGE_MAX 4096
#define LOG_FIELDS_MAX  16

static const char *log_ident = "mailinit";
static enum log_target log_target = LOG_TARGET_STDERR;
static int log_max_level = LOG_INFO;

/* stderr_is_journal - true when JOURNAL_STREAM names the device and inode of stderr */
static bool stderr_is_journal(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_setup(const char *ident, enum log_target target)
{
        const char *e = getenv("MAILINIT_LOG_TARGET");

        if (ident)
                log_ident = ident;
        if (target == LOG_TARGET_AUTO && e) {
                if (strcmp(e, "journal") == 0)
                        target = LOG_TARGET_JOURNAL;
                else if (strcmp(e, "stderr") == 0)
                        target = LOG_TARGET_STDERR;
        }
        if (target == LOG_TARGET_AUTO)
                target = stderr_is_journal() ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR;
        log_target = target;
}

void log_set_max_level(int level)
{
        log_max_level = level;
}

int log_get_max_level(void)
{
        return log_max_level;
}

static const char *level_prefix(int level)
{
        switch (level) {
        case LOG_EMERG:
        case LOG_ALERT:
        case LOG_CRIT:
                return "fatal: ";
        case LOG_ERR:
                return "error: ";
        case LOG_WARNING:
                return "warning: ";
        case LOG_DEBUG:
                return "debug: ";
        default:
                return "";
        }
}

static void emit_journal(int level, int error, const char *const *fields, const char *message)
{
        struct iovec iov[LOG_FIELDS_MAX + 4];
        char prio[32], ident[128], err[32];
        char *masked_fields[LOG_FIELDS_MAX] = {0};
        char *msg_field;
        size_t n = 0, n_masked = 0;

        if (asprintf(&msg_field, "MESSAGE=%s", message) < 0)
                return;
        iov[n++] = (struct iovec){msg_field, strlen(msg_field)};
        snprintf(prio, sizeof prio, "PRIORITY=%d", level);
        iov[n++] = (struct iovec){prio, strlen(prio)};
        snprintf(ident, sizeof ident, "SYSLOG_IDENTIFIER=%s", log_ident);
        iov[n++] = (struct iovec){ident, strlen(ident)};
        if (error != 0) {
                snprintf(err, sizeof err, "ERRNO=%d", error < 0 ? -error : error);
                iov[n++] = (struct iovec){err, strlen(err)};
        }
        for (size_t i = 0; fields && fields[i] && n_masked < LOG_FIELDS_MAX; i++) {
                masked_fields[n_masked] = secret_mask_apply(fields[i]);
                if (!masked_fields[n_masked])
                        break;
                iov[n++] = (struct iovec){masked_fields[n_masked], strlen(masked_fields[n_masked])};
                n_masked++;
        }
        (void)sd_journal_sendv(iov, (int)n);
        for (size_t i = 0; i < n_masked; i++)
                free(masked_fields[i]);
        free(msg_field);
}

int log_internalv(int level, int error, const char *const *fields, const char *format, va_list ap)
{
        char raw[LOG_MESSAGE_MAX];
        char *message;
        int saved_errno = errno;

        if (level > log_max_level)
                return error < 0 ? error : -error;
        /* %m prints strerror(errno): make it print the error we were given. */
        if (error != 0)
                errno = error < 0 ? -error : error;
        (void)vsnprintf(raw, sizeof raw, format, ap);
        message = secret_mask_apply(raw);
        if (message) {
                if (log_target == LOG_TARGET_JOURNAL)
                        emit_journal(level, error, fields, message);
                else
                        fprintf(stderr, "%s: %s%s\n", log_ident, level_prefix(level), message);
                free(message);
        }
        secret_wipe(raw, sizeof raw);
        errno = saved_errno;
        return error < 0 ? error : -error;
}

int log_internal(int level, int error, const char *const *fields, const char *format, ...)
{
        va_list ap;
        int r;

        va_start(ap, format);
        r = log_internalv(level, error, fields, format, ap);
        va_end(ap);
        return r;
}
