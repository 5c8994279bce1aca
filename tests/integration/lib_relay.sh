# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034
# (SC2034: MI_RELAY_RC is for the tests.)
# lib_relay.sh - run the built-in relay (`mailinit relay`) in tests. Source after lib.sh and
# lib_smtp.sh:
#
#   mi_relay_setup [EXTRA-CONF-LINES]   # root $MI_DIR/root with mailinit.conf pointing at the
#                                       # upstream started with mi_start_fake_smtp; exports
#                                       # MI_RELAY_ROOT, MI_RELAY_PORT, MI_RELAY_SPOOL
#   mi_relay_credentials USER PASS      # writes the credentials file (0600, owned by mailinit)
#
# The relay started as root switches to mail_owner (mailinit) once it has bound its sockets,
# as it does in production: mi_relay_setup makes the test's directories searchable for it.
#   mi_start_relay                      # starts it, waits until it accepts; MI_RELAY_PID, MI_RELAY_LOG
#   mi_stop_relay [SIGNAL]              # TERM by default; waits for the exit
#   mi_relay_wait_log REGEX [COUNT] [TIMEOUT]
#   mi_relay_sighup_rotation [CHECK...] # the scenario "SIGHUP re-reads rotated credentials"
#
# firstboot in builtin mode, with a stand-in systemd (lib_dbus.sh) that restarts the relay:
#   mi_firstboot_relay_setup CONF-LINE...   # MI_RELAY_ROOT, MI_RELAY_PORT; relay.log, relay.pid
#   mi_firstboot_relay_stop                 # stops the relay the stand-in systemd started

: "${MI_PYTHON:=/usr/bin/python3}"

# mi_free_port - a TCP port on 127.0.0.1 that nothing listens on now (lib.sh's mi_closed_port)
mi_free_port() {
	mi_closed_port
}

# mi__relay_dirs - the relay's root $MI_DIR/root (etc/mailinit, var/spool) and a free loopback
# port for it; exports MI_RELAY_ROOT, MI_RELAY_PORT, MI_RELAY_SPOOL.
mi__relay_dirs() {
	mi_ensure_system_users
	# the relay runs as mailinit after binding: the test's directories must be searchable
	chmod go+x "$MI_TMP" "$MI_DIR"
	MI_RELAY_ROOT=$MI_DIR/root
	MI_RELAY_PORT=$(mi_free_port)
	MI_RELAY_SPOOL=$MI_RELAY_ROOT/var/spool/mailinit
	mkdir -p "$MI_RELAY_ROOT/etc/mailinit" "$MI_RELAY_ROOT/var/spool"
	export MI_RELAY_ROOT MI_RELAY_PORT MI_RELAY_SPOOL
}

# mi__relay_root EXTRA-CONF-LINES TRANSPORT-LINE... - mi__relay_dirs, and a mailinit.conf of
# the TRANSPORT-LINEs (where the relay delivers), its listen address, mynetworks, test names,
# quick retries, then EXTRA-CONF-LINES (later lines win).
mi__relay_root() {
	local extra=$1
	shift
	mi__relay_dirs
	{
		printf '%s\n' "$@"
		cat <<-EOF
			listen = 127.0.0.1:$MI_RELAY_PORT
			mynetworks = 127.0.0.1/32
			myhostname = relay.test
			mydomain = example.com
			minimal_backoff_time = 1s
			maximal_backoff_time = 2s
			$extra
		EOF
	} >"$MI_RELAY_ROOT/etc/mailinit/mailinit.conf"
}

# mi_relay_setup [EXTRA-CONF-LINES] - a relay root (mi__relay_root) that relays to the upstream
# started with mi_start_fake_smtp, trusting MI_TEST_CA.
mi_relay_setup() {
	mi__relay_root "${1:-}" "relayhost = [127.0.0.1]:${MI_SMTP_PORT:?start the upstream first}" \
		"tls_ca_file = ${MI_TEST_CA:-/etc/ssl/certs/ca-certificates.crt}"
}

# mi_relay_credentials USER PASS - the root's credentials file, as firstboot writes it
mi_relay_credentials() {
	local file=$MI_RELAY_ROOT/etc/mailinit/credentials
	(
		umask 077
		printf 'smtp_username = %s\nsmtp_password = %s\n' "$1" "$2" >"$file.new"
		# as firstboot writes it: readable by the relay's user only
		chown mailinit:mailinit "$file.new"
		mv -f "$file.new" "$file"
	)
}

