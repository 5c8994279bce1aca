#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Durability: kill -9 the relay while a burst of 1000 messages is being sent over 10
# connections, start it again, and check that every message that got "250 ... queued as"
# reaches the upstream (at least once; a message committed but not yet acknowledged may
# arrive too).
# shellcheck disable=SC2317,SC2031 # scenario functions run through mi_scenario, in subshells
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"
. "$(dirname "$0")/lib_relay.sh"
mi_init
mi_require_fake_smtp

t_kill_9_loses_nothing() {
	mi_start_fake_smtp '{"require_tls": false}' --no-tls
	mi_relay_setup 'relay_tls = none'
	mi_start_relay
	# the burst, in the background: acknowledged sequence numbers go to acked.txt
	"$MI_PYTHON" - "$MI_RELAY_PORT" >client.log 2>&1 <<'EOF' &
import socket, sys, threading
port = int(sys.argv[1])
lock = threading.Lock()
acked = open("acked.txt", "a")
def reply(f):
    while True:
        line = f.readline()
        if not line:
            raise ConnectionError("closed")
        if line[3:4] != b"-":
            return line
def worker(base):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        f = s.makefile("rb")
        reply(f)
        s.sendall(b"EHLO burst\r\n"); reply(f)
        for i in range(100):
            seq = base + i
            s.sendall(b"MAIL FROM:<burst@example.com>\r\n"); reply(f)
            s.sendall(b"RCPT TO:<sink@example.net>\r\n"); reply(f)
            s.sendall(b"DATA\r\n"); reply(f)
            s.sendall(b"Subject: burst %d\r\nX-Seq: %d\r\n\r\nmessage %d\r\n.\r\n" % (seq, seq, seq))
            r = reply(f)
            if r.startswith(b"250"):
                with lock:
                    acked.write("%d\n" % seq); acked.flush()
    except (OSError, ConnectionError):
        pass
threads = [threading.Thread(target=worker, args=(k * 100,)) for k in range(10)]
for t in threads: t.start()
for t in threads: t.join()
EOF
	local client=$! i
	MI_PIDS+=("$client")
	# kill -9 once a few hundred messages were acknowledged
	for ((i = 0; i < 300; i++)); do
		[[ -f acked.txt ]] && (($(wc -l <acked.txt) >= 200)) && break
		sleep 0.05
	done
	kill -KILL "$MI_RELAY_PID"
	wait "$MI_RELAY_PID" 2>/dev/null || true
	MI_RELAY_PID=
	wait "$client" 2>/dev/null || true
	local n_acked
	n_acked=$(sort -u acked.txt | wc -l)
	echo "acknowledged before the kill: $n_acked"
	((n_acked >= 100)) || mi_fail "too few messages were acknowledged before the kill ($n_acked)"
	# start again: every queued message is picked up
	mi_start_relay
	mi_smtp_wait_count "$n_acked" 120
	# every acknowledged sequence number is in the upstream's maildir
	grep -h '^X-Seq: ' "$MI_SMTP_MAILDIR"/*.eml | awk '{print $2}' | tr -d '\r' | sort -u >delivered.txt
	local missing
	missing=$(comm -23 <(sort -u acked.txt) delivered.txt | head -20)
	[[ -z $missing ]] || mi_fail "acknowledged but never delivered: $(echo "$missing" | tr '\n' ' ')"
	echo "delivered: $(wc -l <delivered.txt) (acknowledged: $n_acked)"
}

mi_scenario kill-9-loses-nothing t_kill_9_loses_nothing
mi_finish
