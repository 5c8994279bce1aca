# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2030,SC2031
# lib_smtp.sh - SMTP peers for integration tests: the stand-in Amazon SES SMTP upstream
# (peers/fake_smtp.py) and private Postfix instances. Source it after lib.sh, call mi_init first:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/lib_smtp.sh"
#   mi_init
#   mi_require_fake_smtp; mi_require_postfix; mi_require swaks    # exit 77 when missing
#   mi_start_fake_smtp '{"users": {"AKIAUSER": "password"}}'       # MI_SMTP_PORT, MI_SMTP_MAILDIR...
#   mi_postfix_init relay                                          # MI_POSTFIX_DIR, MI_POSTFIX_PORT...
#   mi_start_postfix relay "relayhost = [127.0.0.1]:$MI_SMTP_PORT" ...
#   swaks --server "127.0.0.1:$MI_POSTFIX_PORT" --to x@example.com --from y@example.com
#   mi_postfix_wait_delivered relay 1 30
#
# Every peer binds 127.0.0.1 on a port the OS hands out. Background processes are recorded
# like lib.sh's (MI_PIDS and $MI_TMP/.pids); Postfix instances are also stopped through their
# master.pid by an EXIT hook chained in front of lib.sh's trap (scenario subshells included).
# The system Postfix (/etc/postfix, /var/spool/postfix) is never read, written or signalled.

: "${MI_PYTHON:=/usr/bin/python3}"
: "${MI_PEERS_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/peers}"
MI_SMTP_COUNT=${MI_SMTP_COUNT:-0}
MI__POSTFIX_STARTED=()   # "SHELLPID:NAME" of instances started through mi_start_postfix
MI__POSTFIX_TRAP_SHELL=
MI__POSTFIX_PREV_EXIT=

# mi__smtp_fail MSG - lib.sh's mi_fail when present.
mi__smtp_fail() {
	if declare -F mi_fail >/dev/null; then
		mi_fail "$@"
	fi
	echo "FAIL: $*"
	exit 1
}

# mi__smtp_skip MSG - exit 77.
mi__smtp_skip() {
	if declare -F mi_skip >/dev/null; then
		mi_skip "$@"
	fi
	echo "SKIP: $*"
	exit 77
}

# mi__smtp_root - the private directory: $MI_TMP (lib.sh's mi_init), else fail.
mi__smtp_root() {
	[[ -n ${MI_TMP:-} && -d ${MI_TMP:-} ]] || mi__smtp_fail "lib_smtp.sh: call mi_init first (no \$MI_TMP)"
}

# mi__smtp_register_pid PID - stop PID with the other peers at the end (lib.sh conventions).
mi__smtp_register_pid() {
	MI_PIDS+=("$1")
	echo "$1" >>"$MI_TMP/.pids"
}

# mi__pid_alive PID - PID exists and is not a zombie (a daemonized Postfix master may be
# left unreaped by a container's PID 1, and `kill -0` succeeds on zombies).
mi__pid_alive() {
	local stat
	# read, not $(<file): a file that vanished meanwhile must not end the shell.
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	[[ -n $stat && ${stat:0:1} != Z ]]
}

