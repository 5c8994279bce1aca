#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_queue_cmd - `mailinit queue` and `mailq` on a spool under --root / MAILINIT_ROOT filled
# through relay/spool.c by tests/tools/spool_tool: the Postfix mailq listing (header, '*' for
# active and '!' for held mail, the last reply of deferred mail right-aligned above its
# recipients, delivered recipients left out, the Kbytes/Requests footer, "Mail queue is
# empty"), --json checked with Python's json module, show, delete, flush with a stand-in relay
# that traps SIGUSR1 (and with no relay, or a stale pid), spool_dir from mailinit.conf then
# relay.conf, a malformed queue file listed as "(corrupt)" with a warning, sysexits codes.
# shellcheck disable=SC2317,SC2031 # scenario functions run through mi_scenario, in subshells
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mi_init

TOOL=$MAILINIT_BUILD_DIR/tests/tools/spool_tool
[[ -x $TOOL ]] || mi_fail "$TOOL is missing (built by tests/tools)"
export TZ=UTC LC_ALL=C

# spool - the default spool_dir under the scenario's root, created as the relay would
spool() {
	mkdir -p "$MI_DIR/root/var/spool"
	echo "$MI_DIR/root/var/spool/mailinit"
}

# queue_msg ARGS... - spool_tool create in the default spool; prints the queue id
queue_msg() {
	"$TOOL" "$(spool)" create "$@"
}

t_empty() {
	# no spool at all: empty, and nothing is created
	mi_run run "$MAILINIT" queue --root "$MI_DIR/root"
	mi_assert_rc 0
	mi_assert_grep run.out '^Mail queue is empty$'
	mi_assert_lines run.out 1
	mi_assert_empty run.err
	[[ ! -e $MI_DIR/root/var/spool/mailinit ]] || mi_fail "the queue command created the spool"
	mi_run json "$MAILINIT" queue --root "$MI_DIR/root" --json list
	mi_assert_rc 0
	"$MI_PYTHON" -c 'import json, sys; assert json.load(open(sys.argv[1])) == []' json.out ||
		mi_fail "--json of an empty queue is not []"
	# an empty spool
	"$TOOL" "$(spool)" create --count 0 >/dev/null
	mi_run run2 "$MAILINIT" queue --root "$MI_DIR/root" list
	mi_assert_rc 0
	mi_assert_grep run2.out '^Mail queue is empty$'
}

# fill - four messages: deferred (one recipient done), active with a null sender, held, and a
# malformed file; ids in ids.txt (deferred active held corrupt)
fill() {
	local d a h
	d=$(queue_msg --sender app@example.com --rcpt done@example.com --rcpt later@example.org \
		--arrival 1700000000 --body $'Subject: deferred\r\n\r\nbody\r\n')
	"$TOOL" "$(spool)" state "$d" --attempts 2 --done 0 --next-attempt 1900000000 \
		--last-reply '451 4.3.0 Temporary failure, try again later'
	printf 'x%.0s' {1..3000} >big.txt
	a=$(queue_msg --sender '' --rcpt bounce@example.net --arrival 1700000100 --body-file big.txt)
	h=$(queue_msg --sender held@example.com --rcpt h1@example.com --rcpt h2@example.com \
		--arrival 1700000200)
	"$TOOL" "$(spool)" state "$h" --hold
	printf 'not a queue file\n' >"$(spool)/queue/00000000CAFE"
	touch -d '2030-01-01 00:00:00' "$(spool)/queue/00000000CAFE" # listed last
	echo "$d $a $h 00000000CAFE" >ids.txt
}

