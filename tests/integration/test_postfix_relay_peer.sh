#!/bin/bash
# SPDX-License-Identifier: MIT
# test_postfix_relay_peer.sh - the SMTP peers (peers/fake_smtp.py, lib_smtp.sh) against real
# Postfix and Python's smtplib. It also records the Postfix settings that relay through
# Amazon SES, which `mailinit firstboot` writes in postfix mode:
#
#   relayhost = [email-smtp.REGION.amazonaws.com]:587    (here: [127.0.0.1]:<stand-in port>)
#   smtp_sasl_auth_enable = yes
#   smtp_sasl_password_maps = hash:/etc/postfix/sasl_passwd  ("[host]:port user:password", 0600, postmap)
#   smtp_sasl_security_options = noanonymous
#   smtp_tls_security_level = encrypt
#   smtp_tls_CAfile = <CA bundle>
#
# Scenarios: Postfix relays over STARTTLS with AUTH (status=sent with SES's "250 Ok <id>");
# a 535 from the upstream makes Postfix defer and nothing is delivered; smtplib talks to the
# stand-in directly (AUTH before STARTTLS is 530); the TLS wrapper mode (--implicit-tls).
# Exit 77 without postfix, swaks or python3-aiosmtpd (or without root, which Postfix needs).
# shellcheck disable=SC2317,SC2031 source-path=SCRIPTDIR # scenario functions run through mi_scenario
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"

# This test does not run the mailinit binary; lib.sh's mi_init insists on one being there.
[[ -x $MAILINIT ]] || MAILINIT=/bin/true
mi_init
mi_require swaks
mi_require_fake_smtp
mi_require_postfix

SES_USER=AKIAUSER
SES_PASSWORD=password
UPSTREAM_CONFIG='{"users": {"AKIAUSER": "password"}, "require_tls": true, "require_auth": true}'
ID_RE='0100[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-000000'

# relay_instance NAME PASSWORD - a private Postfix relaying to the stand-in upstream started
# last, with the SES settings above and sasl_passwd holding AKIAUSER:PASSWORD.
relay_instance() {
	local name=$1 password=$2 dir relay
	mi_postfix_init "$name"
	dir=$MI_POSTFIX_DIR
	relay="[127.0.0.1]:$MI_SMTP_PORT"
	(
		umask 077
		printf '%s %s:%s\n' "$relay" "$SES_USER" "$password" >"$dir/sasl_passwd"
	)
	# Built before main.cf is rewritten (aws-smtp-facts.md section 5: no 2 s wait).
	mi_postmap "$name" "$dir/sasl_passwd"
	[[ $(stat -c %a "$dir/sasl_passwd") == 600 ]] || mi_fail "sasl_passwd is not mode 0600"
	mi_start_postfix "$name" \
		"relayhost = $relay" \
		"smtp_sasl_auth_enable = yes" \
		"smtp_sasl_password_maps = hash:$dir/sasl_passwd" \
		"smtp_sasl_security_options = noanonymous" \
		"smtp_tls_security_level = encrypt" \
		"smtp_tls_CAfile = $MI_TEST_CA"
}

# send_mail PREFIX - one message into the private Postfix with swaks.
send_mail() {
	mi_run "$1" swaks --server "127.0.0.1:$MI_POSTFIX_PORT" --to x@example.com --from y@example.com \
		--header "Subject: mailinit relay test" --body "relayed through the SES stand-in" --timeout 10
	mi_assert_rc 0
	mi_assert_grep "$1.out" '^<- +250 2\.0\.0 Ok: queued as '
}

# no_secret_in FILE - FILE has the password neither as a word nor base64-encoded (the AUTH
# PLAIN blob, the AUTH LOGIN answer).
no_secret_in() {
	local plain login
	plain=$(printf '\0%s\0%s' "$SES_USER" "$SES_PASSWORD" | base64)
	login=$(printf '%s' "$SES_PASSWORD" | base64)
	mi_assert_no_grep "$1" "(^|[^_[:alnum:]])$SES_PASSWORD([^_[:alnum:]]|\$)|$plain|$login"
}

