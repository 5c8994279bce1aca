#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The built-in relay's STARTTLS and AUTH for its own clients (Cyrus SASL server side, a sasldb
# made with saslpasswd2): a client outside mynetworks (127.0.0.2; mynetworks is 127.0.0.1/32)
# relays once authenticated (swaks, PLAIN and LOGIN), never otherwise; a wrong password is 535
# and then 554 5.7.1; AUTH in clear is 530; commands pipelined after STARTTLS are discarded
# (RFC 3207 4); pipelining and long messages under TLS; EHLO offers STARTTLS in clear and AUTH only under TLS; the Received header
# says ESMTPSA; no password reaches the relay's log; the configuration rules.
# shellcheck disable=SC2317,SC2031 # scenario functions run through mi_scenario, in subshells
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"
. "$(dirname "$0")/lib_relay.sh"
mi_init
mi_require_fake_smtp
mi_require swaks saslpasswd2
compgen -G '/usr/lib/*/sasl2/libsasldb.so*' >/dev/null || mi_skip "libsasl2-modules-db is not installed"
compgen -G '/usr/lib/*/sasl2/libplain.so*' >/dev/null || mi_skip "libsasl2-modules is not installed"

UP_USER=AKIARELAYTEST
UP_PASS='Relay-Pa55word/0123456789abcdefghijklmnop'
CLIENT=alice@relay.test
CLIENT_PASS='Client-Secret-7d1e9c0b'
WRONG_PASS='Not-The-Password-5a3f'

# setup - upstream, the relay on 127.0.0.1 and 127.0.0.2 with STARTTLS and AUTH (certificate
# and Cyrus configuration under its root, sasldb in the scenario directory)
setup() {
	local sasl
	mi_start_fake_smtp "{\"users\": {\"$UP_USER\": \"$UP_PASS\"}}"
	mi_smtp_certs
	mi_relay_setup 'listen = 127.0.0.1:0'
	sed -i "s/^listen = .*/listen = 127.0.0.1:$MI_RELAY_PORT, 127.0.0.2:$MI_RELAY_PORT/" \
		"$MI_RELAY_ROOT/etc/mailinit/mailinit.conf"
	mkdir -p "$MI_RELAY_ROOT/etc/mailinit/tls" "$MI_RELAY_ROOT/etc/mailinit/sasl2"
	cp "$MI_SMTP_CERT_DIR/server.pem" "$MI_SMTP_CERT_DIR/server.key" "$MI_RELAY_ROOT/etc/mailinit/tls/"
	# the relay's paths are under its --root; sasldb_path is read by Cyrus as written
	sasl=$MI_DIR/sasldb
	printf '%s' "$CLIENT_PASS" | saslpasswd2 -c -p -f "$sasl" -u relay.test alice ||
		mi_fail "saslpasswd2 failed"
	# Cyrus reads sasldb at each AUTH, after the relay became mailinit (as Postfix's smtpd
	# reads it as postfix); the private key stays root's: it is read before the switch
	chown mailinit "$sasl"
	chmod 0600 "$MI_RELAY_ROOT/etc/mailinit/tls/server.key"
	printf 'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: %s\nmech_list: PLAIN LOGIN\n' \
		"$sasl" >"$MI_RELAY_ROOT/etc/mailinit/sasl2/mailinit.conf"
	cat >>"$MI_RELAY_ROOT/etc/mailinit/mailinit.conf" <<-EOF
		smtpd_tls_cert_file = /etc/mailinit/tls/server.pem
		smtpd_tls_key_file = /etc/mailinit/tls/server.key
		smtpd_sasl_auth_enable = yes
	EOF
	mi_relay_credentials "$UP_USER" "$UP_PASS"
}

