/* SPDX-License-Identifier: MIT */
/*
 * state - status.json, the record of the last first boot:
 *   {"instance_id": "i-...", "mode": "postfix", "result": "ok" | "failed",
 *    "error": "a sentence" (only when failed), "completed_at": "RFC 3339",
 *    "confirmation": {"queue_id": "..." | null, "status": "sent|queued|failed|skipped|pending"}}
 * Written atomically; a file that does not parse is reported, never trusted.
 */
#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fileio.h"

static const char *const confirmation_names[CONFIRMATION_STATUS_MAX] = {
        [CONFIRMATION_SKIPPED] = "skipped", [CONFIRMATION_PENDING] = "pending",
        [CONFIRMATION_QUEUED] = "queued",   [CONFIRMATION_SENT] = "sent",
        [CONFIRMATION_FAILED] = "failed",
};

const char *confirmation_status_name(enum confirmation_status s)
{
        return s < CONFIRMATION_STATUS_MAX ? confirmation_names[s] : "unknown";
}

void format_rfc3339_utc(time_t t, char *out, size_t size)
{
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                (void)snprintf(out, size, "1970-01-01T00:00:00Z");
}

static int parse_rfc3339_utc(const char *s, time_t *ret)
{
        struct tm tm = {0};
        const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);

        if (!end || *end)
                return -EINVAL;
        *ret = timegm(&tm);
        return 0;
}

char *state_to_json_text(const struct firstboot_state *st)
{
        char completed[32], *text;
        json_t *doc, *confirmation;

        format_rfc3339_utc(st->completed_at, completed, sizeof completed);
        confirmation = json_pack("{s:s?, s:s}", "queue_id", st->queue_id, "status",
                                 confirmation_status_name(st->confirmation));
        doc = json_pack("{s:s, s:s, s:s, s:s, s:o?}", "instance_id",
                        st->instance_id ? st->instance_id : "", "mode", st->mode ? st->mode : "",
                        "result", st->ok ? "ok" : "failed", "completed_at", completed,
                        "confirmation", confirmation);
        if (!doc)
                return NULL;
        if (!st->ok &&
            json_object_set_new(doc, "error",
                                json_string(st->error ? st->error : "unknown error")) < 0) {
                json_decref(doc);
                return NULL;
        }
        text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(doc);
        return text;
}

int state_write(const char *path, const struct firstboot_state *st)
{
        char *text = state_to_json_text(st), *with_newline;
        int r;

        if (!text)
                return -ENOMEM;
        if (asprintf(&with_newline, "%s\n", text) < 0) {
                free(text);
                return -ENOMEM;
        }
        free(text);
        r = write_file_atomic(path, with_newline, strlen(with_newline), 0644);
        free(with_newline);
        return r;
}

static int dup_member(json_t *doc, const char *name, bool required, char **ret)
{
        json_t *v = json_object_get(doc, name);

        if (!v || json_is_null(v)) {
                *ret = NULL;
                return required ? -EBADMSG : 0;
        }
        if (!json_is_string(v))
                return -EBADMSG;
        *ret = strdup(json_string_value(v));
        return *ret ? 0 : -ENOMEM;
}

int state_read(const char *path, struct firstboot_state *ret, char *why, size_t why_size)
{
        struct firstboot_state st = {0};
        const char *result, *completed, *status;
        json_error_t jerr;
        json_t *doc, *confirmation;
        char *text;
        size_t len;
        int r;

        r = read_file_bounded(path, STATE_FILE_MAX, &text, &len);
        if (r < 0) {
                (void)snprintf(why, why_size, "%s: %s", path, strerror(-r));
                return r;
        }
        doc = json_loadb(text, len, 0, &jerr);
        free(text);
        if (!json_is_object(doc)) {
                json_decref(doc);
                (void)snprintf(why, why_size, "%s: not a JSON object (line %d: %s)", path,
                               jerr.line, jerr.text);
                return -EBADMSG;
        }
        result = json_string_value(json_object_get(doc, "result"));
        completed = json_string_value(json_object_get(doc, "completed_at"));
        confirmation = json_object_get(doc, "confirmation");
        status = json_string_value(json_object_get(confirmation, "status"));
        r = dup_member(doc, "instance_id", true, &st.instance_id);
        if (r >= 0)
                r = dup_member(doc, "mode", false, &st.mode);
        if (r >= 0)
                r = dup_member(doc, "error", false, &st.error);
        if (r >= 0 && json_is_object(confirmation))
                r = dup_member(confirmation, "queue_id", false, &st.queue_id);
        if (r >= 0 && (!result || (strcmp(result, "ok") != 0 && strcmp(result, "failed") != 0)))
                r = -EBADMSG;
        if (r >= 0 && (!completed || parse_rfc3339_utc(completed, &st.completed_at) < 0))
                r = -EBADMSG;
        st.confirmation = CONFIRMATION_SKIPPED;
        for (int i = 0; r >= 0 && status && i < CONFIRMATION_STATUS_MAX; i++)
                if (strcmp(status, confirmation_names[i]) == 0)
                        st.confirmation = (enum confirmation_status)i;
        if (r >= 0)
                st.ok = strcmp(result, "ok") == 0;
        json_decref(doc);
        if (r < 0) {
                state_done(&st);
                if (r == -EBADMSG)
                        (void)snprintf(
                                why, why_size,
                                "%s: missing or malformed instance_id, result or completed_at",
                                path);
                return r;
        }
        *ret = st;
        return 0;
}

void state_done(struct firstboot_state *st)
{
        free(st->instance_id);
        free(st->mode);
        free(st->error);
        free(st->queue_id);
        *st = (struct firstboot_state){0};
}
