#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The relay as an operator runs it: Postfix's smtp-source as a load of several sessions into
# it and Postfix's smtp-sink behind it (relay_tls = none towards a loopback sink), systemd
# socket activation (systemd-socket-activate passes the listening socket), SIGHUP re-reading
# the credentials, `mailinit queue` on a live queue with flush (SIGUSR1), and the readiness
# and status messages it sends to systemd (NOTIFY_SOCKET).
# shellcheck disable=SC2317,SC2031 # scenario functions run through mi_scenario, in subshells
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"
. "$(dirname "$0")/lib_relay.sh"
mi_init
mi_require_fake_smtp
mi_require smtp-source smtp-sink

# start_sink - Postfix's smtp-sink on a free loopback port, counting what it receives
start_sink() {
	SINK_PORT=$(mi_free_port)
	mkdir -p sink
	# smtp-sink writes its dumps as "nobody": let it reach the directory
	chmod 711 "$MI_TMP"
	chmod 755 "$MI_DIR"
	chmod 777 sink
	smtp-sink -u nobody -c -d "$MI_DIR/sink/%M." "127.0.0.1:$SINK_PORT" 256 >sink.out 2>&1 &
	MI_PIDS+=("$!")
	echo "$!" >>"$MI_TMP/.pids"
	for ((i = 0; i < 100; i++)); do
		"$MI_PYTHON" -c "import socket,sys; socket.create_connection(('127.0.0.1', $SINK_PORT), 1)" 2>/dev/null && return 0
		sleep 0.1
	done
	mi_fail "smtp-sink did not start"
}

sink_count() {
	find "$MI_DIR/sink" -type f | wc -l
}

t_smtp_source_into_relay_into_sink() {
	start_sink
	MI_SMTP_PORT=$SINK_PORT
	mi_relay_setup 'relay_tls = none'
	mi_start_relay
	# 200 messages of 4 KB over 10 sessions
	mi_run src smtp-source -s 10 -m 200 -l 4096 -f load@example.com -t sink@example.net "127.0.0.1:$MI_RELAY_PORT"
	mi_assert_rc 0
	for ((i = 0; i < 300; i++)); do
		(($(sink_count) >= 200)) && break
		sleep 0.1
	done
	(($(sink_count) >= 200)) || mi_fail "the sink got $(sink_count) messages, want 200"
	mi_relay_wait_log 'status=sent' 200 30
}

t_socket_activation() {
	mi_start_fake_smtp '{"require_tls": false}' --no-tls
	mi_relay_setup 'relay_tls = none'
	# the address in `listen` is ignored: systemd's socket is used
	local port
	port=$(mi_free_port)
	systemd-socket-activate -l "127.0.0.1:$port" "$MAILINIT" relay --root "$MI_RELAY_ROOT" >relay.log 2>&1 &
	MI_RELAY_PID=$!
	MI_PIDS+=("$MI_RELAY_PID")
	echo "$MI_RELAY_PID" >>"$MI_TMP/.pids"
	MI_RELAY_LOG=$MI_DIR/relay.log
	# the first connection starts the relay (systemd-socket-activate execs it then)
	mi_run s1 swaks --server "127.0.0.1:$port" --from a@example.com --to b@example.net --timeout 20
	mi_assert_rc 0
	mi_assert_grep "$MI_RELAY_LOG" 'Listening on 1 socket\(s\) from systemd'
	mi_smtp_wait_count 1 20
}

t_sighup_rereads_credentials() {
	# shellcheck disable=SC2119 # no CHECK here (test_relay_privileges passes one)
	mi_relay_sighup_rotation
}