# client.py PORT SCRIPT - a scripted SMTP client from 127.0.0.2 (Python's ssl for STARTTLS)
write_client() {
	cat >client.py <<'EOF'
import base64, socket, ssl, sys

port, ca = int(sys.argv[1]), sys.argv[2]


class Client:
    def __init__(self, source="127.0.0.2"):
        self.sock = socket.create_connection(("127.0.0.2", port), timeout=20,
                                             source_address=(source, 0))
        self.f = self.sock.makefile("rb")
        self.banner = self.reply()

    def reply(self):
        lines = []
        while True:
            line = self.f.readline().decode()
            if not line:
                raise EOFError("connection closed after %r" % lines)
            lines.append(line.rstrip("\r\n"))
            if line[3:4] != "-":
                return lines

    def cmd(self, text, want=None):
        self.sock.sendall(text.encode() + b"\r\n")
        r = self.reply()
        if want and not r[-1].startswith(want):
            raise AssertionError("%s: got %r, want %s" % (text.split(" ")[0], r, want))
        return r

    def starttls(self, raw=b"STARTTLS\r\n"):
        self.sock.sendall(raw)
        r = self.reply()
        assert r[-1].startswith("220 2.0.0"), r
        ctx = ssl.create_default_context(cafile=ca)
        self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
        self.f = self.sock.makefile("rb")
        return self.sock.version()


def caps(reply):
    return [l[4:] for l in reply[1:]]


def plain(user, password):
    return base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()


def b64(text):
    return base64.b64encode(text.encode()).decode()
EOF
}

t_ehlo_and_order() {
	setup
	mi_start_relay
	write_client
	"$MI_PYTHON" - "$MI_RELAY_PORT" "$MI_TEST_CA" "$CLIENT" "$CLIENT_PASS" <<'EOF' >client.out
import sys
exec(open("client.py").read())
user, password = sys.argv[3], sys.argv[4]
c = Client()
before = caps(c.cmd("EHLO client.test", "250 "))
assert "STARTTLS" in before, before
assert not any(x.startswith("AUTH") for x in before), before
print("in clear:", before)
# AUTH in clear: refused, whatever the mechanism; no relaying either
c.cmd("AUTH PLAIN " + plain(user, password), "530 5.7.0 Must issue a STARTTLS command first")
c.cmd("MAIL FROM:<a@example.com>", "250")
c.cmd("RCPT TO:<victim@example.org>", "554 5.7.1")
c.cmd("RSET", "250")
print(c.starttls())
# the session starts again under TLS: no EHLO yet
c.cmd("MAIL FROM:<a@example.com>", "503 5.5.1")
after = caps(c.cmd("EHLO client.test", "250 "))
assert "STARTTLS" not in after, after
assert "AUTH PLAIN LOGIN" in after, after
print("under TLS:", after)
c.cmd("STARTTLS", "554 5.5.1 Error: TLS already active")
# not authenticated yet: still no relaying
c.cmd("MAIL FROM:<a@example.com>", "250")
c.cmd("RCPT TO:<victim@example.org>", "554 5.7.1")
c.cmd("AUTH PLAIN " + plain(user, password), "503 5.5.1 Error: MAIL transaction in progress")
c.cmd("RSET", "250")
c.cmd("AUTH CRAM-MD5", "504 5.5.4")
c.cmd("AUTH", "501 5.5.4")
# a cancelled exchange
c.cmd("AUTH LOGIN", "334 " + b64("Username:"))
c.cmd("*", "501 5.7.0")
# then LOGIN for real, with the exchange split over 334 continuations
c.cmd("AUTH LOGIN", "334")
c.cmd(b64(user), "334 " + b64("Password:"))
c.cmd(b64(password), "235 2.7.0 Authentication successful")
c.cmd("AUTH PLAIN " + plain(user, password), "503 5.5.1 Error: already authenticated")
c.cmd("MAIL FROM:<alice@relay.test>", "250")
c.cmd("RCPT TO:<friend@example.org>", "250")
c.cmd("QUIT", "221")
print("ok")
EOF
	mi_assert_grep client.out '^ok$'
	mi_relay_wait_log 'unknown\[127\.0\.0\.2\]: sasl_method=LOGIN, sasl_username=alice@relay.test: authenticated'
	mi_assert_grep "$MI_RELAY_LOG" 'Anonymous TLS connection established from unknown\[127\.0\.0\.2\]: TLSv1\.[23] with cipher'
	mi_assert_no_grep "$MI_RELAY_LOG" "$CLIENT_PASS"
}