# run_client - the Python client read from stdin, run with the port and the CA file of the
# stand-in upstream started last; it must exit 0.
run_client() {
	cat >client.py
	mi_run client "$MI_PYTHON" client.py "$MI_SMTP_PORT" "$MI_TEST_CA"
	mi_assert_rc 0
}

t_postfix_relays_tls_auth() {
	mi_start_fake_smtp "$UPSTREAM_CONFIG"
	relay_instance relay_ok "$SES_PASSWORD"
	send_mail swaks
	mi_postfix_wait_delivered relay_ok 1 30
	mi_postfix_wait_log relay_ok 'status=sent \(250 Ok 0100' 30

	# What the upstream saw: STARTTLS, then AUTH as AKIAUSER, then the message.
	cat >meta.py <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
assert m["tls"] is True and m["tls_version"] in ("TLSv1.2", "TLSv1.3"), m
assert m["auth_user"] == "AKIAUSER" and m["auth_mechanism"] in ("PLAIN", "LOGIN"), m
assert m["mail_from"] == "y@example.com" and m["rcpt_tos"] == ["x@example.com"], m
assert m["helo"] == "mailinit-test.localdomain", m
print(m["message_id"])
EOF
	mi_run meta "$MI_PYTHON" meta.py "$MI_SMTP_MAILDIR/0001.json"
	mi_assert_rc 0
	local id
	id=$(<meta.out)
	[[ $id =~ ^$ID_RE$ ]] || mi_fail "SES-style message id expected, got '$id'"
	mi_assert_grep "$MI_SMTP_MAILDIR/0001.eml" '^Subject: mailinit relay test'
	mi_assert_grep "$MI_SMTP_MAILDIR/0001.eml" '^Received: from '
	mi_assert_grep "$MI_SMTP_MAILDIR/0001.eml" '^\s+by mailinit-test\.localdomain \(Postfix\) with ESMTP'
	mi_assert_grep "$MI_SMTP_LOG" '"stage":"starttls","command":"STARTTLS","reply":"220 Ready to start TLS"'
	mi_assert_grep "$MI_SMTP_LOG" '"tls":true,"stage":"auth","command":"AUTH (PLAIN|LOGIN)( \*\*\*)?","reply":"235 Authentication successful\."'
	mi_assert_no_grep "$MI_SMTP_LOG" '"tls":false,"stage":"(auth|mail|rcpt|data)"'
	no_secret_in "$MI_SMTP_LOG"
	no_secret_in "$MI_POSTFIX_LOG"

	# What Postfix logged: a TLS session whose certificate chain the CA file verifies, and
	# the delivery with the upstream's reply, SES message id included.
	mi_assert_grep "$MI_POSTFIX_LOG" "Trusted TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:$MI_SMTP_PORT"
	mi_assert_grep "$MI_POSTFIX_LOG" "to=<x@example\.com>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$MI_SMTP_PORT, .*status=sent \(250 Ok $id\)"
	mi_run queue postqueue -c "$MI_POSTFIX_DIR" -j
	mi_assert_rc 0
	mi_assert_empty queue.out
}

t_postfix_defers_on_535() {
	mi_start_fake_smtp "$UPSTREAM_CONFIG"
	relay_instance relay_535 wrong-password
	send_mail swaks
	mi_postfix_wait_log relay_535 'to=<x@example\.com>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:[0-9]+, .*status=deferred \(SASL authentication failed; server 127\.0\.0\.1\[127\.0\.0\.1\] said: 535 Authentication Credentials Invalid\)' 30
	mi_assert_no_grep "$MI_POSTFIX_LOG" 'status=(sent|bounced)'
	[[ $(mi_smtp_count) == 0 ]] || mi_fail "the upstream accepted a message with bad credentials"
	mi_assert_grep "$MI_SMTP_LOG" '"stage":"auth","event":"auth","mechanism":"(PLAIN|LOGIN)","user":"AKIAUSER","ok":false'
	mi_assert_grep "$MI_SMTP_LOG" '"reply":"535 Authentication Credentials Invalid"'
	mi_assert_no_grep "$MI_SMTP_LOG" '"stage":"(mail|rcpt|data)"'
	mi_assert_no_grep "$MI_SMTP_LOG" 'wrong-password'
	# The message stays queued for a retry (a 535 is never a bounce).
	mi_run queue postqueue -c "$MI_POSTFIX_DIR" -j
	mi_assert_rc 0
	mi_assert_lines queue.out 1
	mi_assert_grep queue.out '"recipients": ?\[\{"address": ?"x@example\.com"'
}

