/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdarg.h>
#include <syslog.h>

/* Logging for the whole program: to the journal with structured fields when stderr is
 * connected to it (JOURNAL_STREAM, as systemd sets for services), to stderr otherwise.
 * Every message goes through secret_mask_apply() first. Library code logs at debug level
 * only; *_main() functions log once and return. */

enum log_target {
        LOG_TARGET_AUTO,
        LOG_TARGET_STDERR,
        LOG_TARGET_JOURNAL,
};

/* log_setup - choose the target (AUTO: journal when stderr is the journal stream, or when
 * MAILINIT_LOG_TARGET=journal) and the identifier shown in each line. */
void log_setup(const char *ident, enum log_target target);

/* log_set_max_level - messages above level (LOG_DEBUG = 7) are dropped. */
void log_set_max_level(int level);
int log_get_max_level(void);

/* log_internal - format and emit one message. error, when non-zero, is an errno value
 * (either sign) used for %m and recorded as ERRNO=. fields is NULL or a NULL-terminated
 * array of "KEY=value" journal fields (MESSAGE_ID=..., QUEUE_ID=...), ignored on stderr.
 * Returns -abs(error), so callers can write `return log_error_errno(r, ...)`. */
int log_internal(int level, int error, const char *const *fields, const char *format, ...)
        __attribute__((format(printf, 4, 5)));
int log_internalv(int level, int error, const char *const *fields, const char *format, va_list ap)
        __attribute__((format(printf, 4, 0)));

#define log_debug(...)   log_internal(LOG_DEBUG, 0, NULL, __VA_ARGS__)
#define log_info(...)    log_internal(LOG_INFO, 0, NULL, __VA_ARGS__)
#define log_notice(...)  log_internal(LOG_NOTICE, 0, NULL, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, NULL, __VA_ARGS__)
#define log_error(...)   log_internal(LOG_ERR, 0, NULL, __VA_ARGS__)

#define log_debug_errno(e, ...)   log_internal(LOG_DEBUG, (e), NULL, __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), NULL, __VA_ARGS__)
#define log_error_errno(e, ...)   log_internal(LOG_ERR, (e), NULL, __VA_ARGS__)

/* log_struct - a message with extra journal fields: log_struct(LOG_INFO, fields, "..."). */
#define log_struct(level, fields, ...) log_internal((level), 0, (fields), __VA_ARGS__)