t_swaks_plain_relays() {
	setup
	mi_start_relay
	mi_run s1 swaks --server "127.0.0.2:$MI_RELAY_PORT" --local-interface 127.0.0.2 --tls \
		--auth PLAIN --auth-user "$CLIENT" --auth-password "$CLIENT_PASS" \
		--from alice@relay.test --to friend@example.org --header 'Subject: authenticated' --timeout 20
	mi_assert_rc 0
	mi_assert_grep s1.out '^<~ +235 2.7.0 Authentication successful'
	mi_assert_grep s1.out '^<~ +250 2.0.0 Ok: queued as [0-9A-F]+'
	mi_smtp_wait_count 1 20
	local eml=$MI_SMTP_MAILDIR/0001.eml
	mi_assert_grep "$eml" '^Subject: authenticated'
	mi_assert_grep "$eml" '^	by relay.test \(mailinit\) with ESMTPSA id [0-9A-F]+'
	mi_assert_grep "$MI_RELAY_LOG" '[0-9A-F]+: client=unknown\[127\.0\.0\.2\], sasl_method=PLAIN, sasl_username=alice@relay\.test$'
	mi_relay_wait_log 'to=<friend@example.org>, relay=127.0.0.1.*status=sent'
	# a client in mynetworks still relays without AUTH; under TLS the header says ESMTPS
	mi_run s2 swaks --server "127.0.0.1:$MI_RELAY_PORT" --tls --from a@example.com \
		--to b@example.net --timeout 20
	mi_assert_rc 0
	mi_smtp_wait_count 2 20
	mi_assert_grep "$MI_SMTP_MAILDIR/0002.eml" '^	by relay.test \(mailinit\) with ESMTPS id '
	mi_assert_no_grep "$MI_RELAY_LOG" "$CLIENT_PASS"
	mi_assert_no_grep "$MI_RELAY_LOG" "$(printf '\0%s\0%s' "$CLIENT" "$CLIENT_PASS" | base64 -w0)"
}

t_wrong_password() {
	setup
	mi_start_relay
	mi_run s1 swaks --server "127.0.0.2:$MI_RELAY_PORT" --local-interface 127.0.0.2 --tls \
		--auth PLAIN --auth-user "$CLIENT" --auth-password "$WRONG_PASS" \
		--from alice@relay.test --to friend@example.org --timeout 20
	[[ $MI_RC != 0 ]] || mi_fail "swaks succeeded with a wrong password"
	mi_assert_grep s1.out '^<~\* +535 5.7.8 Error: authentication failed: authentication failure'
	write_client
	"$MI_PYTHON" - "$MI_RELAY_PORT" "$MI_TEST_CA" "$CLIENT" "$WRONG_PASS" <<'EOF' >client.out
import sys
exec(open("client.py").read())
c = Client()
c.cmd("EHLO client.test", "250 ")
c.starttls()
c.cmd("EHLO client.test", "250 ")
c.cmd("AUTH PLAIN " + plain(sys.argv[3], sys.argv[4]), "535 5.7.8 Error: authentication failed")
c.cmd("AUTH PLAIN", "334")
c.cmd("not base64!", "501 5.5.2")
c.cmd("MAIL FROM:<alice@relay.test>", "250")
c.cmd("RCPT TO:<friend@example.org>", "554 5.7.1 <friend@example.org>: Relay access denied")
c.cmd("QUIT", "221")
print("ok")
EOF
	mi_assert_grep client.out '^ok$'
	mi_assert_grep "$MI_RELAY_LOG" 'unknown\[127\.0\.0\.2\]: SASL PLAIN authentication failed: authentication failure'
	sleep 1
	[[ $(mi_smtp_count) == 0 ]] || mi_fail "mail was relayed without authentication"
	mi_assert_no_grep "$MI_RELAY_LOG" "$WRONG_PASS"
	mi_assert_no_grep "$MI_RELAY_LOG" "$CLIENT_PASS"
}

