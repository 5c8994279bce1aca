# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034 # variables set here are read by the parts
# lib_bench.sh - the contenders and peers of bench/run.sh. Source after tests/integration's
# lib.sh, lib_smtp.sh, lib_relay.sh and lib_secrets.sh, then call mi_init: every process
# started here is recorded like the tests' peers and stopped by PID at exit.
#
#   bench_sink_start              Postfix's smtp-sink on loopback, one dump file per message
#                                 in $BENCH_SINK_DIR (tmpfs): SINK_PORT, bench_sink_clear
#   bench_tls_sink_start          a STARTTLS + AUTH front for that sink: a private Postfix
#                                 smtpd (TLS, Cyrus SASL sasldb) whose smtpd_proxy_filter is
#                                 the sink, so nothing is queued there: TLS_SINK_PORT
#   bench_mailinit_start NAME VARIANT   the built-in relay towards the sink: BENCH_PORT,
#                                 BENCH_MEMORY (pid:N), BENCH_ROOT
#   bench_postfix_start NAME VARIANT    a private Postfix relaying to the sink: BENCH_PORT,
#                                 BENCH_MEMORY (pgrp:MASTER)
#   bench_stop                    stop the contender started last
#   bench_record JSON             append a measurement to $BENCH_OUT/measurements.jsonl
#
# VARIANT is "plain" (relay_tls = none towards smtp-sink) or "tls" (STARTTLS + AUTH towards
# the TLS front, certificate of the test CA).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_SMTP_USER=AKIABENCHSMTPUSER01
BENCH_SMTP_PASS='Bench-Passw0rd/for+the+TLS+sink'
BENCH_CONTENDER=
BENCH_CONTENDER_NAME=

# bench_log MSG - progress on stderr (stdout carries the table)
bench_log() {
	printf '%(%H:%M:%S)T %s\n' -1 "$*" >&2
}

# bench_record JSON-OBJECT - one measurement (a JSON object on one line)
bench_record() {
	printf '%s\n' "$1" >>"$BENCH_OUT/measurements.jsonl"
}

# bench_json KEY=VALUE... - a JSON object from pairs (numbers stay numbers), merged with the
# JSON object given as KEY "+" (e.g. +='{"a":1}')
bench_json() {
	"$MI_PYTHON" - "$@" <<-'EOF'
		import json, sys
		d = {}
		for arg in sys.argv[1:]:
		    k, _, v = arg.partition("=")
		    if k == "+":
		        d.update(json.loads(v))
		        continue
		    try:
		        d[k] = int(v)
		    except ValueError:
		        try:
		            d[k] = float(v)
		        except ValueError:
		            d[k] = v
		print(json.dumps(d))
	EOF
}

# bench_wait_smtp PORT [TIMEOUT] [PID] - until an SMTP server greets (220) on 127.0.0.1:PORT:
# a bound socket is not enough (the kernel completes connections to a listening socket
# before the server accepts them); status 1 after TIMEOUT seconds or when process PID is gone
bench_wait_smtp() {
	local port=$1 limit=${2:-30} pid=${3:-0}
	"$MI_PYTHON" - "$port" "$limit" "$pid" <<-'EOF' && return 0
		import socket, sys, time
		deadline = time.monotonic() + float(sys.argv[2])
		pid = int(sys.argv[3])
		while True:
		    try:
		        with socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1) as s:
		            s.settimeout(max(deadline - time.monotonic(), 0.1))
		            if s.makefile("rb").readline().startswith(b"220"):
		                break
		    except OSError:
		        pass
		    if time.monotonic() > deadline:
		        sys.exit(1)
		    try:
		        with open("/proc/%d/stat" % pid) as f:
		            dead = pid and f.read().rsplit(")", 1)[1].split()[0] == "Z"
		    except OSError:
		        dead = True
		    if pid and dead:
		        sys.exit(1)
		    time.sleep(0.02)
	EOF
	mi_fail "no SMTP greeting on 127.0.0.1:$port"
}

bench_register_pid() {
	MI_PIDS+=("$1")
	echo "$1" >>"$MI_TMP/.pids"
}

# bench_sink_start - smtp-sink on 127.0.0.1:$SINK_PORT dumping each message into
# $BENCH_SINK_DIR (on tmpfs: the sink must not be the bottleneck of the machine's disk)
bench_sink_start() {
	BENCH_SINK_DIR=$BENCH_SHM/sink
	chmod 0755 "$BENCH_SHM"
	mkdir -p "$BENCH_SINK_DIR"
	chmod 0777 "$BENCH_SINK_DIR"
	SINK_PORT=$(mi_free_port)
	# -u nobody: smtp-sink drops root; 256: listen backlog (200 sessions of part 5)
	smtp-sink -u nobody -d "$BENCH_SINK_DIR/%H%M%S." "127.0.0.1:$SINK_PORT" 256 \
		>"$MI_TMP/sink.log" 2>&1 &
	SINK_PID=$!
	bench_register_pid "$SINK_PID"
	bench_wait_smtp "$SINK_PORT"
	export SINK_PORT BENCH_SINK_DIR
}