# mi_firstboot_relay_setup CONF-LINE... - a root for `mailinit firstboot` in builtin mode
# (mi__relay_dirs) whose mailinit.conf has mode = builtin, the CONF-LINEs, mydomain
# example.com, notify_to ops@example.com and the relay's listen address; and a stand-in systemd
# (lib_dbus.sh) whose RestartUnit("mailinit-relay.service") does what `systemctl restart` would:
# stop the relay of $MI_DIR/relay.pid, start `mailinit relay` on the root (log
# $MI_DIR/relay.log, PID in relay.pid) and wait until it has started.
mi_firstboot_relay_setup() {
	mi__relay_dirs
	cat >"$MI_DIR/restart-relay.sh" <<-EOF
		#!/bin/bash
		[[ -s relay.pid ]] && kill \$(cat relay.pid) 2>/dev/null && sleep 0.5
		setsid "$MAILINIT" relay --root "$MI_RELAY_ROOT" >>"$MI_DIR/relay.log" 2>&1 </dev/null &
		echo \$! >"$MI_DIR/relay.pid"
		for i in \$(seq 100); do grep -q 'relay .* started' "$MI_DIR/relay.log" 2>/dev/null && exit 0; sleep 0.1; done
		exit 1
	EOF
	chmod +x "$MI_DIR/restart-relay.sh"
	cat >"$MI_DIR/systemd.json" <<-EOF
		{"results": {"mailinit-relay.service": "done"},
		 "commands": {"mailinit-relay.service": ["$MI_DIR/restart-relay.sh"]}}
	EOF
	mi_start_fake_systemd "$MI_DIR/systemd.json"
	{
		echo 'mode = builtin'
		printf '%s\n' "$@"
		cat <<-EOF
			mydomain = example.com
			notify_to = ops@example.com
			listen = 127.0.0.1:$MI_RELAY_PORT
			mynetworks = 127.0.0.1/32
		EOF
	} >"$MI_RELAY_ROOT/etc/mailinit/mailinit.conf"
}

# mi_firstboot_relay_stop - stop the relay the stand-in systemd of mi_firstboot_relay_setup
# started (it runs in a session of its own: no peer of lib.sh's); for a scenario's EXIT trap.
mi_firstboot_relay_stop() {
	[[ -s $MI_DIR/relay.pid ]] && kill "$(cat "$MI_DIR/relay.pid")" 2>/dev/null
	return 0
}

# mi_start_relay - start `mailinit relay` on $MI_RELAY_ROOT; wait until its log says it started
mi_start_relay() {
	local i
	MI_RELAY_LOG=$MI_DIR/relay.log
	: >>"$MI_RELAY_LOG"
	"$MAILINIT" relay --root "$MI_RELAY_ROOT" >>"$MI_RELAY_LOG" 2>&1 &
	MI_RELAY_PID=$!
	MI_PIDS+=("$MI_RELAY_PID")
	echo "$MI_RELAY_PID" >>"$MI_TMP/.pids"
	for ((i = 0; i < 200; i++)); do
		if ! kill -0 "$MI_RELAY_PID" 2>/dev/null; then
			cat "$MI_RELAY_LOG"
			mi_fail "the relay exited at start"
		fi
		grep -q 'mailinit relay .* started' "$MI_RELAY_LOG" && break
		sleep 0.05
	done
	grep -q 'mailinit relay .* started' "$MI_RELAY_LOG" || {
		cat "$MI_RELAY_LOG"
		mi_fail "the relay did not start within 10 s"
	}
	export MI_RELAY_PID MI_RELAY_LOG
}

# mi_stop_relay [SIGNAL] - signal the relay (TERM by default), wait; its exit code in MI_RELAY_RC
mi_stop_relay() {
	local sig=${1:-TERM} i
	[[ -n ${MI_RELAY_PID:-} ]] || return 0
	kill "-$sig" "$MI_RELAY_PID" 2>/dev/null || true
	for ((i = 0; i < 300; i++)); do
		kill -0 "$MI_RELAY_PID" 2>/dev/null || break
		sleep 0.05
	done
	wait "$MI_RELAY_PID" 2>/dev/null
	MI_RELAY_RC=$?
	MI_RELAY_PID=
	return 0
}

# mi_relay_wait_log REGEX [COUNT] [TIMEOUT] - until the relay's log has COUNT matching lines
mi_relay_wait_log() {
	local regex=$1 want=${2:-1} limit=${3:-20} i n
	for ((i = 0; i < limit * 10; i++)); do
		n=$(grep -Ec -- "$regex" "$MI_RELAY_LOG" || true)
		((n >= want)) && return 0
		sleep 0.1
	done
	echo "--- relay log ($MI_RELAY_LOG):"
	tail -n 40 "$MI_RELAY_LOG"
	mi_fail "the relay log has $n line(s) matching /$regex/ after ${limit}s, want $want"
}