t_starttls_injection() {
	setup
	mi_start_relay
	write_client
	"$MI_PYTHON" - "$MI_RELAY_PORT" "$MI_TEST_CA" <<'EOF' >client.out
import socket, sys
exec(open("client.py").read())
c = Client()
c.cmd("EHLO client.test", "250 ")
# RFC 3207 4: RSET pipelined in clear after STARTTLS must not be answered under TLS
c.starttls(b"STARTTLS\r\nRSET\r\n")
c.sock.settimeout(1.5)
try:
    data = c.sock.recv(1000)
    raise AssertionError("the server answered an injected command: %r" % data)
except (socket.timeout, TimeoutError):
    pass
c.sock.settimeout(20)
r = c.cmd("EHLO client.test", "250 ")
assert r[0].startswith("250-relay.test"), r
c.cmd("QUIT", "221")
print("ok")
EOF
	mi_assert_grep client.out '^ok$'
	mi_assert_grep "$MI_RELAY_LOG" 'unknown\[127\.0\.0\.2\]: discarding 6 byte\(s\) sent after STARTTLS'
	# plaintext that arrives after the 220 breaks the handshake, and nothing else
	"$MI_PYTHON" - "$MI_RELAY_PORT" <<'EOF' >late.out
import socket, sys
s = socket.create_connection(("127.0.0.2", int(sys.argv[1])), timeout=20, source_address=("127.0.0.2", 0))
f = s.makefile("rb")
f.readline()
s.sendall(b"STARTTLS\r\n")
assert f.readline().startswith(b"220 2.0.0")
s.sendall(b"RSET\r\nQUIT\r\n")
try:
    data = s.recv(1000)
except ConnectionResetError:
    data = b""  # closed with our bytes unread
# a TLS alert at most, never an SMTP reply
assert not data[:1].isdigit(), "the server answered plaintext after STARTTLS: %r" % data
print("ok")
EOF
	mi_assert_grep late.out '^ok$'
	mi_relay_wait_log 'SSL_accept error from unknown\[127\.0\.0\.2\]'
}

t_pipelining_under_tls() {
	# an authenticated client pipelines two transactions and a 300 KB body (many TLS records)
	setup
	mi_start_relay
	write_client
	"$MI_PYTHON" - "$MI_RELAY_PORT" "$MI_TEST_CA" "$CLIENT" "$CLIENT_PASS" <<'EOF' >client.out
import sys
exec(open("client.py").read())
c = Client()
c.starttls()
c.cmd("EHLO client.test", "250 ")
c.cmd("AUTH PLAIN " + plain(sys.argv[3], sys.argv[4]), "235")
body = b"".join(b"line %06d of a long message under TLS\r\n" % i for i in range(8000))
c.sock.sendall(b"MAIL FROM:<alice@relay.test>\r\nRCPT TO:<r1@example.org>\r\nDATA\r\n")
for want in ("250", "250", "354"):
    r = c.reply(); assert r[-1].startswith(want), r
c.sock.sendall(b"Subject: big\r\n\r\n" + body + b".\r\nMAIL FROM:<alice@relay.test>\r\n"
               b"RCPT TO:<r2@example.org>\r\nDATA\r\n")
for want in ("250 2.0.0 Ok: queued", "250", "250", "354"):
    r = c.reply(); assert r[-1].startswith(want), r
c.sock.sendall(b"Subject: small\r\n\r\nhello\r\n.\r\nQUIT\r\n")
for want in ("250 2.0.0 Ok: queued", "221"):
    r = c.reply(); assert r[-1].startswith(want), r
print("ok")
EOF
	mi_assert_grep client.out '^ok$'
	mi_smtp_wait_count 2 20
	grep -q '^line 007999 of a long message under TLS' "$MI_SMTP_MAILDIR"/000[12].eml ||
		mi_fail "the long message lost its end"
}

