#!/bin/bash
# SPDX-License-Identifier: MIT
# test_units_restart - firstboot/units.c (through tests/tools/restart_tool) against a stand-in
# systemd manager (python-dbusmock on a private dbus-daemon, peers/fake_systemd.py), reached
# through DBUS_SYSTEM_BUS_ADDRESS: RestartUnit(unit, "replace") after Subscribe, one unit at a
# time, each waited for through its own job's JobRemoved; job results other than "done",
# D-Bus errors, a job that never ends and an unreachable bus, each bounded in time.
# Exit 77 (skip) without dbus-daemon or python3-dbusmock.
# restart_tool prints "error: <r> ..." with r = -errno: -2 ENOENT, -5 EIO, -62 ETIME,
# -111 ECONNREFUSED, -132 ERFKILL.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_dbus.sh"

# The binary under test here is the test tool, not mailinit.
MAILINIT=$MAILINIT_BUILD_DIR/tests/tools/restart_tool
TOOL=$MAILINIT
: "${MI_RUN_TIMEOUT:=20}"
export MI_RUN_TIMEOUT

mi_init
mi_require_fake_systemd

# line_of REGEX - the number of the first call-log line matching REGEX (0: none).
line_of() {
	local n
	n=$(grep -nE -- "$1" "$MI_SYSTEMD_CALL_LOG" | head -n 1 | cut -d: -f1)
	echo "${n:-0}"
}

t_one_unit() {
	echo '{"results": {"postfix.service": "done", "decoy.service": "done",
	                   "instant.service": "done"},
	       "decoys": ["decoy.service"], "delays": {"instant.service": 0}}' >systemd.json
	mi_start_fake_systemd systemd.json
	mi_run run1 "$TOOL" postfix.service
	mi_assert_rc 0
	mi_assert_lines run1.out 1
	mi_assert_grep run1.out '^ok$'
	mi_assert_systemd_calls 'Subscribe|Unit' 'Subscribe' 'RestartUnit "postfix.service" "replace"'
	mi_assert_grep "$MI_SYSTEMD_CALL_LOG" \
		'emit /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager.JobRemoved [0-9]+ "/org/freedesktop/systemd1/job/[0-9]+" "postfix.service" "done"$'

	# A JobRemoved for another job of the same unit ("failed") comes first: only the job
	# path returned by RestartUnit counts.
	mi_run run2 "$TOOL" decoy.service
	mi_assert_rc 0
	mi_assert_grep run2.out '^ok$'
	mi_assert_grep "$MI_SYSTEMD_CALL_LOG" 'JobRemoved .*"decoy.service" "failed"$'

	# JobRemoved right behind the RestartUnit reply is not missed (the match comes first).
	mi_run run3 "$TOOL" --timeout-ms 5000 instant.service
	mi_assert_rc 0
	mi_assert_grep run3.out '^ok$'
	mi_assert_faster 2000
}

t_two_units_in_order() {
	echo '{"results": {"postfix.service": "done", "opendkim.service": "done"},
	       "delay_ms": 150}' >systemd.json
	mi_start_fake_systemd systemd.json
	mi_run run "$TOOL" opendkim.service postfix.service
	mi_assert_rc 0
	mi_assert_grep run.out '^ok$'
	mi_assert_systemd_calls 'Subscribe|Unit' 'Subscribe' \
		'RestartUnit "opendkim.service" "replace"' 'RestartUnit "postfix.service" "replace"'
	# One at a time: the second restart is asked for after the first job has ended.
	local first_done second
	first_done=$(line_of 'JobRemoved .*"opendkim.service" "done"$')
	second=$(line_of 'RestartUnit "postfix.service"')
	((first_done > 0 && second > first_done)) ||
		mi_fail "postfix.service was restarted (line $second) before opendkim.service's job ended (line $first_done)"
	((MI_ELAPSED_MS >= 300)) || mi_fail "two 150 ms jobs finished in ${MI_ELAPSED_MS} ms"
}

