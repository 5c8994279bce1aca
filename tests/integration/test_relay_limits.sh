#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The relay's limits towards clients hold under abuse, and normal clients are still served:
# - a client trickling one byte a second is cut at smtpd_timeout (a deadline per line, not per
#   read), in a command and in DATA, while another client's message is delivered meanwhile;
# - 500 idle connections are held while a normal client's message is delivered; once they
#   close, the relay's descriptors are back to what they were;
# - a flood of 2000 connections (closed at once, reset, half a command, garbage) leaves it
#   alive, its descriptors back to the baseline, its memory bounded, serving;
# - default_process_limit refuses connections beyond it with 421 4.7.0 and serves again once
#   some close; smtpd_client_connection_count_limit holds a client outside mynetworks
#   (127.0.0.2) to its count while mynetworks clients are exempt;
# - under a hard descriptor limit of 128 (prlimit) the connection limit is lowered to fit:
#   200 connections at once do not make it run out of descriptors.
# No timing assertions: waits are bounded, results are checked by content.
# shellcheck disable=SC2317,SC2031 # scenario functions run through mi_scenario, in subshells
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"
. "$(dirname "$0")/lib_relay.sh"
mi_init
mi_require_fake_smtp
mi_require swaks

# conns.py - the abusive clients (see each mode)
write_conns() {
	cat >conns.py <<-'EOF'
		import os, socket, struct, sys, threading, time
		mode, port = sys.argv[1], int(sys.argv[2])

		def connect(source="127.0.0.1"):
		    return socket.create_connection(("127.0.0.1", port), 10, source_address=(source, 0))

		if mode == "hold":
		    # hold N SOURCE READY RELEASE: open N connections, read each banner, write
		    # "opened N, banners B, refused R" to READY, keep them until RELEASE exists
		    n, source, ready, release = int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
		    held, banners, refused = [], 0, 0
		    for i in range(n):
		        s = connect(source)
		        line = s.recv(512).decode("latin-1")
		        if line.startswith("220"):
		            banners += 1
		        elif line.startswith("421"):
		            refused += 1
		        held.append(s)
		    with open(ready + ".tmp", "w") as f:
		        f.write("opened %d, banners %d, refused %d\n" % (len(held), banners, refused))
		    os.rename(ready + ".tmp", ready)
		    while not os.path.exists(release):
		        time.sleep(0.1)
		    for s in held:
		        s.close()
		elif mode == "slow":
		    # slow PREFIX TEXT: send PREFIX at once after the banner, then TEXT a byte a second
		    # (\n as CRLF in both); print how far it got and what came back
		    prefix = sys.argv[3].replace("\\n", "\r\n").encode()
		    text = sys.argv[4].replace("\\n", "\r\n").encode()
		    s = connect()
		    s.settimeout(1)
		    got, sent = b"", 0
		    try:
		        got += s.recv(512)
		        if prefix:
		            s.sendall(prefix)
		            time.sleep(0.5)
		        for b in text:
		            s.sendall(bytes([b]))
		            sent += 1
		            try:
		                chunk = s.recv(4096)
		                if not chunk:
		                    break
		                got += chunk
		            except socket.timeout:
		                pass
		        s.settimeout(60)
		        while True:
		            chunk = s.recv(4096)
		            if not chunk:
		                break
		            got += chunk
		    except (BrokenPipeError, ConnectionResetError):
		        pass
		    print("sent %d of %d" % (sent, len(text)))
		    print(got.decode("latin-1"))
		elif mode == "flood":
		    # flood N: N connections from 8 threads, four kinds in turn
		    n, counts, lock = int(sys.argv[3]), {}, threading.Lock()
		    def one(i):
		        kind = i % 4
		        try:
		            s = connect()
		            if kind == 1:    # reset at once
		                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
		            elif kind == 2:  # half a command, then gone
		                s.sendall(b"EHLO half")
		            elif kind == 3:  # garbage and a bare LF
		                s.sendall(b"\x00\xff garbage\nQUIT\r\n")
		            s.close()
		            key = "ok"
		        except OSError as e:
		            key = type(e).__name__
		        with lock:
		            counts[key] = counts.get(key, 0) + 1
		    def worker(k):
		        for i in range(k, n, 8):
		            one(i)
		    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
		    for t in threads: t.start()
		    for t in threads: t.join()
		    print(counts)
	EOF
}

