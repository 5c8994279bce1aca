#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The built-in relay with real clients (swaks, Python's smtplib) and the SES-like upstream
# (STARTTLS + AUTH + faults): relaying, pipelining, deferrals and retries, credential
# rotation after 535, bounces, a connection lost mid-DATA, a certificate for the wrong host,
# a client outside mynetworks, size limits, hostile input, 1000 recipients.
# shellcheck disable=SC2317,SC2031 # scenario functions run through mi_scenario, in subshells
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"
. "$(dirname "$0")/lib_relay.sh"
mi_init
mi_require_fake_smtp
mi_require swaks

USER=AKIARELAYTEST
PASS='Relay-Pa55word/0123456789abcdefghijklmnop'

upstream() {
	mi_start_fake_smtp "{\"users\": {\"$USER\": \"$PASS\"}${1:+, $1}}"
}

# send_swaks PREFIX ARGS... - one message into the relay
send_swaks() {
	local prefix=$1
	shift
	mi_run "$prefix" swaks --server "127.0.0.1:$MI_RELAY_PORT" --from sender@example.com \
		--to rcpt@example.net --timeout 20 "$@"
}

json_field() {
	"$MI_PYTHON" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

t_relays_over_tls_with_auth() {
	upstream
	mi_relay_setup
	mi_relay_credentials "$USER" "$PASS"
	mi_start_relay
	send_swaks s1 --header 'Subject: hello relay'
	mi_assert_rc 0
	mi_assert_grep s1.out '250 2.0.0 Ok: queued as [0-9A-F]+'
	mi_smtp_wait_count 1 20
	local meta=$MI_SMTP_MAILDIR/0001.json eml=$MI_SMTP_MAILDIR/0001.eml
	[[ $(json_field "$meta" 'd["tls"]') == True ]] || mi_fail "not over TLS"
	[[ $(json_field "$meta" 'd["auth_user"]') == "$USER" ]] || mi_fail "not authenticated as $USER"
	mi_assert_grep "$eml" '^Received: from [^ ]+ \(localhost \[127.0.0.1\]\)'
	mi_assert_grep "$eml" '^	by relay.test \(mailinit\) with ESMTP id [0-9A-F]+'
	mi_assert_grep "$eml" '^Message-I[dD]: '
	mi_assert_grep "$eml" '^Subject: hello relay'
	mi_relay_wait_log 'to=<rcpt@example.net>, relay=127.0.0.1\[127.0.0.1\]:[0-9]+, delay=[0-9]+, dsn=2.0.0, status=sent \(250 Ok 0100'
	mi_assert_grep "$MI_RELAY_LOG" '[0-9A-F]+: from=<sender@example.com>, size=[0-9]+, nrcpt=1'
	mi_relay_wait_log '[0-9A-F]+: removed'
	mi_assert_no_grep "$MI_RELAY_LOG" "$PASS"
	[[ -z $(ls "$MI_RELAY_SPOOL/queue") ]] || mi_fail "the queue is not empty"
}

t_pipelining_and_several_messages() {
	upstream
	mi_relay_setup
	mi_relay_credentials "$USER" "$PASS"
	mi_start_relay
	"$MI_PYTHON" - "$MI_RELAY_PORT" <<'EOF' >client.out
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
f = s.makefile("rb")
def reply():
    lines = []
    while True:
        line = f.readline().decode()
        lines.append(line.strip())
        if line[3:4] != "-":
            return lines
print(reply())
s.sendall(b"EHLO client.test\r\n")
ehlo = reply()
assert any("PIPELINING" in l for l in ehlo), ehlo
# three transactions written at once (RFC 2920), then every reply read in order
batch = b""
for i in range(3):
    batch += b"MAIL FROM:<p%d@example.com>\r\nRCPT TO:<r%d@example.net>\r\nDATA\r\n" % (i, i)
s.sendall(b"MAIL FROM:<p0@example.com>\r\nRCPT TO:<r0@example.net>\r\nDATA\r\n")
for want in ("250", "250", "354"):
    r = reply(); assert r[-1].startswith(want), r
s.sendall(b"Subject: p0\r\n\r\nbody\r\n.\r\nMAIL FROM:<p1@example.com>\r\nRCPT TO:<r1@example.net>\r\nDATA\r\n")
for want in ("250", "250", "250", "354"):
    r = reply(); assert r[-1].startswith(want), r; print(r[-1])
s.sendall(b"Subject: p1\r\n\r\n..dot line\r\n.\r\nQUIT\r\n")
for want in ("250", "221"):
    r = reply(); assert r[-1].startswith(want), r; print(r[-1])
EOF
	mi_smtp_wait_count 2 20
	grep -q '^\.dot line' "$MI_SMTP_MAILDIR"/000[12].eml || mi_fail "dot-unstuffing lost the line"
}

t_throttled_then_sent() {
	upstream '"faults": [{"stage": "mail", "times": 2, "reply": "454 Throttling failure: Maximum sending rate exceeded."}]'
	mi_relay_setup
	mi_relay_credentials "$USER" "$PASS"
	mi_start_relay
	send_swaks s1
	mi_assert_rc 0
	mi_relay_wait_log 'status=deferred \(454 Throttling failure' 1 20
	mi_smtp_wait_count 1 30
	mi_relay_wait_log 'status=sent' 1 10
}

t_535_then_rotated_credentials() {
	upstream
	mi_relay_setup
	mi_relay_credentials "$USER" 'an-old-password-from-before-rotation'
	mi_start_relay
	send_swaks s1
	mi_assert_rc 0
	mi_relay_wait_log 'status=deferred \(.*535' 1 20
	# the secret was rotated: the relay reads the credentials again after a 535, no restart
	mi_relay_credentials "$USER" "$PASS"
	mi_smtp_wait_count 1 90
	mi_relay_wait_log 'status=sent' 1 10
	mi_assert_no_grep "$MI_RELAY_LOG" 'status=bounced'
}

t_one_recipient_rejected() {
	upstream '"faults": [{"stage": "rcpt", "match": "bad@", "reply": "550 5.1.1 <bad@example.net>: Recipient address rejected"}]'
	mi_relay_setup
	mi_relay_credentials "$USER" "$PASS"
	mi_start_relay
	send_swaks s1 --to good@example.net,bad@example.net --header 'Subject: two recipients'
	mi_assert_rc 0
	mi_relay_wait_log 'to=<bad@example.net>.*status=bounced \(550 5.1.1' 1 20
	mi_relay_wait_log 'to=<good@example.net>.*status=sent' 1 20
	# the bounce (a DSN to the sender, from <>) goes out through the relayhost too
	mi_smtp_wait_count 2 30
	local dsn
	dsn=$(grep -l '^Content-Type: multipart/report' "$MI_SMTP_MAILDIR"/*.eml | head -1)
	[[ -n $dsn ]] || mi_fail "no delivery status notification reached the upstream"
	grep -q 'Final-Recipient: rfc822; *bad@example.net' "$dsn" || mi_fail "the DSN does not name the recipient"
	[[ $(json_field "${dsn%.eml}.json" 'd["mail_from"]') == "" ]] || mi_fail "the DSN's sender is not <>"
	[[ $(json_field "${dsn%.eml}.json" 'd["rcpt_tos"][0]') == sender@example.com ]] || mi_fail "the DSN did not go to the sender"
}

t_dropped_mid_data_then_sent() {
	upstream '"faults": [{"stage": "data", "times": 1, "reply": "drop"}]'
	mi_relay_setup
	mi_relay_credentials "$USER" "$PASS"
	mi_start_relay
	send_swaks s1
	mi_assert_rc 0
	mi_relay_wait_log 'status=deferred' 1 20
	mi_smtp_wait_count 1 30
}

t_wrong_host_certificate() {
	mi_smtp_certs
	mi_start_fake_smtp "{\"users\": {\"$USER\": \"$PASS\"}}"
	# restart the upstream with the certificate of another host
	mi_stop_fake_smtp
	mkdir -p wrong
	"$MI_PYTHON" "$MI_PEERS_DIR/fake_smtp.py" --port-file wrong/port --maildir wrong/maildir \
		--config "$MI_SMTP_DIR/config.json" --log wrong/log \
		--tls-cert "$MI_SMTP_CERT_DIR/wrong-host.pem" --tls-key "$MI_SMTP_CERT_DIR/wrong-host.key" >wrong/out 2>&1 &
	MI_PIDS+=("$!")
	echo "$!" >>"$MI_TMP/.pids"
	for ((i = 0; i < 100; i++)); do [[ -s wrong/port ]] && break; sleep 0.1; done
	MI_SMTP_PORT=$(<wrong/port)
	mi_relay_setup
	mi_relay_credentials "$USER" "$PASS"
	mi_start_relay
	send_swaks s1
	mi_assert_rc 0
	mi_relay_wait_log 'status=deferred \(.*(certificate|verify)' 1 20
	[[ -z $(ls wrong/maildir 2>/dev/null) ]] || mi_fail "mail went to a server with a wrong certificate"
	[[ -n $(ls "$MI_RELAY_SPOOL/queue") ]] || mi_fail "the message was not kept"
	mi_assert_no_grep "$MI_RELAY_LOG" 'status=bounced'
}

t_outside_mynetworks() {
	upstream
	mi_relay_setup 'listen = 127.0.0.1:0'
	sed -i "s/^listen = .*/listen = 127.0.0.1:$MI_RELAY_PORT, 127.0.0.2:$MI_RELAY_PORT/" "$MI_RELAY_ROOT/etc/mailinit/mailinit.conf"
	mi_relay_credentials "$USER" "$PASS"
	mi_start_relay
	mi_run s1 swaks --server "127.0.0.2:$MI_RELAY_PORT" --local-interface 127.0.0.2 \
		--from a@example.com --to victim@example.org --timeout 20
	mi_assert_grep s1.out '^<\*\* +554 5.7.1 <victim@example.org>: Relay access denied'
	sleep 1
	[[ $(mi_smtp_count) == 0 ]] || mi_fail "an outside client relayed mail"
}

t_size_limits() {
	upstream
	mi_relay_setup 'message_size_limit = 12000000'
	mi_relay_credentials "$USER" "$PASS"
	mi_start_relay
	head -c 7500000 /dev/urandom | base64 -w 76 >big.txt # about 10 MB
	send_swaks s1 --body @big.txt
	mi_assert_rc 0
	mi_smtp_wait_count 1 60
	head -c 9500000 /dev/urandom | base64 -w 76 >huge.txt # about 12.8 MB
	send_swaks s2 --body @huge.txt
	mi_assert_grep s2.out '552 5.3.4'
	# the session is still usable after the refusal
	mi_run s3 swaks --server "127.0.0.1:$MI_RELAY_PORT" --from a@example.com --to b@example.net --quit-after RCPT
	mi_assert_rc 0
}

t_hostile_input() {
	upstream
	mi_relay_setup
	mi_relay_credentials "$USER" "$PASS"
	mi_start_relay
	"$MI_PYTHON" - "$MI_RELAY_PORT" <<'EOF' >hostile.out
import os, socket, sys
port = int(sys.argv[1])
def session(data, read=True):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.recv(1000)
    try:
        s.sendall(data)
    except ConnectionResetError:
        return "reset"  # the server gave up on us while we were still sending
    out = b""
    s.settimeout(3)
    try:
        while read:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            if b"221" in out or len(out) > 100000:
                break
    except socket.timeout:
        pass
    s.close()
    return out.decode(errors="replace")
# a 100 KB line without CRLF, then a normal command
r = session(b"x" * 100000 + b"\r\nNOOP\r\nQUIT\r\n")
assert "500 5.5.0" in r and "250 2.0.0 Ok" in r and "221" in r, r[:500]
print("long line ok")
# binary junk: errors, then the server gives up on the session
try:
    r = session(os.urandom(20000) + b"\r\n" + b"\x00junk\r\n" * 30)
except ConnectionResetError:
    r = "reset"
assert r == "reset" or "421" in r or "500" in r or "502" in r, r[:500]
print("junk ok")
# a 100 KB line inside DATA is accepted (a long header or body line)
r = session(b"EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"
            + b"Subject: long\r\n\r\n" + b"y" * 100000 + b"\r\n.\r\nQUIT\r\n")
assert "queued as" in r, r[:500]
print("long data line ok")
EOF
	mi_assert_grep hostile.out 'long data line ok'
	# and a normal client is still served
	send_swaks s1
	mi_assert_rc 0
}

t_thousand_recipients() {
	upstream
	mi_relay_setup
	mi_relay_credentials "$USER" "$PASS"
	mi_start_relay
	"$MI_PYTHON" - "$MI_RELAY_PORT" <<'EOF'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=60)
rcpts = ["r%04d@example.net" % i for i in range(1000)]
refused = s.sendmail("many@example.com", rcpts, "Subject: many\r\n\r\nhello\r\n")
assert not refused, refused
s.quit()
EOF
	# SES takes at most 50 recipients per message: 20 transactions upstream
	mi_smtp_wait_count 20 60
	local total
	total=$("$MI_PYTHON" -c 'import json,glob,sys; print(sum(len(json.load(open(f))["rcpt_tos"]) for f in glob.glob(sys.argv[1]+"/*.json")))' "$MI_SMTP_MAILDIR")
	[[ $total == 1000 ]] || mi_fail "the upstream got $total recipients, want 1000"
}

t_sigterm_exits_zero() {
	upstream
	mi_relay_setup
	mi_relay_credentials "$USER" "$PASS"
	mi_start_relay
	send_swaks s1
	mi_assert_rc 0
	mi_stop_relay TERM
	[[ $MI_RELAY_RC == 0 ]] || mi_fail "the relay exited $MI_RELAY_RC on SIGTERM"
	mi_assert_grep "$MI_RELAY_LOG" 'mailinit relay stopped'
}

mi_scenario relays-over-tls-with-auth t_relays_over_tls_with_auth
mi_scenario pipelining t_pipelining_and_several_messages
mi_scenario throttled-then-sent t_throttled_then_sent
mi_scenario 535-then-rotated-credentials t_535_then_rotated_credentials
mi_scenario one-recipient-rejected t_one_recipient_rejected
mi_scenario dropped-mid-data t_dropped_mid_data_then_sent
mi_scenario wrong-host-certificate t_wrong_host_certificate
mi_scenario outside-mynetworks t_outside_mynetworks
mi_scenario size-limits t_size_limits
mi_scenario hostile-input t_hostile_input
mi_scenario thousand-recipients t_thousand_recipients
mi_scenario sigterm t_sigterm_exits_zero
mi_finish