# mi_relay_sighup_rotation [CHECK...] - a scenario: the relay, started with an old password the
# upstream no longer takes, defers a message; the rotated credentials, SIGHUP and a flush
# deliver it without a restart. CHECK... (a command) runs with the relay's PID appended right
# after the start and at the end.
mi_relay_sighup_rotation() {
	mi_start_fake_smtp '{"users": {"AKIAHUP": "new-password-after-rotation"}}'
	mi_relay_setup 'maximal_backoff_time = 600s
minimal_backoff_time = 600s'
	mi_relay_credentials AKIAHUP 'old-password'
	mi_start_relay
	(($# == 0)) || "$@" "$MI_RELAY_PID"
	mi_run s1 swaks --server "127.0.0.1:$MI_RELAY_PORT" --from a@example.com --to b@example.net
	mi_assert_rc 0
	mi_relay_wait_log 'status=deferred' 1 20
	# rotated credentials, then SIGHUP and a flush: delivered without a restart
	mi_relay_credentials AKIAHUP 'new-password-after-rotation'
	kill -HUP "$MI_RELAY_PID"
	mi_relay_wait_log 'Configuration and credentials read again' 1 20
	mi_run fl "$MAILINIT" queue --root "$MI_RELAY_ROOT" flush
	mi_assert_rc 0
	mi_smtp_wait_count 1 30
	kill -0 "$MI_RELAY_PID" || mi_fail "the relay died"
	(($# == 0)) || "$@" "$MI_RELAY_PID"
}

# Local submission (sendmail, the setgid postdrop helper, unprivileged users):
#
#   mi_ensure_system_users            # user+group mailinit, group mailinit-drop, users mi-user1
#                                     # and mi-user2 (created when missing; needs root)
#   mi_install_postdrop               # $MI_DIR/libexec/postdrop: a copy of $MAILINIT,
#                                     # root:mailinit-drop 2755; exports MAILINIT_POSTDROP, and
#                                     # MI_SENDMAIL, MI_MAILQ: copies any user may run, by those
#                                     # names (the multi-call binary dispatches on argv[0])
#   mi_open_root_to_users             # lets other users traverse MI_TMP, MI_DIR and the root
#   mi_as_user USER CMD...            # CMD with USER's uid, gid and groups (setpriv)

# mi_ensure_system_users - the system users and groups the packages create (sysusers.d), and
# two unprivileged test users. Skips (77) when not root: only root may create users.
mi_ensure_system_users() {
	[[ $(id -u) == 0 ]] || mi_skip "creating the system users needs root"
	mi_require useradd groupadd setpriv
	getent group mailinit >/dev/null || groupadd --system mailinit
	getent passwd mailinit >/dev/null ||
		useradd --system --gid mailinit --home-dir /var/spool/mailinit --no-create-home \
			--shell /usr/sbin/nologin mailinit
	getent group mailinit-drop >/dev/null || groupadd --system mailinit-drop
	local u
	for u in mi-user1 mi-user2; do
		getent passwd "$u" >/dev/null ||
			useradd --user-group --no-create-home --home-dir /nonexistent \
				--shell /usr/sbin/nologin --comment "Test User ${u#mi-user}" "$u"
	done
}

# mi_open_root_to_users - the private directories are 0700 (mktemp): let other users reach
# the relay's root, the binary's copy and the configuration (the spool stays closed).
mi_open_root_to_users() {
	chmod 0711 "$MI_TMP"
	[[ $MI_DIR == "$MI_TMP" ]] || chmod 0711 "$MI_DIR"
	if [[ -n ${MI_RELAY_ROOT:-} ]]; then
		chmod 0755 "$MI_RELAY_ROOT" "$MI_RELAY_ROOT/etc" "$MI_RELAY_ROOT/etc/mailinit"
		[[ -d $MI_RELAY_ROOT/var ]] && chmod 0755 "$MI_RELAY_ROOT/var"
		[[ -d $MI_RELAY_ROOT/var/spool ]] && chmod 0755 "$MI_RELAY_ROOT/var/spool"
		chmod 0644 "$MI_RELAY_ROOT/etc/mailinit/mailinit.conf"
	fi
	return 0
}

# mi_install_postdrop - the setgid helper as the packages install it, in the test directory
mi_install_postdrop() {
	local dir=$MI_DIR/libexec
	mkdir -p "$dir"
	cp "$MAILINIT" "$dir/postdrop"
	chown root:mailinit-drop "$dir/postdrop"
	chmod 2755 "$dir/postdrop"
	chmod 0755 "$dir"
	if findmnt -n -o OPTIONS -T "$dir" 2>/dev/null | tr ',' '\n' | grep -qx nosuid; then
		mi_fail "$dir is on a nosuid file system: the setgid helper cannot be tested there"
	fi
	cp "$MAILINIT" "$dir/sendmail"
	chmod 0755 "$dir/sendmail"
	ln -sf sendmail "$dir/mailq"
	ln -sf sendmail "$dir/newaliases"
	MAILINIT_POSTDROP=$dir/postdrop
	MI_SENDMAIL=$dir/sendmail
	MI_MAILQ=$dir/mailq
	export MAILINIT_POSTDROP MI_SENDMAIL MI_MAILQ
}

# mi_as_user USER CMD... - run CMD as USER (real and effective ids, USER's groups only)
mi_as_user() {
	local user=$1
	shift
	timeout -k 5 "${MI_RUN_TIMEOUT:-60}" \
		setpriv --reuid="$user" --regid="$user" --init-groups --reset-env -- \
		env MAILINIT_ROOT="${MAILINIT_ROOT:-}" MAILINIT_POSTDROP="${MAILINIT_POSTDROP:-}" \
		PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}
