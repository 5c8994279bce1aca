#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The relay started as root (no socket activation) binds, then becomes mail_owner for good:
# every thread's real, effective, saved and filesystem ids are mailinit's, the only
# supplementary group is mailinit-drop, no capability is left in any set (bounding included),
# no_new_privs is set and the process is not dumpable (its /proc files stay root's). It still
# delivers, re-reads rotated credentials on SIGHUP, and the spool it was given is mailinit's
# (0710 mailinit:mailinit-drop; maildrop mailinit:mailinit-drop 1730), root-owned leftovers included. A mail_owner
# that does not exist, or is root, is refused with exit 78 naming the key.
# shellcheck disable=SC2317,SC2031,SC2119 # scenario functions run through mi_scenario, in subshells
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"
. "$(dirname "$0")/lib_relay.sh"
mi_init
mi_require_fake_smtp
mi_require swaks

# status_field PID|PID/task/TID NAME - a field of /proc/.../status, tabs as spaces
status_field() {
	awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"
}

# assert_unprivileged PID - every thread of PID runs as mailinit without privileges
assert_unprivileged() {
	local pid=$1 uid gid drop task field want got
	uid=$(id -u mailinit)
	gid=$(getent group mailinit | cut -d: -f3)
	drop=$(getent group mailinit-drop | cut -d: -f3)
	for task in /proc/"$pid"/task/*; do
		task=${task#/proc/}
		[[ -r /proc/$task/status ]] || continue
		got=$(status_field "$task" Uid)
		[[ $got == "$uid $uid $uid $uid" ]] || mi_fail "$task: Uid $got, want $uid x4 (mailinit)"
		got=$(status_field "$task" Gid)
		[[ $got == "$gid $gid $gid $gid" ]] || mi_fail "$task: Gid $got, want $gid x4 (mailinit)"
		got=$(status_field "$task" Groups)
		[[ $got == "$drop" ]] || mi_fail "$task: Groups '$got', want '$drop' (mailinit-drop)"
		for field in CapInh CapPrm CapEff CapBnd CapAmb; do
			got=$(status_field "$task" "$field")
			[[ $got == 0000000000000000 ]] || mi_fail "$task: $field $got, want none"
		done
		got=$(status_field "$task" NoNewPrivs)
		[[ $got == 1 ]] || mi_fail "$task: NoNewPrivs $got, want 1"
	done
	# not dumpable: the kernel keeps the process's /proc files root's, and no core is written
	want=$(stat -c %u "/proc/$pid/status")
	[[ $want == 0 ]] || mi_fail "/proc/$pid/status is owned by uid $want: the relay is dumpable"
	got=$(awk '/^Max core file size/ { print $5 }' "/proc/$pid/limits")
	[[ $got == 0 ]] || mi_fail "the relay's core size limit is $got, want 0"
}

t_drops_to_mail_owner_and_delivers() {
	mi_start_fake_smtp '{"require_tls": false}' --no-tls
	mi_relay_setup 'relay_tls = none'
	mi_start_relay
	mi_assert_grep "$MI_RELAY_LOG" 'Running as user mailinit \(uid [0-9]+, gid [0-9]+, group mailinit-drop\), without capabilities'
	# the delivery threads exist by now; the commit thread too
	(($(find "/proc/$MI_RELAY_PID/task" -mindepth 1 -maxdepth 1 | wc -l) >= 2)) ||
		mi_fail "the relay has a single thread: threads not checked"
	assert_unprivileged "$MI_RELAY_PID"
	mi_run s1 swaks --server "127.0.0.1:$MI_RELAY_PORT" --from a@example.com --to b@example.net
	mi_assert_rc 0
	mi_smtp_wait_count 1 30
	# the spool is the user's; the maildrop is the drop group's, sticky
	[[ $(stat -c '%U %G %a' "$MI_RELAY_SPOOL") == "mailinit mailinit-drop 710" ]] ||
		mi_fail "spool: $(stat -c '%U %G %a' "$MI_RELAY_SPOOL"), want mailinit mailinit-drop 710"
	[[ $(stat -c '%U %G %a' "$MI_RELAY_SPOOL/maildrop") == "mailinit mailinit-drop 1730" ]] ||
		mi_fail "maildrop: $(stat -c '%U %G %a' "$MI_RELAY_SPOOL/maildrop"), want mailinit mailinit-drop 1730"
	local odd
	odd=$(find "$MI_RELAY_SPOOL" -path "$MI_RELAY_SPOOL/maildrop/*" -prune -o ! -user mailinit -print)
	[[ -z $odd ]] || mi_fail "not mailinit's in the spool: $odd"
	assert_unprivileged "$MI_RELAY_PID"
	mi_stop_relay
	[[ $MI_RELAY_RC == 0 ]] || mi_fail "the relay exited $MI_RELAY_RC on SIGTERM"
}

t_root_leftovers_in_the_spool_are_handed_over() {
	mi_start_fake_smtp '{"require_tls": false}' --no-tls
	mi_relay_setup 'relay_tls = none'
	# a spool a root-run relay of an older version left: root's, 0755, with a root queue dir
	mkdir -p "$MI_RELAY_SPOOL/queue" "$MI_RELAY_SPOOL/state"
	chmod 0755 "$MI_RELAY_SPOOL"
	: >"$MI_RELAY_SPOOL/state/stray"
	ln -s /etc/shadow "$MI_RELAY_SPOOL/queue/link-to-shadow"
	mi_start_relay
	[[ $(stat -c '%U %G %a' "$MI_RELAY_SPOOL") == "mailinit mailinit-drop 710" ]] ||
		mi_fail "spool: $(stat -c '%U %G %a' "$MI_RELAY_SPOOL"), want mailinit mailinit-drop 710"
	[[ $(stat -c %U "$MI_RELAY_SPOOL/queue") == mailinit ]] || mi_fail "queue/ is not mailinit's"
	# a symbolic link is not followed: /etc/shadow stays root's
	[[ $(stat -c %U /etc/shadow) == root ]] || mi_fail "/etc/shadow changed owner"
	mi_run s1 swaks --server "127.0.0.1:$MI_RELAY_PORT" --from a@example.com --to b@example.net
	mi_assert_rc 0
	mi_smtp_wait_count 1 30
}

t_sighup_rereads_credentials_as_mail_owner() {
	mi_relay_sighup_rotation assert_unprivileged
}

t_credentials_owned_by_root_are_named() {
	mi_start_fake_smtp '{"require_tls": false}' --no-tls
	mi_relay_setup 'relay_tls = none'
	mi_relay_credentials AKIAROOT 'password-of-root'
	chown root:root "$MI_RELAY_ROOT/etc/mailinit/credentials"
	mi_start_relay
	# read before the switch, so it starts; the log says what will fail later and how to fix it
	mi_assert_grep "$MI_RELAY_LOG" 'credentials is owned by uid 0, not by mail_owner .mailinit.: reading it again on SIGHUP'
	mi_run s1 swaks --server "127.0.0.1:$MI_RELAY_PORT" --from a@example.com --to b@example.net
	mi_assert_rc 0
	mi_smtp_wait_count 1 30
}

t_refuses_a_missing_or_root_mail_owner() {
	mi_start_fake_smtp '{"require_tls": false}' --no-tls
	mi_relay_setup 'relay_tls = none
mail_owner = no-such-user-mailinit'
	mi_run r1 "$MAILINIT" relay --root "$MI_RELAY_ROOT"
	mi_assert_rc 78
	mi_assert_grep r1.err "Refusing to run as root: mail_owner: user 'no-such-user-mailinit' does not exist"
	sed -i 's/^mail_owner = .*/mail_owner = root/' "$MI_RELAY_ROOT/etc/mailinit/mailinit.conf"
	mi_run r2 "$MAILINIT" relay --root "$MI_RELAY_ROOT"
	mi_assert_rc 78
	mi_assert_grep r2.err "Refusing to run as root: mail_owner: user 'root' is root"
}