t_job_failed() {
	echo '{"results": {"broken.service": "failed", "postfix.service": "done",
	                   "dep.service": "dependency"}}' >systemd.json
	mi_start_fake_systemd systemd.json
	mi_run run1 "$TOOL" broken.service postfix.service
	mi_assert_rc 1
	mi_assert_grep run1.out '^error: -5 unit=broken\.service result=failed message=$'
	# The restart stops at the first failed job.
	mi_assert_systemd_calls 'RestartUnit' 'RestartUnit "broken.service" "replace"'

	mi_run run2 "$TOOL" postfix.service dep.service
	mi_assert_rc 1
	mi_assert_grep run2.out '^error: -5 unit=dep\.service result=dependency message=$'
}

t_call_errors() {
	echo '{"results": {"postfix.service": "done"},
	       "errors": {"masked.service": ["org.freedesktop.systemd1.UnitMasked",
	                                     "Unit masked.service is masked."]}}' >systemd.json
	mi_start_fake_systemd systemd.json
	mi_run run1 "$TOOL" nosuch.service postfix.service
	mi_assert_rc 1
	mi_assert_grep run1.out \
		'^error: -2 unit=nosuch\.service result= message=org\.freedesktop\.systemd1\.NoSuchUnit: Unit nosuch\.service not found\.$'
	mi_assert_systemd_calls 'RestartUnit' 'RestartUnit "nosuch.service" "replace"'

	mi_run run2 "$TOOL" masked.service
	mi_assert_rc 1
	mi_assert_grep run2.out \
		'^error: -132 unit=masked\.service result= message=org\.freedesktop\.systemd1\.UnitMasked: Unit masked\.service is masked\.$'
}

t_timeouts() {
	echo '{"results": {"postfix.service": "done", "a.service": "done", "b.service": "done"},
	       "no_signal": ["hang.service"], "delays": {"a.service": 400, "b.service": 400}}' \
		>systemd.json
	mi_start_fake_systemd systemd.json
	# A job whose JobRemoved never comes.
	mi_run run1 "$TOOL" --timeout-ms 500 postfix.service hang.service
	mi_assert_rc 1
	mi_assert_grep run1.out \
		'^error: -62 unit=hang\.service result= message=job /org/freedesktop/systemd1/job/[0-9]+ still running$'
	((MI_ELAPSED_MS >= 450)) || mi_fail "gave up after ${MI_ELAPSED_MS} ms, before the 500 ms timeout"
	mi_assert_faster 3000

	# The timeout covers all units together: each job takes 400 ms, 600 ms are enough for
	# the first one only.
	mi_run run2 "$TOOL" --timeout-ms 600 a.service b.service
	mi_assert_rc 1
	mi_assert_grep run2.out '^error: -62 unit=b\.service result= '
	mi_assert_faster 3000
}

t_bus_unreachable() {
	DBUS_SYSTEM_BUS_ADDRESS=unix:path=$MI_DIR/no-such-socket
	export DBUS_SYSTEM_BUS_ADDRESS
	mi_run run1 "$TOOL" --timeout-ms 10000 postfix.service
	mi_assert_rc 1
	mi_assert_grep run1.out '^error: -2 unit= result= message=$'
	mi_assert_faster 2000

	# A socket nobody listens on.
	"$MI_PYTHON" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
		"$MI_DIR/dead-socket"
	DBUS_SYSTEM_BUS_ADDRESS=unix:path=$MI_DIR/dead-socket
	mi_run run2 "$TOOL" --timeout-ms 10000 postfix.service
	mi_assert_rc 1
	mi_assert_grep run2.out '^error: -111 unit= result= message=$'
	mi_assert_faster 2000
}

mi_scenario one_unit t_one_unit
mi_scenario two_units_in_order t_two_units_in_order
mi_scenario job_failed t_job_failed
mi_scenario call_errors t_call_errors
mi_scenario timeouts t_timeouts
mi_scenario bus_unreachable t_bus_unreachable
mi_finish