t_smtplib_starttls_login() {
	mi_start_fake_smtp "$UPSTREAM_CONFIG"
	run_client <<'EOF'
import re, smtplib, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
s = smtplib.SMTP("127.0.0.1", port, timeout=10)
assert s.ehlo()[0] == 250
assert s.has_extn("starttls") and not s.has_extn("auth"), s.esmtp_features
assert s.esmtp_features["size"] == "10485760" and s.has_extn("8bitmime"), s.esmtp_features
reply = s.docmd("AUTH PLAIN " + "AEFLSUFVU0VSAHBhc3N3b3Jk")
assert reply == (530, b"Must issue a STARTTLS command first"), reply
reply = s.docmd("MAIL FROM:<y@example.com>")
assert reply[0] == 530, reply
s.starttls(context=ssl.create_default_context(cafile=ca))
s.ehlo()
assert not s.has_extn("starttls") and s.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"], s.esmtp_features
assert s.docmd("MAIL FROM:<y@example.com>") == (530, b"Authentication required")
try:
    s.login("AKIAUSER", "not-the-password")
    raise SystemExit("a bad password was accepted")
except smtplib.SMTPAuthenticationError as e:
    assert (e.smtp_code, e.smtp_error) == (535, b"Authentication Credentials Invalid"), e
assert s.login("AKIAUSER", "password") == (235, b"Authentication successful.")
s.mail("y@example.com")
s.rcpt("x@example.com")
code, text = s.data(b"Subject: direct\r\n\r\nsent with smtplib\r\n")
assert code == 250 and re.match(rb"^Ok 0100[0-9a-f]{12}-[0-9a-f-]{36}-000000$", text), (code, text)
s.quit()
print("ok")
EOF
	mi_assert_grep "$MI_SMTP_LOG" '"stage":"connect","command":null,"reply":"220 email-smtp\.amazonaws\.com ESMTP SimpleEmailService-'
	mi_assert_grep "$MI_SMTP_LOG" '"tls":false,"stage":"auth","command":"AUTH PLAIN \*\*\*","reply":"530 Must issue a STARTTLS command first"'
	mi_smtp_wait_count 1 5
	mi_assert_grep "$MI_SMTP_MAILDIR/0001.json" '"auth_mechanism": "(PLAIN|LOGIN)"'
	mi_assert_grep "$MI_SMTP_MAILDIR/0001.json" '"tls": true'
	no_secret_in "$MI_SMTP_LOG"
}

t_smtplib_implicit_tls() {
	mi_start_fake_smtp "$UPSTREAM_CONFIG" --implicit-tls
	run_client <<'EOF'
import smtplib, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
s = smtplib.SMTP_SSL("127.0.0.1", port, timeout=10, context=ssl.create_default_context(cafile=ca))
s.ehlo()
assert not s.has_extn("starttls") and s.has_extn("auth"), s.esmtp_features
s.login("AKIAUSER", "password")
refused = s.sendmail("y@example.com", ["x@example.com"], b"Subject: wrapper\r\n\r\nTLS wrapper mode\r\n")
assert refused == {}, refused
s.quit()
print("ok")
EOF
	mi_assert_grep "$MI_SMTP_MAILDIR/0001.json" '"tls": true'
	mi_assert_grep "$MI_SMTP_MAILDIR/0001.json" '"auth_user": "AKIAUSER"'
}

mi_scenario postfix_relays_tls_auth t_postfix_relays_tls_auth
mi_scenario postfix_defers_on_535 t_postfix_defers_on_535
mi_scenario smtplib_starttls_login t_smtplib_starttls_login
mi_scenario smtplib_implicit_tls t_smtplib_implicit_tls
mi_finish
