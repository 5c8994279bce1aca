/* SPDX-License-Identifier: MIT */
/*
 * restart_tool - test-only driver of firstboot/units.c (tests/integration/test_units_restart.sh):
 *   restart_tool [--timeout-ms N] UNIT...
 * restarts the units in order on the system bus (DBUS_SYSTEM_BUS_ADDRESS) and prints "ok", or
 * "error: <r> unit=<unit> result=<result> message=<message>" with r the negative errno
 * (-5 EIO, -62 ETIME...) and its strerror on stderr. Exit 0 ok, 1 error, 2 usage.
 * MAILINIT_DEBUG=1 turns on the library's debug log (stderr).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"
#include "parse.h"
#include "units.h"

#define TOOL_TIMEOUT_MS_DEFAULT 30000ULL
#define USEC_PER_MSEC           1000ULL

static int usage(void)
{
        fprintf(stderr, "usage: restart_tool [--timeout-ms N] UNIT...\n");
        return 2;
}

int main(int argc, char **argv)
{
        struct units_error err;
        uint64_t timeout_ms = TOOL_TIMEOUT_MS_DEFAULT;
        const char *debug = getenv("MAILINIT_DEBUG");
        int first = 1, r;

        log_setup("restart_tool", LOG_TARGET_STDERR);
        log_set_max_level(debug && strcmp(debug, "1") == 0 ? LOG_DEBUG : LOG_INFO);

        if (argc > 2 && strcmp(argv[1], "--timeout-ms") == 0) {
                if (parse_uint64(argv[2], &timeout_ms) < 0 ||
                    timeout_ms > UINT64_MAX / USEC_PER_MSEC)
                        return usage();
                first = 3;
        }
        if (first >= argc || argv[first][0] == '-')
                return usage();

        r = units_restart((const char *const *)(argv + first), (size_t)(argc - first),
                          timeout_ms * USEC_PER_MSEC, &err);
        if (r < 0) {
                printf("error: %d unit=%s result=%s message=%s\n", r, err.unit, err.result,
                       err.message);
                fprintf(stderr, "restart_tool: %s\n", strerror(-r));
                return 1;
        }
        printf("ok\n");
        return 0;
}