# deferred_queue COUNT SENDER-PREFIX [FAULT-TIMES] - an upstream answering MAIL with 451 (the
# first FAULT-TIMES times, or always), a relay that retries only after 600 s, and COUNT
# messages from SENDER-PREFIX1@example.com on, each deferred once
deferred_queue() {
	local count=$1 prefix=$2 times=${3:+, \"times\": $3} n
	mi_start_fake_smtp "{\"require_tls\": false, \"faults\": [{\"stage\": \"mail\"$times, \"reply\": \"451 4.3.0 try later\"}]}" --no-tls
	mi_relay_setup 'relay_tls = none
minimal_backoff_time = 600s
maximal_backoff_time = 600s'
	mi_start_relay
	for ((n = 1; n <= count; n++)); do
		mi_run "s$n" swaks --server "127.0.0.1:$MI_RELAY_PORT" --from "$prefix$n@example.com" --to r@example.net
		mi_assert_rc 0
	done
	mi_relay_wait_log 'status=deferred \(451 4.3.0 try later\)' "$count" 20
}

t_queue_on_a_live_relay() {
	# an upstream that defers everything: the messages stay queued
	deferred_queue 3 q
	mi_run q "$MAILINIT" queue --root "$MI_RELAY_ROOT" --json
	mi_assert_rc 0
	"$MI_PYTHON" - q.out <<-'EOF' || mi_fail "queue --json: $(cat q.out)"
		import json, sys
		q = json.load(open(sys.argv[1]))
		assert len(q) == 3, q
		for m in q:
		    assert m["status"] == "deferred" and m["attempts"] >= 1, m
		    assert "451 4.3.0 try later" in m["last_reply"], m
		    assert m["recipients"] == ["r@example.net"], m
	EOF
	mi_run l "$MAILINIT" queue --root "$MI_RELAY_ROOT"
	mi_assert_grep l.out '^-- [0-9]+ Kbytes in 3 Requests\.'
}

# flush on a live relay: every deferred message goes out now, and exactly once. The flush
# also scans the queue for messages the schedule lacks; those it has (or that a delivery
# thread holds) must not be scheduled a second time, or two threads deliver them together.
t_flush_delivers_once() {
	# the first attempt of each of the 6 messages is deferred, then the upstream accepts
	deferred_queue 6 f 6
	[[ $(mi_smtp_count) == 0 ]] || mi_fail "delivered before the flush"
	for n in 1 2 3; do
		mi_run flush$n "$MAILINIT" queue --root "$MI_RELAY_ROOT" flush
		mi_assert_rc 0
	done
	mi_smtp_wait_count 6 20
	mi_relay_wait_log ': removed' 6 20
	sleep 2 # time for a second copy to arrive
	[[ $(mi_smtp_count) == 6 ]] || mi_fail "the upstream got $(mi_smtp_count) messages, want 6 (one each)"
	"$MI_PYTHON" - "$MI_SMTP_MAILDIR" <<-'EOF' || mi_fail "a message was delivered twice"
		import glob, json, sys
		senders = sorted(json.load(open(f))["mail_from"] for f in glob.glob(sys.argv[1] + "/*.json"))
		assert senders == ["f%d@example.com" % n for n in range(1, 7)], senders
	EOF
	mi_run q "$MAILINIT" queue --root "$MI_RELAY_ROOT"
	mi_assert_grep q.out '^Mail queue is empty'
}

# a relay started on a full queue: the queue is read on a thread of its own while the SMTP
# server already takes new mail; every message, old and new, reaches the upstream once.
# (The schedule's guard against a message scheduled twice is what flush-delivers-once
# proves: there the scan meets a schedule that holds every message.)
t_start_on_a_full_queue() {
	mi_start_fake_smtp '{"require_tls": false}' --no-tls
	mi_relay_setup 'relay_tls = none'
	"$MAILINIT_BUILD_DIR/tests/tools/spool_tool" "$MI_RELAY_SPOOL" create --count 1000 --batch 100 \
		--sender old@example.com --rcpt r@example.net --body 'queued before the start' >/dev/null ||
		mi_fail "spool_tool could not fill the queue"
	mi_start_relay
	for n in 1 2 3 4 5; do
		mi_run s$n swaks --server "127.0.0.1:$MI_RELAY_PORT" --from "new$n@example.com" --to r@example.net
		mi_assert_rc 0
	done
	mi_relay_wait_log 'Picked up [0-9]+ queued message' 1 60
	mi_smtp_wait_count 1005 120
	sleep 2 # time for a second copy to arrive
	[[ $(mi_smtp_count) == 1005 ]] || mi_fail "the upstream got $(mi_smtp_count) messages, want 1005"
	"$MI_PYTHON" - "$MI_SMTP_MAILDIR" <<-'EOF' || mi_fail "not each message once"
		import collections, glob, json, sys
		senders = collections.Counter(json.load(open(f))["mail_from"] for f in glob.glob(sys.argv[1] + "/*.json"))
		want = {"old@example.com": 1000, **{"new%d@example.com" % n: 1 for n in range(1, 6)}}
		assert senders == want, senders
	EOF
}

t_notify_ready_and_status() {
	mi_start_fake_smtp '{"require_tls": false}' --no-tls
	mi_relay_setup 'relay_tls = none'
	# a datagram socket standing in for systemd's notification socket
	"$MI_PYTHON" - "$MI_DIR/notify.sock" >notify.log 2>&1 <<-'EOF' &
		import socket, sys
		s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
		s.bind(sys.argv[1])
		s.settimeout(30)
		while True:
		    data = s.recv(4096).decode()
		    print(data.replace("\n", " | "), flush=True)
	EOF
	MI_PIDS+=("$!")
	echo "$!" >>"$MI_TMP/.pids"
	for ((i = 0; i < 50; i++)); do [[ -S $MI_DIR/notify.sock ]] && break; sleep 0.1; done
	# systemd's socket is writable by every service user; the relay is mailinit by then
	chmod 0666 "$MI_DIR/notify.sock"
	NOTIFY_SOCKET=$MI_DIR/notify.sock mi_start_relay
	for ((i = 0; i < 100; i++)); do grep -q 'READY=1' notify.log && break; sleep 0.1; done
	mi_assert_grep notify.log 'READY=1'
	mi_assert_grep notify.log 'STATUS=[0-9]+ message\(s\) queued, [0-9]+ deferred'
	mi_stop_relay TERM
	mi_assert_grep notify.log 'STOPPING=1'
}

t_big_header_section() {
	mi_start_fake_smtp '{"require_tls": false}' --no-tls
	mi_relay_setup 'relay_tls = none'
	mi_start_relay
	# 300 headers (about 30 KB: several reads), the Subject last, then the body
	"$MI_PYTHON" - "$MI_RELAY_PORT" <<-'EOF'
		import smtplib, sys
		headers = "".join("X-Filler-%03d: %s\r\n" % (i, "f" * 90) for i in range(300))
		msg = headers + "Subject: after many headers\r\n\r\nBODYMARK\r\n"
		s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
		s.sendmail("h@example.com", ["r@example.net"], msg)
		s.quit()
	EOF
	mi_smtp_wait_count 1 20
	"$MI_PYTHON" - "$MI_SMTP_MAILDIR/0001.eml" <<-'EOF' || mi_fail "the header section was split"
		import email, sys
		m = email.message_from_binary_file(open(sys.argv[1], "rb"))
		assert m["Subject"] == "after many headers", m["Subject"]
		assert m["X-Filler-299"] and m["Message-ID"] and m["Received"], dict(m)
		assert m.get_payload().strip() == "BODYMARK", m.get_payload()[:200]
	EOF
}

# maximal_queue_lifetime: a message deferred for longer bounces, with a DSN (Status 4.4.7)
t_queue_lifetime_expires() {
	mi_start_fake_smtp '{"require_tls": false, "faults": [{"stage": "mail", "match": "old@", "reply": "451 4.3.0 try later"}]}' --no-tls
	mi_relay_setup 'relay_tls = none
maximal_queue_lifetime = 2s
minimal_backoff_time = 1s
maximal_backoff_time = 1s'
	mi_start_relay
	mi_run s1 swaks --server "127.0.0.1:$MI_RELAY_PORT" --from old@example.com --to r@example.net
	mi_assert_rc 0
	mi_relay_wait_log 'to=<r@example.net>.*status=deferred \(451 4.3.0 try later\)' 1 20
	mi_relay_wait_log 'to=<r@example.net>.*status=bounced \(message expired' 1 30
	# the notification goes to the sender, from <>, through the relayhost
	mi_smtp_wait_count 1 30
	grep -q '^Status: 4.4.7' "$MI_SMTP_MAILDIR"/0001.eml || mi_fail "the DSN has no Status 4.4.7: $(cat "$MI_SMTP_MAILDIR"/0001.eml)"
	grep -q 'Final-Recipient: rfc822; *r@example.net' "$MI_SMTP_MAILDIR"/0001.eml || mi_fail "the DSN does not name the recipient"
}

mi_scenario queue-lifetime-expires t_queue_lifetime_expires
mi_scenario big-header-section t_big_header_section
mi_scenario smtp-source-into-relay-into-sink t_smtp_source_into_relay_into_sink
mi_scenario socket-activation t_socket_activation
mi_scenario sighup-rereads-credentials t_sighup_rereads_credentials
mi_scenario queue-on-a-live-relay t_queue_on_a_live_relay
mi_scenario notify-ready-and-status t_notify_ready_and_status
mi_scenario flush-delivers-once t_flush_delivers_once
mi_scenario start-on-a-full-queue t_start_on_a_full_queue
mi_finish