t_reload_keeps_serving() {
	# SIGHUP replaces the relay's settings: the server keeps its own copies (banner, EHLO)
	setup
	mi_start_relay
	kill -HUP "$MI_RELAY_PID"
	mi_relay_wait_log 'Configuration and credentials read again'
	mi_run s1 swaks --server "127.0.0.2:$MI_RELAY_PORT" --local-interface 127.0.0.2 --tls \
		--auth LOGIN --auth-user "$CLIENT" --auth-password "$CLIENT_PASS" \
		--from alice@relay.test --to friend@example.org --timeout 20
	mi_assert_rc 0
	mi_assert_grep s1.out '^<- +220 relay.test ESMTP mailinit'
	mi_smtp_wait_count 1 20
	mi_stop_relay TERM
	[[ $MI_RELAY_RC == 0 ]] || mi_fail "the relay exited $MI_RELAY_RC on SIGTERM"
}

t_configuration_rules() {
	mi_start_fake_smtp "{\"users\": {\"$UP_USER\": \"$UP_PASS\"}}"
	mi_relay_setup 'smtpd_sasl_auth_enable = yes'
	mi_run r1 "$MAILINIT" relay --root "$MI_RELAY_ROOT"
	mi_assert_rc 78
	mi_assert_grep r1.err "parameter 'smtpd_sasl_auth_enable': 'yes' needs smtpd_tls_cert_file and smtpd_tls_key_file"
	# a key that does not exist: named, and the relay does not start
	mi_smtp_certs
	mi_relay_setup "smtpd_tls_cert_file = $MI_SMTP_CERT_DIR/server.pem
smtpd_tls_key_file = /nonexistent/server.key"
	mi_run r2 "$MAILINIT" relay --root "$MI_RELAY_ROOT"
	mi_assert_rc 78
	mi_assert_grep r2.err 'smtpd_tls_cert_file/smtpd_tls_key_file: cannot read .*server'
	# a Cyrus configuration without PLAIN and LOGIN: said so at start
	setup
	printf 'mech_list: CRAM-MD5\n' >"$MI_RELAY_ROOT/etc/mailinit/sasl2/mailinit.conf"
	mi_run r3 "$MAILINIT" relay --root "$MI_RELAY_ROOT"
	mi_assert_rc 78
	mi_assert_grep r3.err 'no SASL mechanism \(PLAIN, LOGIN\) available'
	# STARTTLS without AUTH: offered, and AUTH is still "not implemented"
	setup
	sed -i 's/^smtpd_sasl_auth_enable = yes/smtpd_sasl_auth_enable = no/' "$MI_RELAY_ROOT/etc/mailinit/mailinit.conf"
	mi_start_relay
	write_client
	"$MI_PYTHON" - "$MI_RELAY_PORT" "$MI_TEST_CA" <<'EOF' >client.out
import sys
exec(open("client.py").read())
c = Client()
c.starttls()
after = caps(c.cmd("EHLO client.test", "250 "))
assert not any(x.startswith("AUTH") for x in after), after
c.cmd("AUTH PLAIN AGFsaWNlAHg=", "502 5.5.1")
c.cmd("QUIT", "221")
print("ok")
EOF
	mi_assert_grep client.out '^ok$'
}

mi_scenario ehlo-and-order t_ehlo_and_order
mi_scenario swaks-plain-relays t_swaks_plain_relays
mi_scenario wrong-password t_wrong_password
mi_scenario starttls-injection t_starttls_injection
mi_scenario pipelining-under-tls t_pipelining_under_tls
mi_scenario reload-keeps-serving t_reload_keeps_serving
mi_scenario configuration-rules t_configuration_rules
mi_finish