# bench_sink_clear - forget the sink's dumps (between trials)
bench_sink_clear() {
	find "$BENCH_SINK_DIR" -mindepth 1 -delete
}

# bench_sink_count - how many messages the sink holds
bench_sink_count() {
	find "$BENCH_SINK_DIR" -mindepth 1 -maxdepth 1 | wc -l
}

# bench__postfix_defaults NAME - undo lib_smtp.sh's test tweaks (quick retries, TLS logging):
# the contender runs Postfix's defaults except where bench says otherwise
bench__postfix_defaults() {
	postconf -c "$MI_TMP/$1/conf" -X queue_run_delay minimal_backoff_time maximal_backoff_time \
		smtp_tls_loglevel
}

# bench_tls_sink_start - the STARTTLS + AUTH sink: Postfix smtpd with TLS (test CA's
# certificate for 127.0.0.1) and AUTH PLAIN/LOGIN (smtpd_sasl_type = dovecot, answered by
# bench/dovecot_auth.py), both required before MAIL; every transaction is proxied to
# smtp-sink (smtpd_proxy_filter) and never queued.
bench_tls_sink_start() {
	local dir i
	mi_smtp_certs
	mi_postfix_init tlssink
	bench__postfix_defaults tlssink
	dir=$MI_TMP/tlssink/auth
	mkdir -p "$dir"
	chmod 0755 "$dir"
	cp "$MI_SMTP_CERT_DIR/server.pem" "$MI_SMTP_CERT_DIR/server.key" "$dir/"
	chmod 0644 "$dir/server.pem"
	chmod 0600 "$dir/server.key"
	(
		umask 077
		printf '%s' "$BENCH_SMTP_PASS" >"$dir/password"
	)
	"$MI_PYTHON" "$BENCH_DIR/dovecot_auth.py" --socket "$dir/auth.sock" --user "$BENCH_SMTP_USER" \
		--password-file "$dir/password" >"$dir/auth.log" 2>&1 &
	bench_register_pid "$!"
	for ((i = 0; i < 100; i++)); do
		[[ -S $dir/auth.sock ]] && break
		sleep 0.05
	done
	[[ -S $dir/auth.sock ]] || mi_fail "dovecot_auth.py did not start: $(cat "$dir/auth.log")"
	mi_start_postfix tlssink \
		"smtpd_tls_cert_file = $dir/server.pem" "smtpd_tls_key_file = $dir/server.key" \
		"smtpd_tls_security_level = encrypt" "smtpd_tls_auth_only = yes" \
		"smtpd_sasl_auth_enable = yes" "smtpd_sasl_type = dovecot" "smtpd_sasl_path = $dir/auth.sock" \
		"smtpd_relay_restrictions = permit_sasl_authenticated, reject" \
		"smtpd_recipient_restrictions = permit_sasl_authenticated, reject" \
		"smtpd_proxy_filter = 127.0.0.1:$SINK_PORT" \
		"smtpd_client_connection_count_limit = 0" "smtpd_client_connection_rate_limit = 0"
	TLS_SINK_PORT=$MI_POSTFIX_PORT
	TLS_SINK_MASTER=$MI_POSTFIX_PID
	bench_wait_smtp "$TLS_SINK_PORT"
	export TLS_SINK_PORT TLS_SINK_MASTER
}

# bench__upstream VARIANT - "PORT" of the upstream of a variant
bench__upstream() {
	case $1 in
	plain) echo "$SINK_PORT" ;;
	tls) echo "$TLS_SINK_PORT" ;;
	*) mi_fail "unknown variant $1" ;;
	esac
}

# bench_mailinit_prepare NAME VARIANT - the relay's root $MI_TMP/NAME/root (configuration,
# credentials, empty spool) without starting it: BENCH_ROOT, BENCH_PORT, BENCH_SPOOL
bench_mailinit_prepare() {
	local name=$1 variant=$2 upstream root
	upstream=$(bench__upstream "$variant")
	root=$MI_TMP/$name/root
	mkdir -p "$root/etc/mailinit" "$root/var/spool"
	BENCH_PORT=$(mi_free_port)
	{
		echo "relayhost = [127.0.0.1]:$upstream"
		echo "listen = 127.0.0.1:$BENCH_PORT"
		echo "mynetworks = 127.0.0.1/32"
		echo "myhostname = relay.bench.test"
		echo "mydomain = bench.test"
		if [[ $variant == tls ]]; then
			echo "relay_tls = starttls"
			echo "tls_ca_file = $MI_TEST_CA"
		else
			echo "relay_tls = none"
		fi
	} >"$root/etc/mailinit/mailinit.conf"
	if [[ $variant == tls ]]; then
		(
			umask 077
			printf 'smtp_username = %s\nsmtp_password = %s\n' "$BENCH_SMTP_USER" "$BENCH_SMTP_PASS" \
				>"$root/etc/mailinit/credentials"
		)
	fi
	BENCH_ROOT=$root
	BENCH_SPOOL=$root/var/spool/mailinit
}