t_list() {
	local d a h c
	fill
	read -r d a h c <ids.txt
	mi_run run "$MAILINIT" queue --root "$MI_DIR/root"
	mi_assert_rc 0
	mi_assert_grep run.out '^-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------$'
	# showq_compat: "%-11s %7ld %20.20s %s" for the sender, 41 spaces before a recipient
	mi_assert_grep run.out "^$d +27 Tue Nov 14 22:13:20  app@example.com\$"
	mi_assert_grep run.out '^ {41}later@example\.org$'
	mi_assert_no_grep run.out 'done@example\.com'
	mi_assert_grep run.out "^$a\\* +3000 Tue Nov 14 22:15:00  MAILER-DAEMON\$"
	mi_assert_grep run.out '^ {41}bounce@example\.net$'
	mi_assert_grep run.out "^$h! +[0-9]+ Tue Nov 14 22:16:40  held@example\\.com\$"
	mi_assert_grep run.out '^ {41}h1@example\.com$'
	mi_assert_grep run.out '^ {41}h2@example\.com$'
	mi_assert_grep run.out "^$c +17 Tue Jan  1 00:00:00  \\(corrupt\\)\$"
	mi_assert_grep run.out '^-- 3 Kbytes in 4 Requests\.$'
	# the reason line ends at column 78, right above the recipients it concerns
	"$MI_PYTHON" - run.out "$d" <<'EOF' || mi_fail "the deferred entry is not laid out as Postfix's"
import sys
lines = open(sys.argv[1]).read().split("\n")
i = next(n for n, l in enumerate(lines) if l.startswith(sys.argv[2]))
reason = "(451 4.3.0 Temporary failure, try again later)"
assert lines[i + 1] == " " * (78 - len(reason)) + reason, repr(lines[i + 1])
assert lines[i + 2] == " " * 41 + "later@example.org", repr(lines[i + 2])
assert lines[i + 3] == "", repr(lines[i + 3])
EOF
	# arrival order, one blank line between entries
	[[ $(grep -Eo '^[0-9A-F]{10,12}' run.out | tr '\n' ' ') == "$d $a $h $c " ]] ||
		mi_fail "entries are not in arrival order: $(grep -Eo '^[0-9A-F]{10,12}' run.out | tr '\n' ' ')"
	mi_assert_lines run.err 1
	mi_assert_grep run.err "^mailinit: warning: .*queue/$c is malformed"
}

t_json() {
	local d a h c
	fill
	read -r d a h c <ids.txt
	mi_run run "$MAILINIT" queue --json --root "$MI_DIR/root"
	mi_assert_rc 0
	mi_assert_grep run.err "warning: .*$c is malformed"
	"$MI_PYTHON" - run.out "$d" "$a" "$h" "$c" <<'EOF' || { mi_show_run; mi_fail "--json output"; }
import json, re, sys
got = json.load(open(sys.argv[1]))
d, a, h, c = sys.argv[2:6]
assert [m["queue_id"] for m in got] == [d, a, h, c], got
by = {m["queue_id"]: m for m in got}
keys = {"queue_id", "sender", "recipients", "size", "arrival_time", "status", "attempts", "last_reply"}
for m in got:
    assert keys <= set(m), m
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["arrival_time"]), m
assert by[d] == dict(by[d], sender="app@example.com", recipients=["later@example.org"], size=27,
                     arrival_time="2023-11-14T22:13:20Z", status="deferred", attempts=2,
                     last_reply="451 4.3.0 Temporary failure, try again later")
assert by[a] == dict(by[a], sender="", recipients=["bounce@example.net"], size=3000,
                     status="active", attempts=0, last_reply=None)
assert by[h]["status"] == "hold" and by[h]["recipients"] == ["h1@example.com", "h2@example.com"]
assert by[h]["last_reply"] is None
assert by[c]["status"] == "corrupt" and by[c]["sender"] is None and by[c]["size"] == 17
EOF
	# options may follow the command
	mi_run after "$MAILINIT" queue list --root "$MI_DIR/root" --json
	mi_assert_rc 0
	cmp run.out after.out || mi_fail "'list --json' differs from '--json list'"
}

t_show() {
	local d a h c
	fill
	read -r d a h c <ids.txt
	mi_run run "$MAILINIT" queue --root "$MI_DIR/root" show "$d"
	mi_assert_rc 0
	mi_assert_grep run.out "^\\*\\*\\* ENVELOPE RECORDS $d \\*\\*\\*\$"
	mi_assert_grep run.out '^sender: app@example\.com$'
	mi_assert_grep run.out '^done_recipient: done@example\.com$'
	mi_assert_grep run.out '^recipient: later@example\.org$'
	mi_assert_grep run.out '^status: deferred$'
	mi_assert_grep run.out '^last_reply: 451 4\.3\.0 Temporary failure, try again later$'
	mi_assert_grep run.out '^next_attempt: 2030-03-17T17:46:40Z$'
	mi_assert_grep run.out "^\\*\\*\\* MESSAGE CONTENTS $d \\*\\*\\*\$"
	mi_assert_grep run.out $'^Subject: deferred\r$'
	mi_assert_grep run.out "^\\*\\*\\* END OF MESSAGE $d \\*\\*\\*\$"
	mi_assert_empty run.err
	mi_run json "$MAILINIT" queue --root "$MI_DIR/root" --json show "$a"
	mi_assert_rc 0
	"$MI_PYTHON" -c '
import json, sys
m = json.load(open(sys.argv[1]))
assert m["message"] == "x" * 3000 and m["sender"] == "" and m["status"] == "active", m' json.out ||
		mi_fail "show --json"
	mi_run unknown "$MAILINIT" queue --root "$MI_DIR/root" show 0123456789AB
	mi_assert_rc 69
	mi_assert_error '0123456789AB: no such message'
	mi_run bad "$MAILINIT" queue --root "$MI_DIR/root" show ../../etc/passwd
	mi_assert_rc 69
	mi_assert_error 'no such message'
	mi_run corrupt "$MAILINIT" queue --root "$MI_DIR/root" show "$c"
	mi_assert_rc 65
	mi_assert_error "$c is malformed"
}

