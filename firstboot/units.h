/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* What went wrong in units_restart(), for the caller's one log line. Fields are empty strings
 * when they do not apply; unit and message are truncated to fit. */
struct units_error {
        char unit[256];    /* the unit being restarted or waited for */
        char result[32];   /* the job result other than "done" ("failed", "dependency"...) */
        char message[512]; /* "<D-Bus error name>: <message>" of a failed call, or what timed out */
};

/* units_restart - restart each unit in order through systemd's D-Bus API on the system bus
 * (DBUS_SYSTEM_BUS_ADDRESS when set): Manager.RestartUnit(unit, "replace"), then wait for that
 * job's JobRemoved signal before the next unit. timeout_usec bounds the whole call, connecting
 * included (UINT64_MAX: no bound). Returns 0 when every job's result is "done", or:
 *   -EIO    a job ended with another result (err->unit, err->result);
 *   -ETIME  the time ran out (err->unit: the unit whose call or job was pending, empty while
 *           connecting; err->message: what was awaited);
 *   -ENOENT, -ECONNREFUSED, -EACCES...  the bus cannot be reached (err->message empty);
 *   a failed method call as -errno with err->message "<error name>: <text>", e.g.
 *   org.freedesktop.systemd1.NoSuchUnit -> -ENOENT, UnitMasked -> -ERFKILL, unknown -> -EIO
 *   (sd_bus_error_get_errno).
 * err is always cleared first; NULL is allowed. Must not be called from a unit that the
 * restarted units are ordered after (the job would wait for the caller: boot deadlock). */
int units_restart(const char *const *units, size_t n_units, uint64_t timeout_usec,
                  struct units_error *err);