t_started_as_mail_owner_changes_nothing() {
	mi_start_fake_smtp '{"require_tls": false}' --no-tls
	mi_relay_setup 'relay_tls = none'
	mkdir -p "$MI_RELAY_SPOOL"
	chown mailinit:mailinit "$MI_RELAY_SPOOL"
	MI_RELAY_LOG=$MI_DIR/relay.log
	setpriv --reuid=mailinit --regid=mailinit --clear-groups \
		"$MAILINIT" relay --root "$MI_RELAY_ROOT" >>"$MI_RELAY_LOG" 2>&1 &
	MI_RELAY_PID=$!
	MI_PIDS+=("$MI_RELAY_PID")
	echo "$MI_RELAY_PID" >>"$MI_TMP/.pids"
	mi_relay_wait_log 'mailinit relay .* started' 1 10
	mi_assert_no_grep "$MI_RELAY_LOG" 'Running as user'
	[[ $(status_field "$MI_RELAY_PID" Groups) == "" ]] || mi_fail "groups were changed"
	mi_run s1 swaks --server "127.0.0.1:$MI_RELAY_PORT" --from a@example.com --to b@example.net
	mi_assert_rc 0
	mi_smtp_wait_count 1 30
}

mi_scenario drops-to-mail-owner-and-delivers t_drops_to_mail_owner_and_delivers
mi_scenario root-leftovers-in-the-spool-are-handed-over t_root_leftovers_in_the_spool_are_handed_over
mi_scenario sighup-rereads-credentials-as-mail-owner t_sighup_rereads_credentials_as_mail_owner
mi_scenario credentials-owned-by-root-are-named t_credentials_owned_by_root_are_named
mi_scenario refuses-a-missing-or-root-mail-owner t_refuses_a_missing_or_root_mail_owner
mi_scenario started-as-mail-owner-changes-nothing t_started_as_mail_owner_changes_nothing
mi_finish