t_delete() {
	local d a h c
	fill
	read -r d a h c <ids.txt
	mi_run run "$MAILINIT" queue --root "$MI_DIR/root" delete "$d"
	mi_assert_rc 0
	mi_assert_grep run.out "^$d: removed\$"
	[[ ! -e $(spool)/queue/$d && ! -e $(spool)/state/$d ]] || mi_fail "$d is still there"
	mi_run again "$MAILINIT" queue --root "$MI_DIR/root" delete "$d"
	mi_assert_rc 69
	mi_assert_error "$d: no such message in the queue"
	mi_run corrupt "$MAILINIT" queue --root "$MI_DIR/root" delete "$c"
	mi_assert_rc 0
	mi_run list "$MAILINIT" queue --root "$MI_DIR/root"
	mi_assert_grep list.out '^-- 2 Kbytes in 2 Requests\.$'
	mi_assert_empty list.err
	mi_run usage "$MAILINIT" queue --root "$MI_DIR/root" delete
	mi_assert_rc 64
}

# start_fake_relay - a process that records SIGUSR1 in usr1.log; its pid in relay.pid
start_fake_relay() {
	bash -c 'trap "echo USR1 >>usr1.log" USR1; while :; do sleep 0.05; done' &
	FAKE_PID=$!
	MI_PIDS+=("$FAKE_PID")
	echo "$FAKE_PID" >>"$MI_TMP/.pids"
	echo "$FAKE_PID" >"$(spool)/relay.pid"
}

t_flush() {
	local d a h c i
	fill
	read -r d a h c <ids.txt
	start_fake_relay
	mi_run run "$MAILINIT" queue --root "$MI_DIR/root" flush
	mi_assert_rc 0
	mi_assert_grep run.out "^Flushed 3 messages: sent SIGUSR1 to the relay \\(pid $FAKE_PID\\)"
	for ((i = 0; i < 100; i++)); do
		[[ -s usr1.log ]] && break
		sleep 0.05
	done
	mi_assert_grep usr1.log '^USR1$'
	mi_assert_lines usr1.log 1
	"$TOOL" "$(spool)" show-state "$d" >state.txt
	mi_assert_grep state.txt '^attempts=2 next_attempt=0 .*hold=0 last_reply=451 '
	"$TOOL" "$(spool)" show-state "$h" >state.txt
	mi_assert_grep state.txt 'next_attempt=0 .*hold=1'
	mi_assert_grep run.err "warning: .*$c is malformed"

	mi_run json "$MAILINIT" queue --root "$MI_DIR/root" --json flush
	mi_assert_rc 0
	"$MI_PYTHON" -c '
import json, sys
assert json.load(open(sys.argv[1])) == {"flushed": 3, "relay_pid": int(sys.argv[2]), "signalled": True}
' json.out "$FAKE_PID" || mi_fail "flush --json"

	# the relay is gone: its stale pid is not signalled
	mi__kill "$FAKE_PID"
	mi_run stale "$MAILINIT" queue --root "$MI_DIR/root" flush
	mi_assert_rc 0
	mi_assert_grep stale.out "^Flushed 3 messages: the relay is not running \\(pid $FAKE_PID in .*relay\\.pid is gone\\)"
	rm "$(spool)/relay.pid"
	mi_run none "$MAILINIT" queue --root "$MI_DIR/root" flush
	mi_assert_rc 0
	mi_assert_grep none.out '^Flushed 3 messages: the relay is not running \(no .*relay\.pid\); they are tried when it starts\.$'
	echo 'garbage' >"$(spool)/relay.pid"
	mi_run garbage "$MAILINIT" queue --root "$MI_DIR/root" flush
	mi_assert_rc 0
	mi_assert_grep garbage.err 'relay\.pid does not hold a process id'
}

