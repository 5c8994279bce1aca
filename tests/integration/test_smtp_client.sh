#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2030,SC2031,SC2317  # (scenario functions run through mi_scenario)
# test_smtp_client - the relay's delivery client (relay/smtp_client.c, driven by
# tests/tools/smtp_send_tool) against the stand-in SES upstream (peers/fake_smtp.py):
# STARTTLS + AUTH PLAIN (by name and by IP literal), AUTH LOGIN only, implicit TLS, plaintext
# to a loopback sink, STARTTLS not offered, no AUTH offered, 5 messages over one connection,
# 454 throttling at MAIL and after DATA (the connection goes on), 535 and 454 authentication
# failures, 550 for one recipient of two, all recipients refused then the next message, the
# server closing an idle connection (SES after ~10 s) before the next message,
# the connection dropped mid-DATA, a certificate for another host (name and IP), an untrusted
# CA, dot-stuffing (CRLF, bare LF, no final newline), an 8-bit body, 50 recipients, SIZE
# exceeded locally, SMTPUTF8 needed but not offered, connection refused, a server that never
# answers (bounded by --timeout-ms) and no SASL plugins. Passwords never show in any output.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"

TOOL=$MAILINIT_BUILD_DIR/tests/tools/smtp_send_tool
export MAILINIT=$TOOL # mi_init checks the binary under test
mi_init
mi_require_fake_smtp
mi_smtp_certs

SMTP_USER=AKIAIOSFODNN7EXAMPLE
SMTP_PASS='BEy5+ThisIs/ThePassword0fTheTest=='
export SMTP_PASS
USERS="{\"$SMTP_USER\": \"$SMTP_PASS\"}"

# Bodies: CRLF text, 7-bit.
printf 'From: sender@example.com\r\nTo: rcpt@example.com\r\nSubject: test\r\n\r\nHello.\r\n' \
	>"$MI_TMP/body.txt"
BODY_SIZE=$(stat -c %s "$MI_TMP/body.txt")

# send OUTPREFIX ARG... - the tool towards the stand-in started last, as sender@example.com
send() {
	local prefix=$1
	shift
	mi_run "$prefix" "$TOOL" --port "$MI_SMTP_PORT" --from sender@example.com --timeout-ms 10000 "$@"
}

# send_tls OUTPREFIX ARG... - send over STARTTLS with the test CA and the credentials
send_tls() {
	local prefix=$1
	shift
	send "$prefix" --host localhost --tls starttls --ca "$MI_TEST_CA" --user "$SMTP_USER" \
		--pass-env SMTP_PASS "$@"
}

