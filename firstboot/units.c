/* SPDX-License-Identifier: MIT */
/*
 * units - restart systemd units through the manager's D-Bus API (sd-bus; no systemctl).
 * One private connection to the system bus per call: AddMatch on JobRemoved and
 * Manager.Subscribe first, so no job can end unseen; then per unit RestartUnit(unit, "replace")
 * and a wait for the JobRemoved signal whose job path is the one RestartUnit returned (other
 * jobs' signals are ignored). Everything, connecting included, runs against one monotonic
 * deadline: sd_bus_call gets the time left, the signal wait loops over sd_bus_process and
 * sd_bus_wait. Errors are converted here, once: job results other than "done" -> -EIO, the
 * deadline -> -ETIME, D-Bus errors -> -errno (sd_bus_error_get_errno, which knows systemd's
 * error names). Logs at debug only.
 */
#include "units.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>

#include "log.h"

#define SYSTEMD_SERVICE   "org.freedesktop.systemd1"
#define SYSTEMD_PATH      "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER   "org.freedesktop.systemd1.Manager"
#define RESTART_MODE      "replace"
#define JOB_RESULT_MAX    32
#define USEC_PER_SEC      1000000ULL
#define NSEC_PER_USEC     1000ULL
#define DEADLINE_INFINITY UINT64_MAX

/* The job being waited for; filled by on_job_removed(). */
struct job_wait {
        char *job_path; /* NULL while no job is pending */
        char result[JOB_RESULT_MAX];
        bool removed;
};

static uint64_t now_usec(void)
{
        struct timespec ts;

        /* CLOCK_MONOTONIC cannot fail with a valid pointer; sd-bus uses the same clock. */
        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / NSEC_PER_USEC;
}

/* time_left - microseconds until deadline (DEADLINE_INFINITY: UINT64_MAX), -ETIME when none. */
static int time_left(uint64_t deadline, uint64_t *ret)
{
        uint64_t n;

        if (deadline == DEADLINE_INFINITY) {
                *ret = UINT64_MAX;
                return 0;
        }
        n = now_usec();
        if (n >= deadline)
                return -ETIME;
        *ret = deadline - n;
        return 0;
}

static bool deadline_passed(uint64_t deadline)
{
        uint64_t left;

        return time_left(deadline, &left) < 0;
}

/* bus_error_to_errno - a D-Bus error as -errno (never 0). libsystemd's map includes systemd's
 * own error names (NoSuchUnit -> ENOENT, UnitMasked -> ERFKILL...); unknown names give EIO. */
static int bus_error_to_errno(const sd_bus_error *e)
{
        int r = sd_bus_error_get_errno(e);

        return r > 0 ? -r : -EIO;
}

/* bus_wait_until - one sd_bus_wait() bounded by the deadline; -ETIME when it has passed. */
static int bus_wait_until(sd_bus *bus, uint64_t deadline)
{
        uint64_t left;
        int r;

        r = time_left(deadline, &left);
        if (r < 0)
                return r;
        r = sd_bus_wait(bus, left);
        return r < 0 ? r : 0;
}

/* bus_wait_ready - finish authentication and Hello within the deadline (sd-bus would otherwise
 * wait up to its own auth and call timeouts inside the first call). */
static int bus_wait_ready(sd_bus *bus, uint64_t deadline)
{
        for (;;) {
                int r = sd_bus_is_ready(bus);

                if (r != 0)
                        return r < 0 ? r : 0;
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                r = bus_wait_until(bus, deadline);
                if (r < 0)
                        return r;
        }
}

/* call_manager - Manager.<member>() or, with unit, Manager.<member>(unit, "replace"), bounded by
 * the deadline. A D-Bus error is converted and described in err->message. */
static int call_manager(sd_bus *bus, uint64_t deadline, const char *member, const char *unit,
                        sd_bus_message **ret_reply, struct units_error *err)
{
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL;
        uint64_t left;
        int r;

        r = time_left(deadline, &left);
        if (r < 0)
                goto timeout;
        r = sd_bus_message_new_method_call(bus, &m, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                           member);
        if (r < 0)
                goto out;
        if (unit) {
                r = sd_bus_message_append(m, "ss", unit, RESTART_MODE);
                if (r < 0)
                        goto out;
        }
        r = sd_bus_call(bus, m, left, &error, ret_reply);
        if (r >= 0)
                goto out;
        if (r == -ETIMEDOUT && deadline_passed(deadline))
                goto timeout;
        if (sd_bus_error_is_set(&error)) {
                r = bus_error_to_errno(&error);
                (void)snprintf(err->message, sizeof(err->message), "%s: %s", error.name,
                               error.message ? error.message : "");
                log_debug("%s(%s) failed: %s", member, unit ? unit : "", err->message);
        } else {
                log_debug_errno(r, "%s(%s) failed: %m", member, unit ? unit : "");
        }
        goto out;
timeout:
        r = -ETIME;
        (void)snprintf(err->message, sizeof(err->message), "no reply to %s in time", member);
out:
        sd_bus_message_unref(m);
        sd_bus_error_free(&error);
        return r;
}

