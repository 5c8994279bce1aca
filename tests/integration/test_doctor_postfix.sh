#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_doctor_postfix - `mailinit doctor` in postfix mode against a private Postfix instance:
# the local-smtp check talks to Postfix's smtpd, the queue check reads `postqueue -c DIR -j`
# (a message deferred because the relayhost port is closed: counted, not old); with Postfix
# stopped local-smtp fails while root's postqueue still lists the queue; a postfix_dir without
# main.cf makes the queue check warn with postqueue's words. Exit 77 without Postfix (or without root, which it needs).
# shellcheck disable=SC2317,SC2031 # scenario functions run through mi_scenario, in subshells
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"
mi_init
mi_require_postfix
export TZ=UTC LC_ALL=C

# check NAME CHECK RESULT REGEX - CHECK in NAME.out (doctor --json) has RESULT and a reason
# matching REGEX
check() {
	"$MI_PYTHON" - "$1.out" "$2" "$3" "$4" <<'EOF' || { mi_show_run; mi_fail "$1: check $2"; }
import json, re, sys
path, name, result, reason = sys.argv[1:]
checks = {c["check"]: c for c in json.load(open(path))["checks"]}
c = checks[name]
if c["result"] != result or not re.search(reason, c["reason"]):
    sys.exit(f"{name}: {c}, want {result} /{reason}/")
EOF
}

t_postfix_queue() {
	mi_start_postfix pf
	# one message, deferred: Postfix's relayhost is a closed loopback port
	"$MI_PYTHON" - "$MI_POSTFIX_PORT" <<'EOF' || mi_fail "smtplib could not submit"
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10) as s:
    s.sendmail("app@example.com", ["user@example.net"], "Subject: queued\r\n\r\nbody\r\n")
EOF
	mi_postfix_wait_log pf 'status=deferred' 20
	cat >doctor.conf <<-EOF
		mode = postfix
		postfix_dir = $MI_POSTFIX_DIR
		listen = 127.0.0.1:$MI_POSTFIX_PORT
		relayhost = [127.0.0.1]:$(mi_closed_port)
		mydomain = example.com
	EOF
	export AWS_EC2_METADATA_DISABLED=true DBUS_SYSTEM_BUS_ADDRESS=unix:path=$MI_DIR/no-bus
	mi_run run "$MAILINIT" doctor --config "$MI_DIR/doctor.conf" --json
	mi_assert_rc 69 # the relayhost port is closed, no secret_id
	check run local-smtp ok "^127\\.0\\.0\\.1:$MI_POSTFIX_PORT greets with 220"
	check run queue ok '^1 message queued \(1 deferred\), none older than 1 h'
	check run service skip '^no system bus'

	mi_stop_postfix pf
	mi_run run2 "$MAILINIT" doctor --config "$MI_DIR/doctor.conf" --json
	mi_assert_rc 69
	check run2 local-smtp fail 'Connection refused'
	# root's postqueue reads the queue files itself when Postfix is down
	check run2 queue ok '^1 message queued \(1 deferred\)'

	# a postfix_dir without main.cf: postqueue fails, and its words are shown
	sed -i "s|^postfix_dir = .*|postfix_dir = $MI_DIR/no-postfix|" doctor.conf
	mkdir -p "$MI_DIR/no-postfix"
	mi_run run3 "$MAILINIT" doctor --config "$MI_DIR/doctor.conf" --json
	check run3 queue warn '^postqueue -j failed \(exit status\): .*main\.cf'
}

mi_scenario postfix_queue t_postfix_queue
mi_finish