t_flush_as_root_keeps_owner() {
	# `mailinit queue flush` as root must leave state files the relay's user can read.
	local id owner
	[[ $(id -u) == 0 ]] || mi_skip "needs root"
	id=$(queue_msg)
	"$TOOL" "$(spool)" state "$id" --attempts 1 --next-attempt 1900000000
	chown -R 65534:65534 "$(spool)"
	mi_run run "$MAILINIT" queue --root "$MI_DIR/root" flush
	mi_assert_rc 0
	owner=$(stat -c %u:%g "$(spool)/state/$id")
	[[ $owner == 65534:65534 ]] || mi_fail "state file owned by $owner after flush"
}

t_mailq() {
	local d a h c
	fill
	read -r d a h c <ids.txt
	ln -s "$MAILINIT" mailq
	mi_run queue "$MAILINIT" queue --root "$MI_DIR/root" list
	MAILINIT_ROOT=$MI_DIR/root mi_run mailq ./mailq
	mi_assert_rc 0
	cmp queue.out mailq.out || mi_fail "mailq and 'mailinit queue list' differ"
	# sendmail's mailq options are accepted and ignored
	MAILINIT_ROOT=$MI_DIR/root mi_run mailq_v ./mailq -v -Ac -h
	mi_assert_rc 0
	cmp queue.out mailq_v.out || mi_fail "mailq -v -Ac differs"
	MAILINIT_ROOT=$MI_DIR/root mi_run mailq_json ./mailq --json
	mi_assert_rc 0
	"$MI_PYTHON" -c 'import json, sys; assert len(json.load(open(sys.argv[1]))) == 4' mailq_json.out ||
		mi_fail "mailq --json"
	mkdir -p empty
	MAILINIT_ROOT=$MI_DIR/empty mi_run empty ./mailq
	mi_assert_rc 0
	mi_assert_grep empty.out '^Mail queue is empty$'
}

t_config() {
	local id
	# relay.conf (written by firstboot) wins over mailinit.conf
	mi_write_conf $'spool_dir = /srv/a\n'
	printf 'spool_dir = /srv/b\n' >"$MI_DIR/root/etc/mailinit/relay.conf"
	mkdir -p "$MI_DIR/root/srv"
	id=$("$TOOL" "$MI_DIR/root/srv/b" create --rcpt b@example.com)
	"$TOOL" "$MI_DIR/root/srv/a" create --rcpt a@example.com >/dev/null
	mi_run run "$MAILINIT" queue --root "$MI_DIR/root"
	mi_assert_rc 0
	mi_assert_grep run.out "^$id\\*"
	mi_assert_grep run.out 'b@example\.com'
	mi_assert_no_grep run.out 'a@example\.com'
	mi_assert_grep run.out '^-- 0 Kbytes in 1 Request\.$'
	rm "$MI_DIR/root/etc/mailinit/relay.conf"
	mi_run a "$MAILINIT" queue --root "$MI_DIR/root"
	mi_assert_grep a.out 'a@example\.com'
	# a configuration error names the file and the line
	mi_write_conf $'# test\nspool_dir = /srv/a\nno_such_key = 1\n'
	mi_run bad "$MAILINIT" queue --root "$MI_DIR/root"
	mi_assert_rc 78
	mi_assert_error 'mailinit\.conf:3'
	# usage errors
	mi_run usage "$MAILINIT" queue --root "$MI_DIR/root" frobnicate
	mi_assert_rc 64
	mi_run usage2 "$MAILINIT" queue --root "$MI_DIR/root" --bogus
	mi_assert_rc 64
	mi_run usage3 "$MAILINIT" queue --root "$MI_DIR/root" show
	mi_assert_rc 64
	mi_run help "$MAILINIT" queue --help
	mi_assert_rc 0
	mi_assert_grep help.out '^Usage: mailinit queue '
}

mi_scenario empty t_empty
mi_scenario list t_list
mi_scenario json t_json
mi_scenario show t_show
mi_scenario delete t_delete
mi_scenario flush t_flush
mi_scenario flush_as_root_keeps_owner t_flush_as_root_keeps_owner
mi_scenario mailq t_mailq
mi_scenario config t_config
mi_finish