/* on_job_removed - JobRemoved(id, job, unit, result): note the result of the awaited job. */
static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        struct job_wait *w = userdata;
        const char *path, *unit, *result;
        uint32_t id;
        int r;

        (void)ret_error;
        /* Errors returned from here would abort sd_bus_process(); a bad signal is ignored. */
        r = sd_bus_message_read(m, "uoss", &id, &path, &unit, &result);
        if (r < 0) {
                log_debug_errno(r, "Malformed JobRemoved signal, ignoring: %m");
                return 0;
        }
        if (!w->job_path || strcmp(path, w->job_path) != 0)
                return 0;
        log_debug("Job %" PRIu32 " (%s) for %s finished: %s", id, path, unit, result);
        (void)snprintf(w->result, sizeof(w->result), "%s", result);
        w->removed = true;
        return 0;
}

/* wait_for_job - process the bus until the awaited job is removed or the deadline passes. */
static int wait_for_job(sd_bus *bus, struct job_wait *w, uint64_t deadline)
{
        for (;;) {
                uint64_t left;
                int r, processed = sd_bus_process(bus, NULL);

                if (processed < 0)
                        return processed;
                if (w->removed)
                        return 0;
                /* Checked on every turn so that a stream of other messages cannot outlast it. */
                r = time_left(deadline, &left);
                if (r < 0)
                        return r;
                if (processed > 0)
                        continue;
                r = sd_bus_wait(bus, left);
                if (r < 0)
                        return r;
        }
}

/* restart_one - RestartUnit(unit) and wait for its job's JobRemoved. */
static int restart_one(sd_bus *bus, const char *unit, struct job_wait *w, uint64_t deadline,
                       struct units_error *err)
{
        sd_bus_message *reply = NULL;
        const char *path;
        int r;

        r = call_manager(bus, deadline, "RestartUnit", unit, &reply, err);
        if (r < 0)
                goto out;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0) {
                log_debug_errno(r, "Bad RestartUnit(%s) reply: %m", unit);
                goto out;
        }
        log_debug("Restarting %s: job %s", unit, path);
        w->job_path = strdup(path);
        if (!w->job_path) {
                r = -ENOMEM;
                goto out;
        }
        w->removed = false;
        w->result[0] = '\0';
        r = wait_for_job(bus, w, deadline);
        if (r == -ETIME) {
                (void)snprintf(err->message, sizeof(err->message), "job %s still running",
                               w->job_path);
                goto out;
        }
        if (r < 0) {
                log_debug_errno(r, "Failed to wait for job %s: %m", w->job_path);
                goto out;
        }
        if (strcmp(w->result, "done") != 0) {
                (void)snprintf(err->result, sizeof(err->result), "%s", w->result);
                r = -EIO;
        }
out:
        free(w->job_path);
        w->job_path = NULL;
        sd_bus_message_unref(reply);
        return r;
}

int units_restart(const char *const *units, size_t n_units, uint64_t timeout_usec,
                  struct units_error *err)
{
        struct units_error ignored;
        struct job_wait w = {0};
        sd_bus_slot *match = NULL;
        sd_bus *bus = NULL;
        uint64_t deadline, left;
        size_t i;
        int r;

        assert(units || n_units == 0);
        if (!err)
                err = &ignored;
        *err = (struct units_error){0};
        if (n_units == 0)
                return 0;

        deadline = DEADLINE_INFINITY;
        if (timeout_usec != UINT64_MAX) {
                uint64_t n = now_usec();

                deadline = timeout_usec < DEADLINE_INFINITY - n ? n + timeout_usec
                                                                : DEADLINE_INFINITY - 1;
        }

        /* Honours DBUS_SYSTEM_BUS_ADDRESS (secure_getenv). */
        r = sd_bus_open_system(&bus);
        if (r < 0) {
                log_debug_errno(r, "Failed to connect to the system bus: %m");
                goto out;
        }
        r = bus_wait_ready(bus, deadline);
        if (r == -ETIME) {
                (void)snprintf(err->message, sizeof(err->message),
                               "no answer from the system bus in time");
                goto out;
        }
        if (r < 0) {
                log_debug_errno(r, "Failed to set up the system bus connection: %m");
                goto out;
        }

        /* The match and the subscription come before any RestartUnit: a job that ends at once
         * still has its JobRemoved delivered to us (and queued until we look for it). */
        r = time_left(deadline, &left);
        if (r >= 0)
                r = sd_bus_set_method_call_timeout(bus, left);
        if (r >= 0)
                r = sd_bus_match_signal(bus, &match, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER,
                                        "JobRemoved", on_job_removed, &w);
        if (r == -ETIME || (r == -ETIMEDOUT && deadline_passed(deadline))) {
                r = -ETIME;
                (void)snprintf(err->message, sizeof(err->message), "no reply to AddMatch in time");
                goto out;
        }
        if (r < 0) {
                log_debug_errno(r, "Failed to add a match for JobRemoved: %m");
                goto out;
        }
        r = call_manager(bus, deadline, "Subscribe", NULL, NULL, err);
        if (r < 0)
                goto out;

        for (i = 0; i < n_units; i++) {
                assert(units[i]);
                (void)snprintf(err->unit, sizeof(err->unit), "%s", units[i]);
                r = restart_one(bus, units[i], &w, deadline, err);
                if (r < 0)
                        goto out;
        }
        *err = (struct units_error){0};
        r = 0;
out:
        sd_bus_slot_unref(match);
        /* sd_bus_flush() first waits for the connection to be set up, with sd-bus's own
         * timeouts (25 s and more): a connection that never got ready is just closed. */
        if (bus && sd_bus_is_ready(bus) > 0)
                sd_bus_flush_close_unref(bus);
        else
                sd_bus_close_unref(bus);
        return r;
}