# mi__pgrp_alive PGID - some process of group PGID is alive (zombies do not count).
mi__pgrp_alive() {
	local f stat rest
	for f in /proc/[0-9]*/stat; do
		{ read -r stat <"$f"; } 2>/dev/null || continue
		rest=${stat##*) }
		read -r -a rest <<<"$rest"
		[[ ${rest[2]:-} == "$1" && ${rest[0]:-Z} != Z ]] && return 0
	done
	return 1
}

# mi_require_fake_smtp - exit 77 unless python3-aiosmtpd is importable by $MI_PYTHON.
mi_require_fake_smtp() {
	[[ ${MI__FAKE_SMTP_OK:-} == 1 ]] && return 0
	[[ -x $MI_PYTHON ]] || mi__smtp_skip "$MI_PYTHON is not installed"
	"$MI_PYTHON" -c 'import aiosmtpd.smtp' 2>/dev/null ||
		mi__smtp_skip "python3-aiosmtpd is not installed (for $MI_PYTHON)"
	command -v openssl >/dev/null 2>&1 || mi__smtp_skip "openssl is not installed"
	MI__FAKE_SMTP_OK=1
}

# mi_require_postfix - exit 77 unless Postfix is installed and we are root (Postfix's master
# starts as root and drops to mail_owner).
mi_require_postfix() {
	local cmd
	for cmd in postfix postconf postmap postqueue; do
		command -v "$cmd" >/dev/null 2>&1 || mi__smtp_skip "$cmd is not installed (Debian: postfix)"
	done
	[[ $(id -u) == 0 ]] || mi__smtp_skip "a private Postfix instance needs root"
	id postfix >/dev/null 2>&1 || mi__smtp_skip "no postfix user"
	getent group postdrop >/dev/null 2>&1 || mi__smtp_skip "no postdrop group"
}

# mi__smtp_openssl_certs DIR - ca.pem, server.pem/.key (SAN localhost, 127.0.0.1) and
# wrong-host.pem/.key with the openssl command line, when make_test_ca.sh is not there.
mi__smtp_openssl_certs() {
	local dir=$1 name san
	mkdir -p "$dir"
	(
		set -e
		umask 077
		cd "$dir"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
			-out ca.pem -days 2 -subj "/CN=mailinit test CA $RANDOM" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
		for name in server wrong-host; do
			if [[ $name == server ]]; then
				san="DNS:localhost,IP:127.0.0.1"
			else
				san="DNS:wrong.example"
			fi
			openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-keyout "$name.key" -out "$name.csr" -subj "/CN=$name" 2>/dev/null
			printf '%s\n' "basicConstraints=critical,CA:FALSE" \
				"keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
				"subjectAltName=$san" "subjectKeyIdentifier=hash" \
				"authorityKeyIdentifier=keyid" >"$name.ext"
			openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
				-days 2 -sha256 -extfile "$name.ext" -out "$name.pem" 2>/dev/null
			rm -f "$name.csr" "$name.ext"
		done
		chmod 0644 ./*.pem
	) || mi__smtp_fail "could not generate test certificates with openssl"
}

# mi_smtp_certs - the run's test CA and server certificates in $MI_TMP/certs (made once per
# run, by peers/make_test_ca.sh when present). Exports MI_TEST_CA (ca.pem) and MI_SMTP_CERT_DIR.
mi_smtp_certs() {
	mi__smtp_root
	MI_SMTP_CERT_DIR=$MI_TMP/certs
	if [[ ! -s $MI_SMTP_CERT_DIR/server.key ]]; then
		if [[ -f $MI_PEERS_DIR/make_test_ca.sh ]]; then
			bash "$MI_PEERS_DIR/make_test_ca.sh" "$MI_SMTP_CERT_DIR" >/dev/null ||
				mi__smtp_fail "make_test_ca.sh failed"
		else
			mi__smtp_openssl_certs "$MI_SMTP_CERT_DIR"
		fi
	fi
	MI_TEST_CA=$MI_SMTP_CERT_DIR/ca.pem
	export MI_TEST_CA MI_SMTP_CERT_DIR
}

# mi_start_fake_smtp CONFIG [--implicit-tls | --no-tls] [--cert-name NAME] - start the stand-in
# SES SMTP server. --cert-name wrong-host serves $MI_SMTP_CERT_DIR/wrong-host.pem (default server).
# CONFIG is a JSON file, or JSON text starting with "{" (written to a file). STARTTLS is offered
# with the run's test certificate unless --no-tls; --implicit-tls is the TLS wrapper of ports
# 465/2465. Exports MI_SMTP_PORT, MI_SMTP_MAILDIR (NNNN.eml + NNNN.json per accepted message),
# MI_SMTP_LOG (JSON lines), MI_SMTP_DIR, MI_SMTP_PID and MI_TEST_CA.
mi_start_fake_smtp() {
	local config=${1:-} arg dir i cert=server
	local -a opts=()
	shift || true
	mi__smtp_root
	mi_require_fake_smtp
	while (($# > 0)); do
		arg=$1
		shift
		case $arg in
		--implicit-tls) opts+=(--implicit-tls) ;;
		--no-tls) opts+=(--no-tls) ;;
		--cert-name) cert=${1:?--cert-name needs a name} && shift ;;
		*) mi__smtp_fail "mi_start_fake_smtp: unknown option $arg" ;;
		esac
	done
	MI_SMTP_COUNT=$((MI_SMTP_COUNT + 1))
	dir=${MI_DIR:-$MI_TMP}/smtp.$MI_SMTP_COUNT
	mkdir -p "$dir"
	if [[ $config == "{"* ]]; then
		printf '%s\n' "$config" >"$dir/config.json"
		config=$dir/config.json
	elif [[ -z $config ]]; then
		echo '{}' >"$dir/config.json"
		config=$dir/config.json
	fi
	[[ -f $config ]] || mi__smtp_fail "mi_start_fake_smtp: no such file: $config"
	mi_smtp_certs
	if [[ " ${opts[*]} " == *" --no-tls "* ]]; then
		((${#opts[@]} == 1)) || mi__smtp_fail "mi_start_fake_smtp: --no-tls excludes --implicit-tls"
		opts=()
	else
		opts+=(--tls-cert "$MI_SMTP_CERT_DIR/$cert.pem" --tls-key "$MI_SMTP_CERT_DIR/$cert.key")
	fi
	: >"$dir/log"
	"$MI_PYTHON" "$MI_PEERS_DIR/fake_smtp.py" --port-file "$dir/port" --maildir "$dir/maildir" \
		--config "$config" --log "$dir/log" "${opts[@]}" >"$dir/stdout" 2>"$dir/stderr" &
	MI_SMTP_PID=$!
	mi__smtp_register_pid "$MI_SMTP_PID"
	for ((i = 0; i < 200; i++)); do
		[[ -s $dir/port ]] && break
		if ! kill -0 "$MI_SMTP_PID" 2>/dev/null; then
			cat "$dir/stderr"
			mi__smtp_fail "the stand-in SMTP server exited at start"
		fi
		sleep 0.05
	done
	[[ -s $dir/port ]] || mi__smtp_fail "the stand-in SMTP server wrote no port within 10 s"
	MI_SMTP_PORT=$(<"$dir/port")
	MI_SMTP_MAILDIR=$dir/maildir
	MI_SMTP_LOG=$dir/log
	MI_SMTP_DIR=$dir
	export MI_SMTP_PORT MI_SMTP_MAILDIR MI_SMTP_LOG MI_SMTP_DIR MI_SMTP_PID
}

# mi_stop_fake_smtp - stop the stand-in SMTP server started last.
mi_stop_fake_smtp() {
	mi__stop_peer MI_SMTP_PID
}

# mi_smtp_count - print how many messages the stand-in upstream ($MI_SMTP_MAILDIR) accepted.
mi_smtp_count() {
	local f n=0
	for f in "$MI_SMTP_MAILDIR"/[0-9]*.json; do
		[[ -e $f ]] && n=$((n + 1))
	done
	echo "$n"
}

# mi__postfix_cool DIR - date main.cf 10 s back. Postfix programs re-read a main.cf younger
# than about 2 s until it is older (dict_load_file's race guard: ~2 s per postmap, postconf,
# postfix start); a test that just wrote the file has no concurrent writer to guard against.
mi__postfix_cool() {
	touch -d "@$((EPOCHSECONDS - 10))" "$1/main.cf"
}

# mi__postfix_export NAME - export MI_POSTFIX_DIR/PORT/LOG/QUEUE of instance NAME.
mi__postfix_export() {
	local base=$MI_TMP/$1
	MI_POSTFIX_DIR=$base/conf
	MI_POSTFIX_PORT=$(<"$base/port")
	MI_POSTFIX_LOG=$base/maillog
	MI_POSTFIX_QUEUE=$base/queue
	export MI_POSTFIX_DIR MI_POSTFIX_PORT MI_POSTFIX_LOG MI_POSTFIX_QUEUE
}

# mi_postfix_init NAME - create (once) the private Postfix instance $MI_TMP/NAME:
#   conf/main.cf, conf/master.cf   configuration (config_directory, `postfix -c`)
#   queue/                         queue_directory (root 0755; Postfix creates its subdirectories)
#   data/                          data_directory (postfix 0700)
#   maillog                        maillog_file, written by the postlogd service
# smtpd listens on 127.0.0.1:<free port>; nothing is delivered locally; mail goes to
# `relayhost` (a closed loopback port until the test sets one), never to the Internet.
# Exports MI_POSTFIX_DIR (config directory), MI_POSTFIX_PORT, MI_POSTFIX_LOG, MI_POSTFIX_QUEUE.
mi_postfix_init() {
	local name=${1:?mi_postfix_init NAME} base port closed
	mi__smtp_root
	mi_require_postfix
	[[ $name =~ ^[A-Za-z0-9_.-]+$ ]] || mi__smtp_fail "mi_postfix_init: bad name '$name'"
	base=$MI_TMP/$name
	if [[ -f $base/conf/main.cf ]]; then
		mi__postfix_export "$name"
		return 0
	fi
	# The unprivileged daemons (user postfix) open data_directory by absolute path: every
	# directory above it must be searchable. mktemp -d made $MI_TMP 0700.
	chmod go+x "$MI_TMP"
	mkdir -p "$base/conf" "$base/queue" "$base/data"
	chmod 0755 "$base" "$base/conf" "$base/queue"
	chown postfix:postfix "$base/data"
	chmod 0700 "$base/data"
	: >"$base/maillog"
	port=$(mi_closed_port)
	closed=$(mi_closed_port)
	echo "$port" >"$base/port"
	cat >"$base/conf/main.cf" <<EOF
# Private Postfix instance of a mailinit integration test (tests/integration/lib_smtp.sh).
compatibility_level = 3.7
queue_directory = $base/queue
data_directory = $base/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mailinit-test.localdomain
mydomain = localdomain
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_peername_lookup = no
# No local delivery: nothing is addressed to this host, and local mail is an error.
mydestination =
relay_domains =
local_recipient_maps =
local_transport = error:5.1.1 local delivery is disabled in this test instance
alias_maps =
alias_database =
biff = no
# Everything goes to relayhost; until a test sets it, that is a closed loopback port.
relayhost = [127.0.0.1]:$closed
# Logging without syslog: the postlog service of master.cf writes this file.
maillog_file = $base/maillog
maillog_file_prefixes = $base
smtp_tls_loglevel = 1
# Quick retries, so that a test can watch a deferral being retried.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 4s
EOF
	cat >"$base/conf/master.cf" <<EOF
# Private Postfix instance of a mailinit integration test. Nothing runs chrooted (column 5).
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$port inet n  -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
	mi__postfix_cool "$base/conf"
	mi__postfix_export "$name"
}

# mi_postconf NAME 'key = value'... - set main.cf parameters of instance NAME (postconf -e).
mi_postconf() {
	local name=${1:?mi_postconf NAME SETTING...}
	shift
	mi_postfix_init "$name"
	(($# > 0)) || return 0
	postconf -c "$MI_TMP/$name/conf" -e "$@" || mi__smtp_fail "postconf -e failed for $name"
	mi__postfix_cool "$MI_TMP/$name/conf"
}

# mi_postmap NAME FILE - build FILE's hash table (FILE.db) with the instance's configuration.
mi_postmap() {
	local name=${1:?mi_postmap NAME FILE} file=${2:?mi_postmap NAME FILE}
	mi_postfix_init "$name"
	postmap -c "$MI_TMP/$name/conf" "hash:$file" || mi__smtp_fail "postmap failed: $file"
}

# mi__postfix_master_pid NAME - print the running master's PID of instance NAME (from
# queue/pid/master.pid; only if that process is a master started for this config directory).
mi__postfix_master_pid() {
	local base=$MI_TMP/$1 pid
	[[ -r $base/queue/pid/master.pid ]] || return 1
	read -r pid <"$base/queue/pid/master.pid" || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	mi__pid_alive "$pid" || return 1
	tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "MAIL_CONFIG=$base/conf" || return 1
	echo "$pid"
}

# mi__postfix_on_exit - EXIT hook: stop the Postfix instances this shell started (all of them
# in the main shell), then run the EXIT trap that was there before (lib.sh's).
mi__postfix_on_exit() {
	local rc=$? entry
	set +e
	for entry in "${MI__POSTFIX_STARTED[@]}"; do
		if [[ $BASHPID == "$$" || ${entry%%:*} == "$BASHPID" ]]; then
			mi_stop_postfix "${entry#*:}"
		fi
	done
	if [[ $BASHPID == "$$" && -n ${MI_TMP:-} && -f $MI_TMP/.postfix ]]; then
		while read -r entry; do
			mi_stop_postfix "$entry"
		done <"$MI_TMP/.postfix"
	fi
	if [[ -n $MI__POSTFIX_PREV_EXIT ]]; then
		(exit "$rc")
		eval "$MI__POSTFIX_PREV_EXIT"
	fi
	exit "$rc"
}

# mi__postfix_hook_exit - chain mi__postfix_on_exit in front of this shell's EXIT trap (once
# per shell: the main script, or a mi_scenario subshell).
mi__postfix_hook_exit() {
	local current
	local -a words=()
	[[ $MI__POSTFIX_TRAP_SHELL == "$BASHPID" ]] && return 0
	# `trap -p EXIT` prints: trap -- 'COMMAND' EXIT (quoted for reuse as shell input).
	current=$(trap -p EXIT)
	[[ -n $current ]] && eval "words=($current)"
	MI__POSTFIX_PREV_EXIT=${words[2]:-}
	[[ $MI__POSTFIX_PREV_EXIT == mi__postfix_on_exit ]] && MI__POSTFIX_PREV_EXIT=
	trap mi__postfix_on_exit EXIT
	MI__POSTFIX_TRAP_SHELL=$BASHPID
}

# mi_start_postfix NAME ['key = value'...] - create instance NAME if needed (mi_postfix_init),
# apply the main.cf settings, start it with `postfix -c DIR start` (bounded) and wait for its
# master. Exports MI_POSTFIX_DIR, MI_POSTFIX_PORT, MI_POSTFIX_LOG, MI_POSTFIX_QUEUE and
# MI_POSTFIX_PID (the master). Stopped by mi_stop_postfix NAME, or at exit.
mi_start_postfix() {
	local name=${1:?mi_start_postfix NAME [SETTING...]} base pid i
	shift
	mi_postfix_init "$name"
	mi_postconf "$name" "$@"
	base=$MI_TMP/$name
	mi__postfix_master_pid "$name" >/dev/null && mi__smtp_fail "Postfix instance $name is already running"
	mi__postfix_hook_exit
	MI__POSTFIX_STARTED+=("$BASHPID:$name")
	echo "$name" >>"$MI_TMP/.postfix"
	if ! timeout -k 5 30 postfix -c "$base/conf" start >"$base/start.out" 2>&1; then
		cat "$base/start.out"
		echo "--- $base/maillog:"
		cat "$base/maillog"
		mi__smtp_fail "postfix -c $base/conf start failed"
	fi
	for ((i = 0; i < 100; i++)); do
		pid=$(mi__postfix_master_pid "$name") && break
		sleep 0.05
	done
	[[ -n $pid ]] || mi__smtp_fail "Postfix instance $name: no master process after start"
	MI_POSTFIX_PID=$pid
	export MI_POSTFIX_PID
	mi__smtp_register_pid "$pid"
}

# mi_stop_postfix NAME - stop instance NAME by its master's PID: TERM, up to 5 s, then KILL
# of its process group (the master runs setsid); then wait (2 s at most) for its children.
mi_stop_postfix() {
	local name=${1:?mi_stop_postfix NAME} pid i
	[[ -n ${MI_TMP:-} ]] || return 0
	pid=$(mi__postfix_master_pid "$name") || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		mi__pid_alive "$pid" || break
		sleep 0.05
	done
	if mi__pid_alive "$pid"; then
		kill -KILL -- "-$pid" 2>/dev/null
		kill -KILL "$pid" 2>/dev/null
	fi
	for ((i = 0; i < 40; i++)); do
		mi__pgrp_alive "$pid" || break
		sleep 0.05
	done
	mi__pgrp_alive "$pid" && kill -KILL -- "-$pid" 2>/dev/null
	mi__drop_peer "$pid"
	return 0
}

# mi__postfix_diagnose NAME - print the instance's log and queue, the upstream's log.
mi__postfix_diagnose() {
	local base=$MI_TMP/$1
	echo "--- Postfix $1 log ($base/maillog, last 30 lines):"
	tail -n 30 "$base/maillog" 2>/dev/null
	echo "--- Postfix $1 queue:"
	postqueue -c "$base/conf" -p 2>&1 | tail -n 20
	if [[ -n ${MI_SMTP_LOG:-} ]]; then
		echo "--- upstream log ($MI_SMTP_LOG, last 20 lines):"
		tail -n 20 "$MI_SMTP_LOG" 2>/dev/null
	fi
}

# mi__smtp_wait_count COUNT TIMEOUT - wait (TIMEOUT seconds, at most 30) until the stand-in
# upstream's maildir holds COUNT messages; status 1 on timeout.
mi__smtp_wait_count() {
	local want=$1 limit=$2 deadline
	((limit > 180)) && limit=180
	deadline=$((${EPOCHREALTIME/[.,]/} / 1000 + limit * 1000))
	while :; do
		(($(mi_smtp_count) >= want)) && return 0
		((${EPOCHREALTIME/[.,]/} / 1000 >= deadline)) && return 1
		sleep 0.1
	done
}

# mi_smtp_wait_count COUNT TIMEOUT - wait (at most 30 s) until the stand-in upstream started
# last has accepted COUNT messages; fail otherwise.
mi_smtp_wait_count() {
	local want=${1:?} limit=${2:-10}
	mi__smtp_wait_count "$want" "$limit" && return 0
	echo "--- upstream log ($MI_SMTP_LOG, last 20 lines):"
	tail -n 20 "$MI_SMTP_LOG" 2>/dev/null
	mi__smtp_fail "the upstream has $(mi_smtp_count) message(s) after ${limit}s, want $want"
}

# mi_postfix_wait_delivered NAME COUNT TIMEOUT - wait (TIMEOUT seconds, at most 30) until the
# stand-in upstream's maildir ($MI_SMTP_MAILDIR) holds COUNT messages relayed by instance
# NAME; fail otherwise, with the instance's log and queue.
mi_postfix_wait_delivered() {
	local name=${1:?} want=${2:?} limit=${3:-10}
	mi__smtp_wait_count "$want" "$limit" && return 0
	mi__postfix_diagnose "$name"
	mi__smtp_fail "Postfix $name: the upstream has $(mi_smtp_count) message(s) after ${limit}s, want $want"
}

# mi_postfix_wait_log NAME REGEX TIMEOUT - wait (at most 30 s) for a line of the instance's
# maillog matching the extended regular expression; fail otherwise.
mi_postfix_wait_log() {
	local name=${1:?} regex=${2:?} limit=${3:-10} deadline
	((limit > 180)) && limit=180
	deadline=$((${EPOCHREALTIME/[.,]/} / 1000 + limit * 1000))
	while :; do
		grep -Eq -- "$regex" "$MI_TMP/$name/maillog" 2>/dev/null && return 0
		((${EPOCHREALTIME/[.,]/} / 1000 >= deadline)) && break
		sleep 0.1
	done
	mi__postfix_diagnose "$name"
	mi__smtp_fail "Postfix $name: no log line matches /$regex/ within ${limit}s"
}

# mi_postfix_queue NAME - print the instance's queue as JSON lines (postqueue -j).
mi_postfix_queue() {
	postqueue -c "$MI_TMP/${1:?}/conf" -j
}

# mi_postfix_flush NAME - retry the deferred mail of instance NAME now (postqueue -f).
mi_postfix_flush() {
	postqueue -c "$MI_TMP/${1:?}/conf" -f
}
