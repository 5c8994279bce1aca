#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Local submission: sendmail (and mailq, newaliases) into the maildrop, as root and as
# unprivileged users through the setgid postdrop helper, picked up by the relay and delivered
# to the SES-like upstream, where each message is checked (envelope, headers, body bytes).
# cron's and PHP's command lines, bsd-mailx's `mail -s`, -bs, mail kept while the relay is
# stopped, line endings and 8-bit bodies, the size limit, sender rules (trusted_users), what
# one user can do to another's mail, and hostile files in the maildrop.
# shellcheck disable=SC2317,SC2031 # scenario functions run through mi_scenario, in subshells
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"
. "$(dirname "$0")/lib_relay.sh"
mi_init
mi_require_fake_smtp
mi_ensure_system_users

UID1=$(id -u mi-user1)
UID2=$(id -u mi-user2)

# run_in PREFIX INPUT CMD... - as mi_run, with INPUT as stdin
run_in() {
	local prefix=$1 input=$2
	shift 2
	MI_LAST=$prefix
	MI_RC=0
	if declare -F "$1" >/dev/null; then
		"$@" <"$input" >"$prefix.out" 2>"$prefix.err" || MI_RC=$?
	else
		timeout -k 5 "${MI_RUN_TIMEOUT:-60}" "$@" <"$input" >"$prefix.out" 2>"$prefix.err" || MI_RC=$?
	fi
}

USER=AKIASENDMAILTEST
PASS='Sendmail-Pa55word/0123456789abcdefghijklm'

# setup [EXTRA-CONF] - the SES-like upstream (STARTTLS, AUTH), the relay's configuration, the
# helper installed, the root opened to users; the relay is not started
setup() {
	mi_start_fake_smtp "{\"users\": {\"$USER\": \"$PASS\"}}"
	mi_relay_setup "${1:-}"
	mi_relay_credentials "$USER" "$PASS"
	mkdir -p "$MI_RELAY_ROOT/var/spool"
	mi_install_postdrop
	mi_open_root_to_users
	export MAILINIT_ROOT=$MI_RELAY_ROOT
}

# start - the relay (it creates the maildrop: 1730 root:mailinit-drop here)
start() {
	mi_start_relay
	local md=$MI_RELAY_SPOOL/maildrop
	[[ $(stat -c '%a %G' "$md") == "1730 mailinit-drop" ]] ||
		mi_fail "maildrop is $(stat -c '%a %U:%G' "$md"), want 1730 mailinit-drop"
}

# meta N FIELD - a field of the upstream's record of message N (1-based)
meta() {
	"$MI_PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); v=d[sys.argv[2]]; print(" ".join(v) if isinstance(v,list) else v)' \
		"$(printf '%s/%04d.json' "$MI_SMTP_MAILDIR" "$1")" "$2"
}

eml() {
	printf '%s/%04d.eml' "$MI_SMTP_MAILDIR" "$1"
}

maildrop_count() {
	find "$MI_RELAY_SPOOL/maildrop" -mindepth 1 -maxdepth 1 -name '[0-9a-f]*' | wc -l
}

t_cron_as_root() {
	setup
	start
	printf 'Subject: Cron <root@host> run-parts\n\nline one\n' >in.txt
	# Debian's cron: sendmail -FCronDaemon -i -B8BITMIME -oem USER
	run_in s1 in.txt "$MAILINIT" sendmail -FCronDaemon -i -B8BITMIME -oem root
	mi_assert_rc 0
	mi_smtp_wait_count 1 20
	[[ $(meta 1 mail_from) == root@example.com ]] || mi_fail "sender $(meta 1 mail_from)"
	[[ $(meta 1 rcpt_tos) == root@example.com ]] || mi_fail "recipients $(meta 1 rcpt_tos)"
	mi_assert_grep "$(eml 1)" '^From: CronDaemon <root@example.com>'
	mi_assert_grep "$(eml 1)" '^Received: by relay.test \(mailinit, from userid 0\)'
	mi_assert_grep "$(eml 1)" '^Message-I[dD]: <'
	mi_assert_grep "$(eml 1)" '^Date: '
	mi_assert_grep "$(eml 1)" '^line one'
	mi_relay_wait_log '[0-9A-F]+: uid=0 from=<root@example.com> \(maildrop [0-9a-f]{32}\)'
	mi_relay_wait_log 'status=sent'
	[[ $(maildrop_count) == 0 ]] || mi_fail "the maildrop is not empty"
}

t_cron_as_user() {
	setup
	start
	printf 'Subject: Cron <mi-user1@host> date\n\nThu Jan  1 00:00:00 UTC 1970\n' >in.txt
	run_in s1 in.txt mi_as_user mi-user1 "$MI_SENDMAIL" -FCronDaemon -i -B8BITMIME -oem mi-user1
	mi_assert_rc 0
	mi_assert_empty s1.err
	mi_smtp_wait_count 1 20
	[[ $(meta 1 mail_from) == mi-user1@example.com ]] || mi_fail "sender $(meta 1 mail_from)"
	[[ $(meta 1 rcpt_tos) == mi-user1@example.com ]] || mi_fail "recipients $(meta 1 rcpt_tos)"
	mi_assert_grep "$(eml 1)" '^From: CronDaemon <mi-user1@example.com>'
	mi_assert_grep "$(eml 1)" "from userid $UID1\)"
	mi_relay_wait_log "uid=$UID1 from=<mi-user1@example.com>"
}

mi_scenario cron_as_root t_cron_as_root
mi_scenario cron_as_user t_cron_as_user
mi_finish