# json_eq FILE EXPR WANT - the Python expression EXPR over j (FILE's JSON) prints WANT
json_eq() {
	local got
	got=$("$MI_PYTHON" -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$1" "$2") || mi_fail "cannot read $1"
	if [[ $got != "$3" ]]; then
		cat "$1"
		mi_fail "$1: $2 is '$got', want '$3'"
	fi
}

# same_file GOT WANT - byte for byte
same_file() {
	if ! cmp -s "$1" "$2"; then
		echo "--- got $1:"
		od -c "$1" | head -n 20
		echo "--- want $2:"
		od -c "$2" | head -n 20
		mi_fail "$1 differs from $2"
	fi
}

# no_secret - the password is in no output of the last run nor in the upstream's log
no_secret() {
	mi_assert_no_grep "$MI_OUT" "$SMTP_PASS"
	mi_assert_no_grep "$MI_ERR" "$SMTP_PASS"
	[[ -z ${MI_SMTP_LOG:-} ]] || mi_assert_no_grep "$MI_SMTP_LOG" "$SMTP_PASS"
}

# log_count REGEX - lines of the upstream's log matching REGEX
log_count() {
	grep -Ec -- "$1" "$MI_SMTP_LOG" || true
}

# start_fake_with_cert NAME.pem NAME.key - the stand-in with another certificate
# (lib_smtp.sh always uses server.pem): exports MI_SMTP_PORT, MI_SMTP_MAILDIR, MI_SMTP_LOG
start_fake_with_cert() {
	local dir=$MI_DIR/smtp.cert i
	mkdir -p "$dir"
	printf '{"users": %s}\n' "$USERS" >"$dir/config.json"
	"$MI_PYTHON" "$MI_PEERS_DIR/fake_smtp.py" --port-file "$dir/port" --maildir "$dir/maildir" \
		--config "$dir/config.json" --log "$dir/log" --tls-cert "$1" --tls-key "$2" \
		>"$dir/stdout" 2>"$dir/stderr" &
	MI_PIDS+=("$!")
	echo "$!" >>"$MI_TMP/.pids"
	for ((i = 0; i < 200; i++)); do
		[[ -s $dir/port ]] && break
		sleep 0.05
	done
	[[ -s $dir/port ]] || {
		cat "$dir/stderr"
		mi_fail "the stand-in SMTP server (wrong certificate) did not start"
	}
	MI_SMTP_PORT=$(<"$dir/port")
	MI_SMTP_MAILDIR=$dir/maildir
	MI_SMTP_LOG=$dir/log
}

t_starttls_plain() {
	mi_start_fake_smtp "{\"users\": $USERS}"
	send_tls run --to rcpt@example.com --body "$MI_TMP/body.txt"
	mi_assert_rc 0
	mi_assert_grep run.out '^connected peer=localhost\[127\.0\.0\.1\]:[0-9]+ max_size=10485760$'
	mi_assert_grep run.out '^rcpt=rcpt@example\.com class=OK code=250 text=250 Ok$'
	mi_assert_grep run.out '^final=250 class=OK text=250 Ok 0100[0-9a-f]{12}-[0-9a-f-]{36}-000000$'
	json_eq "$MI_SMTP_MAILDIR/0001.json" 'j["tls"]' True
	json_eq "$MI_SMTP_MAILDIR/0001.json" 'j["tls_version"] in ("TLSv1.2", "TLSv1.3")' True
	json_eq "$MI_SMTP_MAILDIR/0001.json" 'j["auth_user"]' "$SMTP_USER"
	json_eq "$MI_SMTP_MAILDIR/0001.json" 'j["auth_mechanism"]' PLAIN
	json_eq "$MI_SMTP_MAILDIR/0001.json" 'j["mail_from"], j["rcpt_tos"]' \
		"('sender@example.com', ['rcpt@example.com'])"
	# SIZE offered: SIZE=; a 7-bit body: no BODY=8BITMIME
	json_eq "$MI_SMTP_MAILDIR/0001.json" 'j["mail_options"]' "['SIZE=$BODY_SIZE']"
	json_eq "$MI_SMTP_MAILDIR/0001.json" 'j["helo"]' smtp-send-tool.test
	same_file "$MI_SMTP_MAILDIR/0001.eml" "$MI_TMP/body.txt"
	# STARTTLS, then EHLO again inside TLS; AUTH only inside TLS; QUIT at the end
	[[ $(log_count '"tls":false,"stage":"auth"') == 0 ]] || mi_fail "AUTH before TLS"
	[[ $(log_count '"event":"tls"') == 1 ]] || mi_fail "no TLS event in the upstream log"
	[[ $(log_count '"tls":true,"stage":"ehlo"') == 1 ]] || mi_fail "no EHLO after STARTTLS"
	[[ $(log_count '"command":"QUIT"') == 1 ]] || mi_fail "no QUIT"
	no_secret

	# An IP literal: the certificate's IP address is checked (no SNI)
	mi_run run_ip "$TOOL" --host 127.0.0.1 --port "$MI_SMTP_PORT" --tls starttls --ca "$MI_TEST_CA" \
		--user "$SMTP_USER" --pass-env SMTP_PASS --from sender@example.com --to rcpt@example.com \
		--body "$MI_TMP/body.txt"
	mi_assert_rc 0
	mi_assert_grep run_ip.out '^connected peer=127\.0\.0\.1\[127\.0\.0\.1\]:[0-9]+ '
	mi_assert_grep run_ip.out '^final=250 class=OK'
	no_secret
}

t_auth_login_only() {
	mi_start_fake_smtp "{\"users\": $USERS, \"auth_mechanisms\": [\"LOGIN\"]}"
	send_tls run --to rcpt@example.com --body "$MI_TMP/body.txt"
	mi_assert_rc 0
	mi_assert_grep run.out '^final=250 class=OK'
	json_eq "$MI_SMTP_MAILDIR/0001.json" 'j["auth_mechanism"], j["auth_user"]' "('LOGIN', '$SMTP_USER')"
	[[ $(log_count '"command":"AUTH LOGIN"') == 1 ]] || mi_fail "AUTH LOGIN not used"
	no_secret
}

t_implicit_tls() {
	mi_start_fake_smtp "{\"users\": $USERS}" --implicit-tls
	send run --host localhost --tls smtps --ca "$MI_TEST_CA" --user "$SMTP_USER" --pass-env SMTP_PASS \
		--to rcpt@example.com --body "$MI_TMP/body.txt"
	mi_assert_rc 0
	mi_assert_grep run.out '^final=250 class=OK'
	json_eq "$MI_SMTP_MAILDIR/0001.json" 'j["tls"], j["auth_user"]' "(True, '$SMTP_USER')"
	[[ $(log_count '"command":"STARTTLS"') == 0 ]] || mi_fail "STARTTLS inside implicit TLS"
	no_secret
}

t_plaintext() {
	# A loopback sink without TLS (mode none): AUTH in clear is the caller's decision
	mi_start_fake_smtp "{\"users\": $USERS, \"require_tls\": false}" --no-tls
	send run --host 127.0.0.1 --tls none --user "$SMTP_USER" --pass-env SMTP_PASS \
		--to rcpt@example.com --body "$MI_TMP/body.txt"
	mi_assert_rc 0
	mi_assert_grep run.out '^final=250 class=OK'
	json_eq "$MI_SMTP_MAILDIR/0001.json" 'j["tls"], j["auth_user"]' "(False, '$SMTP_USER')"
	no_secret
}

t_no_auth_offered() {
	# No AUTH in EHLO: the mail goes without it, credentials or not (as Postfix)
	mi_start_fake_smtp '{}'
	send_tls run --to rcpt@example.com --body "$MI_TMP/body.txt"
	mi_assert_rc 0
	json_eq "$MI_SMTP_MAILDIR/0001.json" 'j["tls"], j["auth_user"]' "(True, None)"
	[[ $(log_count '"stage":"auth"') == 0 ]] || mi_fail "AUTH sent although not offered"
}

t_starttls_not_offered() {
	mi_start_fake_smtp "{\"users\": $USERS, \"require_tls\": false}" --no-tls
	send_tls run --to rcpt@example.com --body "$MI_TMP/body.txt"
	mi_assert_rc 1
	mi_assert_grep run.out '^error: class=TEMPFAIL code=0 text=STARTTLS not offered by host localhost\[127\.0\.0\.1\]:[0-9]+$'
	[[ $(log_count '"stage":"(auth|mail)"') == 0 ]] || mi_fail "went on without TLS"
	no_secret
}

t_five_over_one_connection() {
	mi_start_fake_smtp "{\"users\": $USERS}"
	send_tls run --to rcpt@example.com --body "$MI_TMP/body.txt" --count 5
	mi_assert_rc 0
	mi_assert_lines <(grep '^final=250 class=OK' run.out) 5
	[[ $(mi_smtp_count) == 5 ]] || mi_fail "upstream has $(mi_smtp_count) messages, want 5"
	[[ $(log_count '"event":"connect"') == 1 ]] || mi_fail "more than one session"
	[[ $(log_count '"stage":"auth","command":"AUTH') == 1 ]] || mi_fail "AUTH more than once"
	json_eq "$MI_SMTP_MAILDIR/0005.json" 'j["session"]' 1
	no_secret
}

t_throttling() {
	# 454 at MAIL (SES's sending rate), then 454 after the data, then through: same session
	mi_start_fake_smtp "{\"users\": $USERS, \"faults\": [
		{\"stage\": \"mail\", \"times\": 1, \"reply\": \"454 Throttling failure: Maximum sending rate exceeded\"},
		{\"stage\": \"data_end\", \"times\": 1, \"reply\": \"454 Throttling failure: Daily message quota exceeded\"}]}"
	send_tls run --to rcpt@example.com --body "$MI_TMP/body.txt" --count 3
	mi_assert_rc 1
	mi_assert_grep run.out '^rcpt=rcpt@example\.com class=TEMPFAIL code=454 text=454 Throttling failure: Maximum sending rate exceeded$'
	mi_assert_grep run.out '^final=454 class=TEMPFAIL text=454 Throttling failure: Maximum sending rate exceeded$'
	mi_assert_grep run.out '^final=454 class=TEMPFAIL text=454 Throttling failure: Daily message quota exceeded$'
	[[ $(grep -A3 '^message=3$' run.out | grep -c '^final=250 class=OK') == 1 ]] ||
		mi_fail "the third message was not delivered"
	[[ $(mi_smtp_count) == 1 ]] || mi_fail "upstream has $(mi_smtp_count) messages, want 1"
	[[ $(log_count '"event":"connect"') == 1 ]] || mi_fail "more than one session"
}

t_auth_535() {
	mi_start_fake_smtp "{\"users\": {\"$SMTP_USER\": \"the-right-one\"}}"
	send_tls run --to rcpt@example.com --body "$MI_TMP/body.txt"
	mi_assert_rc 1
	mi_assert_grep run.out '^error: class=AUTHFAIL code=535 text=535 Authentication Credentials Invalid$'
	[[ $(log_count '"stage":"mail"') == 0 ]] || mi_fail "MAIL after a failed AUTH"
	no_secret
}

t_auth_454() {
	mi_start_fake_smtp "{\"users\": $USERS, \"faults\": [{\"stage\": \"auth\", \"reply\": \"454 Temporary authentication failure\"}]}"
	send_tls run --to rcpt@example.com --body "$MI_TMP/body.txt"
	mi_assert_rc 1
	mi_assert_grep run.out '^error: class=AUTHFAIL code=454 text=454 Temporary authentication failure$'
	no_secret
}

t_rcpt_550_one_of_two() {
	mi_start_fake_smtp "{\"users\": $USERS, \"faults\": [{\"stage\": \"rcpt\", \"match\": \"bad@\", \"reply\": \"550 5.1.1 <bad@example.com> address unknown\"}]}"
	send_tls run --to bad@example.com --to good@example.com --body "$MI_TMP/body.txt"
	mi_assert_rc 0
	mi_assert_grep run.out '^rcpt=bad@example\.com class=PERMFAIL code=550 text=550 5\.1\.1 <bad@example\.com> address unknown$'
	mi_assert_grep run.out '^rcpt=good@example\.com class=OK code=250 text=250 Ok$'
	mi_assert_grep run.out '^final=250 class=OK'
	json_eq "$MI_SMTP_MAILDIR/0001.json" 'j["rcpt_tos"]' "['good@example.com']"
}

t_no_rcpt_accepted_then_next() {
	# Every recipient refused: no DATA; the next message resets the open transaction
	mi_start_fake_smtp "{\"users\": $USERS, \"faults\": [{\"stage\": \"rcpt\", \"times\": 1, \"reply\": \"550 5.1.1 unknown user\"}]}"
	send_tls run --to rcpt@example.com --body "$MI_TMP/body.txt" --count 2
	mi_assert_rc 1
	mi_assert_grep run.out '^rcpt=rcpt@example\.com class=PERMFAIL code=550 text=550 5\.1\.1 unknown user$'
	mi_assert_grep run.out '^final=none$'
	mi_assert_grep run.out '^final=250 class=OK'
	[[ $(log_count '"command":"DATA"') == 1 ]] || mi_fail "DATA sent without a recipient"
	[[ $(log_count '"command":"RSET"') == 1 ]] || mi_fail "no RSET before the second MAIL"
	[[ $(mi_smtp_count) == 1 ]] || mi_fail "upstream has $(mi_smtp_count) messages, want 1"
}

t_idle_timeout() {
	# SES closes idle sessions with 451: the next message must not read that as its reply
	mi_start_fake_smtp "{\"users\": $USERS, \"idle_timeout\": 1}"
	send_tls run --to rcpt@example.com --body "$MI_TMP/body.txt" --count 2 --pause-ms 2500
	mi_assert_rc 1
	mi_assert_grep run.out '^final=250 class=OK'
	mi_assert_grep run.out '^error: class=TEMPFAIL code=451 text=451 Timeout waiting for data from client$'
	mi_assert_grep run.out '^rcpt=rcpt@example\.com class=TEMPFAIL code=451 text=451 Timeout'
	mi_assert_grep run.err 'send: Transport endpoint is not connected'
	[[ $(log_count '"stage":"mail"') == 1 ]] || mi_fail "MAIL sent on the closed connection"
	[[ $(mi_smtp_count) == 1 ]] || mi_fail "upstream has $(mi_smtp_count) messages, want 1"
}

t_drop_mid_data() {
	"$MI_PYTHON" -c '
import sys
line = b"0123456789" * 7 + b"\r\n"
with open(sys.argv[1], "wb") as f:
    f.write(b"Subject: big\r\n\r\n" + line * (4 * 1024 * 1024 // len(line)))' "$MI_DIR/big.txt"
	mi_start_fake_smtp "{\"users\": $USERS, \"faults\": [{\"stage\": \"data\", \"reply\": \"drop\"}]}"
	send_tls run --to a@example.com --to b@example.com --body "$MI_DIR/big.txt"
	mi_assert_rc 1
	mi_assert_grep run.out '^error: class=TEMPFAIL code=0 text=lost connection with localhost\[127\.0\.0\.1\]:[0-9]+ while sending (message body|end of data)'
	# accepted at RCPT, not delivered: deferred with the reason
	mi_assert_grep run.out '^rcpt=a@example\.com class=TEMPFAIL code=0 text=lost connection'
	mi_assert_grep run.out '^rcpt=b@example\.com class=TEMPFAIL code=0 text=lost connection'
	[[ $(mi_smtp_count) == 0 ]] || mi_fail "a message was stored"
}

t_wrong_host_cert() {
	start_fake_with_cert "$MI_SMTP_CERT_DIR/wrong-host.pem" "$MI_SMTP_CERT_DIR/wrong-host.key"
	send_tls run --to rcpt@example.com --body "$MI_TMP/body.txt"
	mi_assert_rc 1
	mi_assert_grep run.out '^error: class=TEMPFAIL code=0 text=TLS: certificate verify failed \(hostname mismatch\)$'
	mi_run run_ip "$TOOL" --host 127.0.0.1 --port "$MI_SMTP_PORT" --tls starttls --ca "$MI_TEST_CA" \
		--user "$SMTP_USER" --pass-env SMTP_PASS --from sender@example.com --to rcpt@example.com \
		--body "$MI_TMP/body.txt"
	mi_assert_rc 1
	mi_assert_grep run_ip.out '^error: class=TEMPFAIL code=0 text=TLS: certificate verify failed \(IP address mismatch\)$'
	[[ $(log_count '"stage":"(auth|mail)"') == 0 ]] || mi_fail "went on after a bad certificate"
	[[ $(mi_smtp_count) == 0 ]] || mi_fail "a message was stored"
	no_secret
}

t_untrusted_ca() {
	bash "$MI_PEERS_DIR/make_test_ca.sh" "$MI_DIR/other-ca" >/dev/null
	mi_start_fake_smtp "{\"users\": $USERS}"
	send run --host localhost --tls starttls --ca "$MI_DIR/other-ca/ca.pem" --user "$SMTP_USER" \
		--pass-env SMTP_PASS --to rcpt@example.com --body "$MI_TMP/body.txt"
	mi_assert_rc 1
	mi_assert_grep run.out '^error: class=TEMPFAIL code=0 text=TLS: certificate verify failed \(unable to get local issuer certificate\)$'
	# and a CA file that is not there
	send run2 --host localhost --tls smtps --ca "$MI_DIR/nonexistent.pem" --to rcpt@example.com \
		--body "$MI_TMP/body.txt"
	mi_assert_rc 1
	mi_assert_grep run2.out '^error: class=TEMPFAIL code=0 text=TLS: CA file .*/nonexistent\.pem: No such file or directory$'
	[[ $(mi_smtp_count) == 0 ]] || mi_fail "a message was stored"
}

t_dot_stuffing() {
	mi_start_fake_smtp "{\"users\": $USERS}"
	# CRLF lines starting with dots, a lone "." line, "..": intact after the round trip
	printf 'Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n...\r\n. space\r\nend\r\n' >dots.txt
	send_tls run1 --to rcpt@example.com --body dots.txt
	mi_assert_rc 0
	same_file "$MI_SMTP_MAILDIR/0001.eml" dots.txt
	# bare LF lines: sent as CRLF, dots stuffed the same way
	printf 'Subject: dots\n\n.leading dot\n..two dots\n.\nend\n' >dots-lf.txt
	printf 'Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n' >dots-lf.want
	send_tls run2 --to rcpt@example.com --body dots-lf.txt
	mi_assert_rc 0
	same_file "$MI_SMTP_MAILDIR/0002.eml" dots-lf.want
	# no newline after the last line, which is a dot: CRLF added before the end marker
	printf 'Subject: dots\r\n\r\nlast line\r\n.' >dots-end.txt
	printf 'Subject: dots\r\n\r\nlast line\r\n.\r\n' >dots-end.want
	send_tls run3 --to rcpt@example.com --body dots-end.txt
	mi_assert_rc 0
	same_file "$MI_SMTP_MAILDIR/0003.eml" dots-end.want
	# dots and CRLFs across the 64 KiB read chunks: a CR as the last byte of a chunk
	"$MI_PYTHON" -c '
import sys
out = bytearray(b"Subject: chunks\r\n\r\n")
while len(out) < 65536 - 200:
    out += b"x" * 74 + b"\r\n"
out += b"y" * (65536 - 1 - len(out)) + b"\r"   # the last byte of chunk 1 is a CR
out += b"\n.dot at the start of chunk 2\r\n" + b".\r\n" * 70000 + b"end\r\n"
assert out[65535:65537] == b"\r\n"
open(sys.argv[1], "wb").write(bytes(out))' chunks.txt
	send_tls run4 --to rcpt@example.com --body chunks.txt
	mi_assert_rc 0
	same_file "$MI_SMTP_MAILDIR/0004.eml" chunks.txt
}

t_8bit_body() {
	mi_start_fake_smtp "{\"users\": $USERS}"
	printf 'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\xc3\xbc\xc3\x9fe \xe2\x82\xac \xff\r\n' >8bit.txt
	send_tls run --to rcpt@example.com --body 8bit.txt
	mi_assert_rc 0
	json_eq "$MI_SMTP_MAILDIR/0001.json" '"BODY=8BITMIME" in j["mail_options"]' True
	same_file "$MI_SMTP_MAILDIR/0001.eml" 8bit.txt
}

t_fifty_recipients() {
	local i
	local -a to=()
	for ((i = 1; i <= 50; i++)); do
		to+=(--to "r$i@example.com")
	done
	mi_start_fake_smtp "{\"users\": $USERS}"
	send_tls run "${to[@]}" --body "$MI_TMP/body.txt"
	mi_assert_rc 0
	mi_assert_lines <(grep '^rcpt=r[0-9]*@example\.com class=OK code=250' run.out) 50
	mi_assert_grep run.out '^final=250 class=OK'
	json_eq "$MI_SMTP_MAILDIR/0001.json" 'len(j["rcpt_tos"]), j["rcpt_tos"][49]' "(50, 'r50@example.com')"
}

t_size_exceeded_locally() {
	mi_start_fake_smtp "{\"users\": $USERS, \"max_size\": 1000}"
	head -c 2000 /dev/zero | tr '\0' 'a' >big.txt
	send_tls run --to rcpt@example.com --body big.txt
	mi_assert_rc 1
	mi_assert_grep run.out '^connected peer=.* max_size=1000$'
	mi_assert_grep run.out "^rcpt=rcpt@example\\.com class=PERMFAIL code=552 text=552 5\\.3\\.4 message size exceeds the relayhost's limit$"
	mi_assert_grep run.out "^final=552 class=PERMFAIL text=552 5\\.3\\.4 message size exceeds the relayhost's limit$"
	[[ $(log_count '"stage":"mail"') == 0 ]] || mi_fail "MAIL sent for a message over SIZE"
}

t_smtputf8_not_offered() {
	mi_start_fake_smtp "{\"users\": $USERS}"
	send_tls run --to rcpt@example.com --body "$MI_TMP/body.txt" --smtputf8
	mi_assert_rc 1
	mi_assert_grep run.out '^final=553 class=PERMFAIL text=553 5\.6\.7 the relayhost does not support SMTPUTF8$'
	[[ $(log_count '"stage":"mail"') == 0 ]] || mi_fail "MAIL sent although SMTPUTF8 is missing"
}

t_connection_refused() {
	local port
	port=$(mi_closed_port)
	mi_run run "$TOOL" --host 127.0.0.1 --port "$port" --tls none --from sender@example.com \
		--to rcpt@example.com --body "$MI_TMP/body.txt"
	mi_assert_rc 1
	mi_assert_grep run.out "^error: class=TEMPFAIL code=0 text=connect to 127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:$port: Connection refused$"
	mi_assert_faster 2000
}

t_never_answers() {
	local i pid
	# Accepts connections, never says a word
	"$MI_PYTHON" -c '
import os, socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    held.append(s.accept()[0])' "$MI_DIR/silent.port" &
	pid=$!
	MI_PIDS+=("$pid")
	echo "$pid" >>"$MI_TMP/.pids"
	for ((i = 0; i < 200; i++)); do
		[[ -s $MI_DIR/silent.port ]] && break
		sleep 0.05
	done
	mi_run run "$TOOL" --host 127.0.0.1 --port "$(<"$MI_DIR/silent.port")" --tls starttls \
		--ca "$MI_TEST_CA" --from sender@example.com --to rcpt@example.com \
		--body "$MI_TMP/body.txt" --timeout-ms 1500
	mi_assert_rc 1
	mi_assert_grep run.out '^error: class=TEMPFAIL code=0 text=conversation with 127\.0\.0\.1\[127\.0\.0\.1\]:[0-9]+ timed out while receiving the initial server greeting$'
	((MI_ELAPSED_MS >= 1400)) || mi_fail "gave up after ${MI_ELAPSED_MS} ms, before the 1500 ms timeout"
	mi_assert_faster 3500
}

t_sasl_plugins_missing() {
	# SASL_PATH: where Cyrus looks for plugins; an empty directory has none
	mkdir -p "$MI_DIR/no-plugins"
	mi_start_fake_smtp "{\"users\": $USERS}"
	mi_run run env SASL_PATH="$MI_DIR/no-plugins" "$TOOL" --host localhost --port "$MI_SMTP_PORT" \
		--tls starttls --ca "$MI_TEST_CA" --user "$SMTP_USER" --pass-env SMTP_PASS \
		--from sender@example.com --to rcpt@example.com --body "$MI_TMP/body.txt"
	mi_assert_rc 1
	mi_assert_grep run.out '^error: class=TEMPFAIL code=0 text=no SASL mechanism \(PLAIN, LOGIN\) available: is libsasl2-modules installed\?$'
	no_secret
}

mi_scenario starttls_plain t_starttls_plain
mi_scenario auth_login_only t_auth_login_only
mi_scenario implicit_tls t_implicit_tls
mi_scenario plaintext t_plaintext
mi_scenario no_auth_offered t_no_auth_offered
mi_scenario starttls_not_offered t_starttls_not_offered
mi_scenario five_over_one_connection t_five_over_one_connection
mi_scenario throttling t_throttling
mi_scenario auth_535 t_auth_535
mi_scenario auth_454 t_auth_454
mi_scenario rcpt_550_one_of_two t_rcpt_550_one_of_two
mi_scenario no_rcpt_accepted_then_next t_no_rcpt_accepted_then_next
mi_scenario idle_timeout t_idle_timeout
mi_scenario drop_mid_data t_drop_mid_data
mi_scenario wrong_host_cert t_wrong_host_cert
mi_scenario untrusted_ca t_untrusted_ca
mi_scenario dot_stuffing t_dot_stuffing
mi_scenario 8bit_body t_8bit_body
mi_scenario fifty_recipients t_fifty_recipients
mi_scenario size_exceeded_locally t_size_exceeded_locally
mi_scenario smtputf8_not_offered t_smtputf8_not_offered
mi_scenario connection_refused t_connection_refused
mi_scenario never_answers t_never_answers
mi_scenario sasl_plugins_missing t_sasl_plugins_missing
mi_finish
