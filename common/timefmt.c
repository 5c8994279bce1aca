/* SPDX-License-Identifier: MIT */
/*
 * timefmt - header dates written by hand rather than with strftime, so that no locale
 * can turn "Sat" into "sam.".
 */
#include "timefmt.h"

#include <errno.h>
#include <stdio.h>

static const char *const wday_names[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const month_names[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int timefmt_rfc5322(time_t t, char *out, size_t size, char *stamp, size_t stamp_size)
{
        struct tm tm;
        int n;

        if (!gmtime_r(&t, &tm) || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
            tm.tm_mon > 11 || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
                return -EOVERFLOW;
        n = snprintf(out, size, "%s, %d %s %04d %02d:%02d:%02d +0000", wday_names[tm.tm_wday],
                     tm.tm_mday, month_names[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
        if (n < 0 || (size_t)n >= size)
                return -EOVERFLOW;
        if (stamp) {
                n = snprintf(stamp, stamp_size, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900,
                             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
                if (n < 0 || (size_t)n >= stamp_size)
                        return -EOVERFLOW;
        }
        return 0;
}