# fd_count - the relay's descriptors, its connections to the upstream aside (each delivery
# thread keeps one for the next message, so their number depends on which threads ran)
fd_count() {
	"$MI_PYTHON" - "$MI_RELAY_PID" "$MI_SMTP_PORT" <<-'EOF'
		import os, sys
		pid, port = sys.argv[1], int(sys.argv[2])
		upstream = set()
		for table in ("/proc/net/tcp", "/proc/net/tcp6"):
		    for line in open(table).readlines()[1:]:
		        f = line.split()
		        if int(f[2].rsplit(":", 1)[1], 16) == port:
		            upstream.add(f[9])
		n = 0
		for fd in os.listdir("/proc/%s/fd" % pid):
		    try:
		        link = os.readlink("/proc/%s/fd/%s" % (pid, fd))
		    except OSError:
		        continue
		    if not (link.startswith("socket:[") and link[8:-1] in upstream):
		        n += 1
		print(n)
	EOF
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$MI_RELAY_PID/status"
}

# wait_fds WANT - until the relay holds WANT descriptors (at most 30 s: idle upstream
# connections close after 8 s)
wait_fds() {
	local i
	for ((i = 0; i < 300; i++)); do
		(($(fd_count) == $1)) && return 0
		sleep 0.1
	done
	ls -l "/proc/$MI_RELAY_PID/fd"
	mi_fail "the relay holds $(fd_count) descriptors, want $1 (the baseline)"
}

# hold N SOURCE NAME - conns.py hold in the background; waits until it reports NAME.ready
hold() {
	local i
	"$MI_PYTHON" conns.py hold "$MI_RELAY_PORT" "$1" "$2" "$3.ready" "$3.release" >"$3.out" 2>&1 &
	MI_PIDS+=("$!")
	echo "$!" >>"$MI_TMP/.pids"
	for ((i = 0; i < 600; i++)); do
		[[ -s $3.ready ]] && return 0
		kill -0 "$!" 2>/dev/null || break
		sleep 0.1
	done
	cat "$3.out"
	mi_fail "holding $1 connections did not work"
}

send_one() {
	mi_run "$1" swaks --server "127.0.0.1:$MI_RELAY_PORT" --from a@example.com --to b@example.net \
		--header "Subject: $1" --timeout 30
	mi_assert_rc 0
}

setup() {
	write_conns
	mi_start_fake_smtp '{"require_tls": false}' --no-tls
	mi_relay_setup "relay_tls = none
$1"
}

t_slow_client_cut_at_smtpd_timeout() {
	setup 'smtpd_timeout = 3s'
	mi_start_relay
	"$MI_PYTHON" conns.py slow "$MI_RELAY_PORT" '' 'EHLO slow.example.net\n' >slow-cmd.out 2>&1 &
	local slow1=$!
	"$MI_PYTHON" conns.py slow "$MI_RELAY_PORT" 'HELO x\nMAIL FROM:<a@example.com>\nRCPT TO:<b@example.net>\nDATA\n' \
		'Subject: slow, with a long first line that takes a while to arrive\n\nbody\n.\n' >slow-data.out 2>&1 &
	local slow2=$!
	MI_PIDS+=("$slow1" "$slow2")
	# meanwhile a normal client is served
	send_one normal
	mi_smtp_wait_count 1 30
	wait "$slow1" "$slow2"
	cat slow-cmd.out slow-data.out
	mi_assert_grep slow-cmd.out '^421 4\.4\.2 relay\.test Error: timeout exceeded'
	mi_assert_grep slow-data.out '^354 '
	mi_assert_grep slow-data.out '^421 4\.4\.2 relay\.test Error: timeout exceeded'
	# cut before they could finish
	mi_assert_grep slow-cmd.out '^sent ([0-9]|1[0-9]) of 23$'
	mi_assert_grep slow-data.out '^sent ([0-9]|[1-6][0-9]) of 79$'
	mi_relay_wait_log 'timeout after command from localhost\[127\.0\.0\.1\]' 1 10
	mi_relay_wait_log 'timeout after DATA from localhost\[127\.0\.0\.1\]' 1 10
	[[ $(mi_smtp_count) == 1 ]] || mi_fail "the slow message was relayed"
}

