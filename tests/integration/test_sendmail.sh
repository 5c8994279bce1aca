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

# setup [EXTRA-CONF [UPSTREAM-JSON-MEMBERS]] - the SES-like upstream (STARTTLS, AUTH), the
# relay's configuration, the helper installed, the root opened to users; the relay is not
# started
setup() {
	mi_start_fake_smtp "{\"users\": {\"$USER\": \"$PASS\"}${2:+, $2}}"
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

t_php_style() {
	setup
	start
	# PHP's mail(): sendmail -t -i, the headers on stdin, the last line without a line break
	printf 'To: Alice <alice@example.net>, bob@example.net\nCc: "Carol, C." <carol@example.net>\nBcc: hidden@example.net\nSubject: php\nX-Mailer: PHP/8.2\n\nHello from PHP.\n.\nstill the body' >in.txt
	# with a command-line recipient as well, which is also in To: (one copy, as Postfix)
	run_in s1 in.txt mi_as_user mi-user1 "$MI_SENDMAIL" -t -i bob@example.net
	mi_assert_rc 0
	mi_smtp_wait_count 1 20
	[[ $(meta 1 rcpt_tos) == "bob@example.net alice@example.net carol@example.net hidden@example.net" ]] ||
		mi_fail "recipients: $(meta 1 rcpt_tos)"
	[[ $(meta 1 mail_from) == mi-user1@example.com ]] || mi_fail "sender $(meta 1 mail_from)"
	mi_assert_no_grep "$(eml 1)" '^Bcc:'
	mi_assert_no_grep "$(eml 1)" 'hidden@'
	mi_assert_grep "$(eml 1)" '^Cc: "Carol, C." <carol@example.net>'
	# the gecos name, as Postfix takes it when there is neither -F nor NAME
	mi_assert_grep "$(eml 1)" '^From: Test User 1 <mi-user1@example.com>'
	# -i: the "." line is text; the last line got its line break; CRLF throughout
	body_is 1 'Hello from PHP.\r\n.\r\nstill the body\r\n'
}

t_bsd_mailx() {
	mi_require bsd-mailx
	setup
	start
	printf 'set sendmail=%s\n' "$MI_SENDMAIL" >"$MI_DIR/mailrc"
	chmod 0644 "$MI_DIR/mailrc"
	printf 'sent with mail(1)\n' >in.txt
	MAILRC=$MI_DIR/mailrc run_in s1 in.txt mi_as_user mi-user1 env MAILRC="$MI_DIR/mailrc" \
		bsd-mailx -s 'mailx subject' dest@example.net
	mi_assert_rc 0
	mi_smtp_wait_count 1 20
	[[ $(meta 1 rcpt_tos) == dest@example.net ]] || mi_fail "recipients: $(meta 1 rcpt_tos)"
	[[ $(meta 1 mail_from) == mi-user1@example.com ]] || mi_fail "sender $(meta 1 mail_from)"
	mi_assert_grep "$(eml 1)" '^Subject: mailx subject'
	mi_assert_grep "$(eml 1)" '^To: dest@example.net'
	mi_assert_grep "$(eml 1)" '^sent with mail\(1\)'
}

t_relay_stopped() {
	setup
	start
	mi_stop_relay
	printf 'Subject: while stopped %s\n\nkept\n' 1 >in1.txt
	printf 'Subject: while stopped %s\n\nkept\n' 2 >in2.txt
	run_in s1 in1.txt mi_as_user mi-user1 "$MI_SENDMAIL" -i one@example.net
	mi_assert_rc 0
	run_in s2 in2.txt "$MAILINIT" sendmail -i two@example.net
	mi_assert_rc 0
	[[ $(maildrop_count) == 2 ]] || mi_fail "want 2 files in the maildrop, have $(maildrop_count)"
	# owned by their submitters, readable by the group only
	[[ $(find "$MI_RELAY_SPOOL/maildrop" -mindepth 1 -user mi-user1 -perm 0640 -group mailinit-drop | wc -l) == 1 ]] ||
		mi_fail "mi-user1's file: $(ls -l "$MI_RELAY_SPOOL/maildrop")"
	# mailq shows them, as Postfix's lists its maildrop
	mi_run q1 "$MAILINIT" queue --json
	mi_assert_rc 0
	"$MI_PYTHON" -c 'import json; d=json.load(open("q1.out")); assert sorted((e["status"], e["sender"], e["recipients"][0]) for e in d) == [("maildrop", "mi-user1", "one@example.net"), ("maildrop", "root", "two@example.net")], d' ||
		mi_fail "queue --json: $(cat q1.out)"
	mi_run q2 "$MI_MAILQ"
	mi_assert_grep q2.out '^[0-9a-f]{32} +[0-9]+ .* mi-user1$'
	mi_assert_grep q2.out '^-- 0 Kbytes in 2 Requests\.'
	sleep 1
	[[ $(mi_smtp_count) == 0 ]] || mi_fail "delivered without a relay?"
	mi_start_relay
	mi_smtp_wait_count 2 30
	grep -l 'Subject: while stopped 1' "$MI_SMTP_MAILDIR"/*.eml >/dev/null || mi_fail "message 1 lost"
	grep -l 'Subject: while stopped 2' "$MI_SMTP_MAILDIR"/*.eml >/dev/null || mi_fail "message 2 lost"
	[[ $(maildrop_count) == 0 ]] || mi_fail "the maildrop is not empty"
}

# body_of N - the message's body (after the first empty line) at the upstream
body_of() {
	"$MI_PYTHON" -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.stdout.buffer.write(d.split(b"\r\n\r\n",1)[1])' "$(eml "$1")"
}

# body_is N PRINTF-FORMAT - the body of message N is exactly these bytes
body_is() {
	# shellcheck disable=SC2059 # the format is the expected bytes
	printf "$2" >"want.$1"
	body_of "$1" >"got.$1"
	cmp -s "want.$1" "got.$1" || {
		echo "--- want:"
		od -c "want.$1" | head -20
		echo "--- got:"
		od -c "got.$1" | head -20
		mi_fail "message $1: the body differs"
	}
}

t_line_endings_and_8bit() {
	setup
	start
	printf 'Subject: lf\n\nbare\nline feeds\n' >lf.txt
	printf 'Subject: 8bit\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\ncaf\xc3\xa9 \xe2\x82\xac \xff\n' >8bit.txt
	printf 'Subject: no newline\n\nno trailing newline' >nonl.txt
	printf 'just a body line, no headers at all\nsecond\n' >nohdr.txt
	local f i=0
	for f in lf 8bit nonl nohdr; do
		i=$((i + 1))
		run_in "$f" "$f.txt" mi_as_user mi-user1 "$MI_SENDMAIL" "rcpt$i@example.net"
		mi_assert_rc 0
		mi_smtp_wait_count "$i" 20
	done
	body_is 1 'bare\r\nline feeds\r\n'
	body_is 2 'caf\xc3\xa9 \xe2\x82\xac \xff\r\n'
	mi_assert_grep "$(eml 2)" '^Subject: 8bit'
	body_is 3 'no trailing newline\r\n'
	# no headers at all: the relay's headers, then the text as the body
	mi_assert_grep "$(eml 4)" '^From: Test User 1 <mi-user1@example.com>'
	body_is 4 'just a body line, no headers at all\r\nsecond\r\n'
}

t_size_limit() {
	setup
	start
	"$MI_PYTHON" -c 'import sys; sys.stdout.write("Subject: big\n\n" + ("x" * 99 + "\n") * 200000)' >big.txt
	run_in s1 big.txt mi_as_user mi-user1 "$MI_SENDMAIL" -i big@example.net
	mi_assert_rc 65
	mi_assert_grep s1.err 'sendmail: fatal: message file too big: more than message_size_limit \(10240000 bytes\); nothing was queued'
	run_in s2 big.txt "$MAILINIT" sendmail -i big@example.net
	mi_assert_rc 65
	[[ $(find "$MI_RELAY_SPOOL/maildrop" -mindepth 1 | wc -l) == 0 ]] || mi_fail "something was left in the maildrop"
	sleep 1
	[[ $(mi_smtp_count) == 0 ]] || mi_fail "the big message was delivered"
}

t_size_limit_raised() {
	# SES v2 takes 40 MB: so does the upstream here
	setup 'message_size_limit = 25m' '"max_size": 41943040'
	start
	"$MI_PYTHON" -c 'import sys; sys.stdout.write("Subject: big\n\n" + ("y" * 99 + "\n") * 200000)' >big.txt
	run_in s1 big.txt mi_as_user mi-user1 "$MI_SENDMAIL" -i big@example.net
	mi_assert_rc 0
	mi_smtp_wait_count 1 60
	[[ $(body_of 1 | wc -c) == 20200000 ]] || mi_fail "the 20 MB body arrived with $(body_of 1 | wc -c) bytes"
}

t_sender_rules() {
	setup 'trusted_users = root, mailinit, mi-user2'
	start
	printf 'Subject: forged\n\nx\n' >in.txt
	run_in s1 in.txt mi_as_user mi-user1 "$MI_SENDMAIL" -f boss@example.com -i a@example.net
	mi_assert_rc 77
	mi_assert_grep s1.err 'sendmail: fatal: User mi-user1\([0-9]+\) may not use the sender address <boss@example.com>'
	[[ $(maildrop_count) == 0 ]] || mi_fail "a refused message was queued"
	# its own address, in any of the forms -f takes
	run_in s2 in.txt mi_as_user mi-user1 "$MI_SENDMAIL" -f '<mi-user1@EXAMPLE.com>' -i a@example.net
	mi_assert_rc 0
	run_in s3 in.txt mi_as_user mi-user1 "$MI_SENDMAIL" -f '' -i b@example.net
	mi_assert_rc 0
	# trusted_users and root may name anyone
	run_in s4 in.txt mi_as_user mi-user2 "$MI_SENDMAIL" -f boss@example.com -i c@example.net
	mi_assert_rc 0
	run_in s5 in.txt "$MAILINIT" sendmail -r noreply@example.org -i d@example.net
	mi_assert_rc 0
	mi_smtp_wait_count 4 30
	local f
	declare -A want=([a@example.net]=mi-user1@EXAMPLE.com [b@example.net]='' [c@example.net]=boss@example.com [d@example.net]=noreply@example.org)
	for f in 1 2 3 4; do
		# the From: added for the null sender (Postfix's MAILER-DAEMON, completed)
		[[ -n $(meta $f mail_from) ]] ||
			mi_assert_grep "$(eml $f)" '^From: Test User 1 <MAILER-DAEMON@example.com>'
		[[ ${want[$(meta $f rcpt_tos)]+set} ]] || mi_fail "unexpected recipient $(meta $f rcpt_tos)"
		[[ $(meta $f mail_from) == "${want[$(meta $f rcpt_tos)]}" ]] ||
			mi_fail "$(meta $f rcpt_tos): sender <$(meta $f mail_from)>, want <${want[$(meta $f rcpt_tos)]}>"
	done
}

t_users_apart() {
	setup
	start
	mi_stop_relay
	printf 'Subject: private\n\nsecret of user 1\n' >in.txt
	run_in s1 in.txt mi_as_user mi-user1 "$MI_SENDMAIL" -i a@example.net
	mi_assert_rc 0
	local name
	name=$(basename "$(find "$MI_RELAY_SPOOL/maildrop" -mindepth 1 -maxdepth 1)")
	[[ $name =~ ^[0-9a-f]{32}$ ]] || mi_fail "maildrop file name '$name'"
	# another user can neither list, read, nor remove it (nor can its owner, once dropped)
	run_in ls1 /dev/null mi_as_user mi-user2 ls "$MI_RELAY_SPOOL/maildrop"
	mi_assert_rc 2
	mi_assert_grep ls1.err 'Permission denied'
	run_in cat1 /dev/null mi_as_user mi-user2 cat "$MI_RELAY_SPOOL/maildrop/$name"
	mi_assert_rc 1
	mi_assert_grep cat1.err 'Permission denied'
	run_in cat2 /dev/null mi_as_user mi-user1 cat "$MI_RELAY_SPOOL/maildrop/$name"
	mi_assert_rc 1
	mi_assert_grep cat2.err 'Permission denied'
	# the test can tell: root reads it
	mi_assert_grep "$MI_RELAY_SPOOL/maildrop/$name" 'secret of user 1'
	run_in rm1 /dev/null mi_as_user mi-user2 rm -f "$MI_RELAY_SPOOL/maildrop/$name"
	run_in rm2 /dev/null mi_as_user mi-user1 rm -f "$MI_RELAY_SPOOL/maildrop/$name"
	[[ -f $MI_RELAY_SPOOL/maildrop/$name ]] || mi_fail "a user removed a queued file"
	# the helper writes into real maildrops only, and never over a file
	mkdir -p "$MI_DIR/elsewhere"
	chgrp mailinit-drop "$MI_DIR/elsewhere"
	chmod 0770 "$MI_DIR/elsewhere"
	cp "$MI_RELAY_SPOOL/maildrop/$name" good.drop
	chmod 0644 good.drop
	run_in p1 good.drop mi_as_user mi-user2 "$MAILINIT_POSTDROP" "$MI_DIR/elsewhere" 0123456789abcdef0123456789abcdef
	mi_assert_rc 77
	mi_assert_grep p1.err 'not a maildrop directory'
	[[ -z $(ls "$MI_DIR/elsewhere") ]] || mi_fail "postdrop wrote outside a maildrop"
	run_in p2 good.drop mi_as_user mi-user2 "$MAILINIT_POSTDROP" "$MI_RELAY_SPOOL/maildrop" "$name"
	[[ $MI_RC != 0 ]] || mi_fail "postdrop replaced an existing file"
	run_in p3 good.drop mi_as_user mi-user2 "$MAILINIT_POSTDROP" "$MI_RELAY_SPOOL/maildrop" ../../x
	mi_assert_rc 64
	printf 'not a maildrop file\n' >junk.txt
	run_in p4 junk.txt mi_as_user mi-user2 "$MAILINIT_POSTDROP" "$MI_RELAY_SPOOL/maildrop" 0123456789abcdef0123456789abcdef
	mi_assert_rc 65
	[[ $(maildrop_count) == 1 ]] || mi_fail "the maildrop changed: $(ls "$MI_RELAY_SPOOL/maildrop")"
	cmp -s good.drop "$MI_RELAY_SPOOL/maildrop/$name" || mi_fail "mi-user1's file changed"
}

t_hostile_files() {
	setup
	start
	mi_stop_relay
	local md=$MI_RELAY_SPOOL/maildrop
	# what a hostile user (or a broken program) could leave: made here as root, given to mi-user2
	printf 'MAILINIT-MAILDROP 1\nrcpt x@example.net\nsize 999\nshort\nEND\n' >"$md/00000000000000000000000000000001"
	printf 'garbage\0\xff' >"$md/00000000000000000000000000000002"
	printf 'MAILINIT-MAILDROP 1\nsender mi-user1@example.com\nrcpt victim@example.net\nsize 3\nhi\nEND\n' >"$md/00000000000000000000000000000003"
	ln -s /etc/shadow "$md/00000000000000000000000000000004"
	mkfifo "$md/00000000000000000000000000000005"
	printf 'x' >"$md/not-a-maildrop-name"
	chown -h mi-user2:mailinit-drop "$md"/0000* "$md/not-a-maildrop-name"
	# and one good message from mi-user1, which must not be affected
	printf 'Subject: good one\n\nfine\n' >in.txt
	run_in s1 in.txt mi_as_user mi-user1 "$MI_SENDMAIL" -i good@example.net
	mi_assert_rc 0
	mi_start_relay
	mi_smtp_wait_count 1 20
	[[ $(meta 1 rcpt_tos) == good@example.net ]] || mi_fail "delivered: $(meta 1 rcpt_tos)"
	mi_relay_wait_log "maildrop/00000000000000000000000000000001 \\(uid $UID2\\): malformed maildrop file: moved to corrupt/maildrop.00000000000000000000000000000001"
	mi_relay_wait_log "maildrop/00000000000000000000000000000002 \\(uid $UID2\\): malformed maildrop file"
	mi_relay_wait_log "maildrop/00000000000000000000000000000003 \\(uid $UID2\\): sender not owned by the file's owner"
	mi_relay_wait_log "maildrop/00000000000000000000000000000004 \\(uid $UID2\\): a symbolic link"
	mi_relay_wait_log "maildrop/00000000000000000000000000000005 \\(uid $UID2\\): not a regular file"
	mi_relay_wait_log "maildrop/not-a-maildrop-name \\(uid $UID2\\): not a maildrop file name"
	[[ $(find "$md" -mindepth 1 | wc -l) == 0 ]] || mi_fail "left in the maildrop: $(ls "$md")"
	[[ $(find "$MI_RELAY_SPOOL/corrupt" -name 'maildrop.*' | wc -l) == 6 ]] ||
		mi_fail "corrupt/: $(ls "$MI_RELAY_SPOOL/corrupt")"
	sleep 1
	[[ $(mi_smtp_count) == 1 ]] || mi_fail "a hostile file was delivered"
	kill -0 "$MI_RELAY_PID" || mi_fail "the relay died"
}

t_smtp_session() {
	setup
	start
	cat >bs.txt <<-'EOS'
		EHLO client
		MAIL FROM:<boss@example.com>
		MAIL FROM:<mi-user1@example.com>
		RCPT TO:<bs@example.net>
		DATA
		Subject: over -bs
		Bcc: nobody@example.net

		..dotted line
		.
		QUIT
	EOS
	run_in b1 bs.txt mi_as_user mi-user1 "$MI_SENDMAIL" -bs
	mi_assert_rc 0
	mi_assert_grep b1.out '^220 relay.test ESMTP'
	mi_assert_grep b1.out '^553 5.7.1 <boss@example.com>: Sender address rejected: not owned by user mi-user1'
	mi_assert_grep b1.out '^354 '
	mi_assert_grep b1.out '^250 2.0.0 Ok: queued as [0-9a-f]{32}'
	mi_assert_grep b1.out '^221 '
	mi_smtp_wait_count 1 20
	[[ $(meta 1 mail_from) == mi-user1@example.com ]] || mi_fail "sender $(meta 1 mail_from)"
	mi_assert_grep "$(eml 1)" '^\.dotted line'
	mi_assert_no_grep "$(eml 1)" '^Bcc:'
}

t_mailq_and_friends() {
	# the upstream defers everything: the message stays in the queue for mailq to show
	mi_start_fake_smtp "{\"users\": {\"$USER\": \"$PASS\"}, \"faults\": [{\"stage\": \"mail\", \"times\": 1000, \"reply\": \"451 4.3.0 try later\"}]}"
	mi_relay_setup
	mi_relay_credentials "$USER" "$PASS"
	mkdir -p "$MI_RELAY_ROOT/var/spool"
	mi_install_postdrop
	mi_open_root_to_users
	export MAILINIT_ROOT=$MI_RELAY_ROOT
	start
	printf 'Subject: q\n\nx\n' >in.txt
	run_in s1 in.txt mi_as_user mi-user1 "$MI_SENDMAIL" -i queued@example.net
	mi_assert_rc 0
	mi_relay_wait_log 'status=deferred' 1 20
	mi_run q1 "$MI_MAILQ"
	mi_assert_rc 0
	mi_assert_grep q1.out '^-Queue ID-'
	mi_assert_grep q1.out 'mi-user1@example.com'
	mi_assert_grep q1.out '^ +queued@example.net'
	mi_run q2 "$MI_SENDMAIL" -bp
	mi_assert_rc 0
	cmp -s q1.out q2.out || mi_fail "sendmail -bp differs from mailq"
	mi_run q3 "$MAILINIT" queue --json
	mi_assert_rc 0
	"$MI_PYTHON" -c 'import json,sys; d=json.load(open("q3.out")); assert d[0]["recipients"] == ["queued@example.net"] and d[0]["sender"] == "mi-user1@example.com", d' ||
		mi_fail "queue --json: $(cat q3.out)"
	# an unprivileged user: a clear refusal, exit 77 (the queue is the relay's)
	run_in q4 /dev/null mi_as_user mi-user1 "$MI_MAILQ"
	mi_assert_rc 77
	mi_assert_grep q4.err 'only root and the relay'
	mi_run n1 "$MI_DIR/libexec/newaliases"
	mi_assert_rc 0
	mi_assert_grep n1.err 'aliases are not used'
	mi_run n2 "$MI_SENDMAIL" -bi
	mi_assert_rc 0
	mi_run u1 "$MI_SENDMAIL" -Z
	mi_assert_rc 64
	mi_assert_grep u1.err '^sendmail: fatal: usage: sendmail \[options\]'
	mi_run u2 "$MI_SENDMAIL" -t -bp
	mi_assert_rc 64
	mi_run u3 "$MI_SENDMAIL" -i
	mi_assert_rc 64
	mi_assert_grep u3.err 'Recipient addresses must be specified on the command line or via the -t option'
}

t_relay_as_mail_owner() {
	# the relay as it runs under systemd: User=mailinit, SupplementaryGroups=mailinit-drop
	setup
	install -d -o mailinit -g mailinit -m 0700 "$MI_RELAY_SPOOL"
	chown mailinit "$MI_RELAY_ROOT/etc/mailinit/credentials"
	chmod 0711 "$MI_RELAY_ROOT/var" "$MI_RELAY_ROOT/var/spool"
	cat >"$MI_DIR/relay-as-mailinit" <<-EOS
		#!/bin/sh
		exec setpriv --reuid=mailinit --regid=mailinit --groups=mailinit-drop -- "$MAILINIT" "\$@"
	EOS
	chmod 0755 "$MI_DIR/relay-as-mailinit"
	MAILINIT=$MI_DIR/relay-as-mailinit mi_start_relay
	local md=$MI_RELAY_SPOOL/maildrop
	[[ $(stat -c '%a %U:%G' "$md") == "1730 mailinit:mailinit-drop" ]] ||
		mi_fail "maildrop is $(stat -c '%a %U:%G' "$md")"
	[[ $(stat -c '%a %G' "$MI_RELAY_SPOOL") == "710 mailinit-drop" ]] ||
		mi_fail "spool_dir is $(stat -c '%a %U:%G' "$MI_RELAY_SPOOL")"
	printf 'Subject: to a relay without root\n\nx\n' >in.txt
	run_in s1 in.txt mi_as_user mi-user1 "$MI_SENDMAIL" -i one@example.net
	mi_assert_rc 0
	run_in s2 in.txt "$MAILINIT" sendmail -i two@example.net
	mi_assert_rc 0
	mi_smtp_wait_count 2 20
	mi_relay_wait_log "uid=$UID1 from=<mi-user1@example.com>"
	mi_relay_wait_log 'uid=0 from=<root@example.com>'
	[[ $(find "$md" -mindepth 1 | wc -l) == 0 ]] || mi_fail "left in the maildrop: $(ls "$md")"
}

t_authorized_submit_users() {
	setup 'authorized_submit_users = mi-user1'
	start
	printf 'Subject: allowed?\n\nx\n' >in.txt
	run_in s1 in.txt mi_as_user mi-user2 "$MI_SENDMAIL" -i a@example.net
	mi_assert_rc 77
	mi_assert_grep s1.err 'sendmail: fatal: User mi-user2\([0-9]+\) is not allowed to submit mail \(authorized_submit_users\)'
	# sendmail's check is a courtesy: the relay enforces it on what postdrop stores
	run_in s2 in.txt mi_as_user mi-user1 "$MI_SENDMAIL" -i b@example.net
	mi_assert_rc 0
	mi_smtp_wait_count 1 20
	printf 'MAILINIT-MAILDROP 1\nrcpt c@example.net\nsize 3\nhi\nEND\n' >direct.drop
	run_in p1 direct.drop mi_as_user mi-user2 "$MAILINIT_POSTDROP" "$MI_RELAY_SPOOL/maildrop" 0123456789abcdef0123456789abcdef
	mi_assert_rc 0
	mi_relay_wait_log "maildrop/0123456789abcdef0123456789abcdef \\(uid $UID2\\): the owner is not in authorized_submit_users: moved to corrupt/"
	run_in s3 in.txt "$MAILINIT" sendmail -i d@example.net
	mi_assert_rc 0
	mi_smtp_wait_count 2 20
	sleep 1
	[[ $(mi_smtp_count) == 2 ]] || mi_fail "mi-user2's message was delivered"
	[[ "$(meta 1 rcpt_tos) $(meta 2 rcpt_tos)" == "b@example.net d@example.net" ]] ||
		mi_fail "delivered to $(meta 1 rcpt_tos) $(meta 2 rcpt_tos)"
}

# sendmail links no libcurl (http.c loads it on first use): a cron job's submission maps
# 15 libraries, not 40. LD_DEBUG=files lists what the loader opens; libjansson is the control
# that the listing works.
t_no_libcurl() {
	setup
	start
	printf 'Subject: lean\n\nbody\n' >in.txt
	run_in s1 in.txt env LD_DEBUG=files LD_DEBUG_OUTPUT="$PWD/ld" "$MAILINIT" sendmail -i a@example.net
	mi_assert_rc 0
	cat ld.* >ld.txt
	mi_assert_grep ld.txt 'file=libjansson\.so'
	mi_assert_no_grep ld.txt 'file=libcurl'
	mi_smtp_wait_count 1 20
}

# ONLY="name ..." runs only those scenarios (while debugging one)
for name in cron_as_root cron_as_user php_style bsd_mailx \
	relay_stopped line_endings_and_8bit size_limit size_limit_raised \
	sender_rules users_apart hostile_files smtp_session mailq_and_friends \
	relay_as_mail_owner authorized_submit_users no_libcurl; do
	[[ -z ${ONLY:-} || " $ONLY " == *" $name "* ]] && mi_scenario "$name" "t_$name"
done
mi_finish