# bench_mailinit_start NAME VARIANT - the built-in relay (release build), started and ready;
# BENCH_STARTUP_S is the time from exec to the SMTP greeting; BENCH_START_US the exec time. A root prepared before
# (BENCH_ROOT and BENCH_PORT set) is used as it is, else a new one ($MI_TMP/NAME/root).
bench_mailinit_start() {
	local name=$1 variant=$2 start end
	[[ -n ${BENCH_ROOT:-} ]] || bench_mailinit_prepare "$name" "$variant"
	mkdir -p "$MI_TMP/$name"
	start=${EPOCHREALTIME/[.,]/}
	"$MAILINIT" relay --root "$BENCH_ROOT" >>"$MI_TMP/$name/relay.log" 2>&1 &
	BENCH_CONTENDER=$!
	BENCH_CONTENDER_NAME=mailinit
	bench_register_pid "$BENCH_CONTENDER"
	(bench_wait_smtp "$BENCH_PORT" 600 "$BENCH_CONTENDER") || {
		tail -n 20 "$MI_TMP/$name/relay.log" >&2
		mi_fail "the relay ($name) did not start"
	}
	end=${EPOCHREALTIME/[.,]/}
	BENCH_STARTUP_S=$("$MI_PYTHON" -c "print(($end - $start) / 1e6)")
	BENCH_START_US=$start
	BENCH_MEMORY=pid:$BENCH_CONTENDER
	BENCH_LOG=$MI_TMP/$name/relay.log
}

# bench_mailinit_wait_queue_read - after bench_mailinit_start on a queue that is not empty:
# wait until the relay logs that it has read the queue (it does so on a thread of its own,
# after the greeting); BENCH_QUEUE_READ_S is the time from exec
bench_mailinit_wait_queue_read() {
	local i end
	for ((i = 0; i < 6000; i++)); do
		grep -q 'Picked up [0-9]* queued message' "$BENCH_LOG" && break
		kill -0 "$BENCH_CONTENDER" 2>/dev/null || mi_fail "the relay exited: $(tail -n 5 "$BENCH_LOG")"
		sleep 0.1
	done
	grep -q 'Picked up [0-9]* queued message' "$BENCH_LOG" || mi_fail "the relay did not read its queue in 600 s"
	end=${EPOCHREALTIME/[.,]/}
	BENCH_QUEUE_READ_S=$("$MI_PYTHON" -c "print(($end - $BENCH_START_US) / 1e6)")
}

# bench_postfix_start NAME VARIANT - a private Postfix relaying everything to the sink (or
# its TLS front with STARTTLS required and AUTH from a hash: map, as `mailinit firstboot`
# configures Postfix for SES). Concurrency, process limits and durability are Postfix's
# defaults (the queue file is fsynced before smtpd answers 250).
bench_postfix_start() {
	local name=$1 variant=$2 upstream dir
	upstream=$(bench__upstream "$variant")
	mi_postfix_init "$name"
	dir=$MI_POSTFIX_DIR
	bench__postfix_defaults "$name"
	local -a settings=("relayhost = [127.0.0.1]:$upstream" "myhostname = relay.bench.test"
		"mydomain = bench.test")
	if [[ $variant == tls ]]; then
		(
			umask 077
			printf '[127.0.0.1]:%s %s:%s\n' "$upstream" "$BENCH_SMTP_USER" "$BENCH_SMTP_PASS" >"$dir/sasl_passwd"
		)
		postmap -c "$dir" "hash:$dir/sasl_passwd"
		settings+=("smtp_tls_security_level = encrypt" "smtp_tls_CAfile = $MI_TEST_CA"
			"smtp_sasl_auth_enable = yes" "smtp_sasl_password_maps = hash:$dir/sasl_passwd"
			"smtp_sasl_security_options = noanonymous")
	fi
	mi_start_postfix "$name" "${settings[@]}"
	bench_wait_smtp "$MI_POSTFIX_PORT"
	BENCH_PORT=$MI_POSTFIX_PORT
	BENCH_CONTENDER=$MI_POSTFIX_PID
	BENCH_CONTENDER_NAME=postfix:$name
	BENCH_MEMORY=pgrp:$MI_POSTFIX_PID
	BENCH_LOG=$MI_POSTFIX_LOG
}

# bench_stop - stop the contender started last (the relay by PID, Postfix by its master)
bench_stop() {
	case $BENCH_CONTENDER_NAME in
	mailinit)
		MI_RELAY_PID=$BENCH_CONTENDER
		mi_stop_relay TERM
		mi__forget "$BENCH_CONTENDER"
		;;
	postfix:*)
		mi_stop_postfix "${BENCH_CONTENDER_NAME#postfix:}"
		;;
	esac
	BENCH_CONTENDER=
	BENCH_CONTENDER_NAME=
}


# bench_wait_sink_count N TIMEOUT - until the sink holds N messages; fail otherwise
bench_wait_sink_count() {
	local want=$1 limit=$2 i
	for ((i = 0; i < limit * 20; i++)); do
		(($(bench_sink_count) >= want)) && return 0
		sleep 0.05
	done
	mi_fail "the sink has $(bench_sink_count) messages after ${limit}s, want $want"
}