t_500_idle_connections() {
	setup ''
	mi_start_relay
	local base
	# the steady state: one message delivered, its upstream connection kept for the next
	send_one warmup
	mi_smtp_wait_count 1 30
	base=$(fd_count)
	hold 500 127.0.0.1 idle
	mi_assert_grep idle.ready '^opened 500, banners 500, refused 0$'
	(($(fd_count) >= base + 500)) || mi_fail "the relay holds $(fd_count) descriptors with 500 clients"
	send_one normal
	mi_smtp_wait_count 2 30
	touch idle.release
	wait_fds "$base"
	send_one after
	mi_smtp_wait_count 3 30
}

t_flood() {
	setup ''
	mi_start_relay
	local base rss_before rss_after
	send_one warmup
	mi_smtp_wait_count 1 30
	base=$(fd_count)
	rss_before=$(rss_kb)
	mi_run flood "$MI_PYTHON" conns.py flood "$MI_RELAY_PORT" 2000
	mi_assert_rc 0
	cat flood.out
	kill -0 "$MI_RELAY_PID" 2>/dev/null || mi_fail "the relay died in the flood"
	wait_fds "$base"
	rss_after=$(rss_kb)
	echo "RSS before ${rss_before} KiB, after ${rss_after} KiB"
	((rss_after < rss_before + 32768)) || mi_fail "the relay grew from $rss_before to $rss_after KiB in the flood"
	send_one after
	mi_smtp_wait_count 2 30
}

t_connection_limits() {
	setup 'default_process_limit = 20
smtpd_client_connection_count_limit = 5'
	sed -i "s/^listen = .*/listen = 127.0.0.1:$MI_RELAY_PORT, 127.0.0.2:$MI_RELAY_PORT/" \
		"$MI_RELAY_ROOT/etc/mailinit/mailinit.conf"
	mi_start_relay
	local base
	base=$(fd_count)
	# outside mynetworks: 5 served, the rest refused
	hold 8 127.0.0.2 outside
	mi_assert_grep outside.ready '^opened 8, banners 5, refused 3$'
	# mynetworks is exempt from the per-client count, not from default_process_limit
	hold 20 127.0.0.1 inside
	mi_assert_grep inside.ready '^opened 20, banners 15, refused 5$'
	mi_run full swaks --server "127.0.0.1:$MI_RELAY_PORT" --from a@example.com --to b@example.net
	mi_assert_grep full.out '421 4\.7\.0 Error: too many connections'
	touch outside.release
	# the 5 outside sessions closed: 15 left, room for one more
	for ((i = 0; i < 100; i++)); do
		(($(fd_count) <= base + 15)) && break
		sleep 0.1
	done
	send_one after
	mi_smtp_wait_count 1 30
	touch inside.release
}

t_descriptor_limit() {
	setup ''
	# the relay under a hard limit of 128 descriptors
	cat >relay-wrapper <<-EOF
		#!/bin/sh
		exec prlimit --nofile=128:128 "$MAILINIT" "\$@"
	EOF
	chmod +x relay-wrapper
	MAILINIT=$MI_DIR/relay-wrapper mi_start_relay
	mi_assert_grep "$MI_RELAY_LOG" 'default_process_limit 1000 does not fit in the descriptor limit 128: serving at most 64 connections'
	hold 200 127.0.0.1 many
	mi_assert_grep many.ready '^opened 200, banners 64, refused 136$'
	kill -0 "$MI_RELAY_PID" 2>/dev/null || mi_fail "the relay died"
	(($(fd_count) < 128)) || mi_fail "the relay holds $(fd_count) descriptors"
	touch many.release
	for ((i = 0; i < 100; i++)); do
		(($(fd_count) < 64)) && break
		sleep 0.1
	done
	send_one after
	mi_smtp_wait_count 1 30
}

mi_scenario slow-client-cut-at-smtpd-timeout t_slow_client_cut_at_smtpd_timeout
mi_scenario 500-idle-connections t_500_idle_connections
mi_scenario flood t_flood
mi_scenario connection-limits t_connection_limits
mi_scenario descriptor-limit t_descriptor_limit
mi_finish
