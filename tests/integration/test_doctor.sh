#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_doctor - `mailinit doctor` against stand-ins for the whole mail path: a healthy setup
# (stand-in IMDS with a role, stand-in Secrets Manager, the SES-like SMTP upstream with
# STARTTLS and AUTH, a DNS stand-in with the manual's SPF/DKIM/DMARC records, the built-in
# relay on a free loopback port, a stand-in systemd on a private bus) gives every check "ok"
# and exit 0 (--json parsed by Python); then one failure at a time: IMDS down, the token PUT
# hanging (hop limit named), no role, secret AccessDenied, relayhost unresolvable, its port
# closed, its port filtered while another port answers (EC2's port 25 throttle named), a
# certificate from another CA, one for another name, an expired one, AUTH rejected (535), SPF
# missing or without amazonses.com, DMARC missing, a DKIM CNAME wrong or missing, the custom
# MAIL FROM domain's MX, the local relay not listening, its unit failed, an old deferred
# message in the queue. Each asserts the check's result, its reason and the exit status, and
# that neither the SMTP password nor the user name is printed.
# shellcheck disable=SC2317,SC2031 # scenario functions run through mi_scenario, in subshells
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_secrets.sh"
. "$(dirname "$0")/lib_smtp.sh"
. "$(dirname "$0")/lib_relay.sh"
. "$(dirname "$0")/lib_dns.sh"
. "$(dirname "$0")/lib_dbus.sh"
mi_init
mi_require_secretsmanager
mi_require_fake_smtp
mi_require_fake_dns
mi_require_fake_systemd
export TZ=UTC LC_ALL=C

TOOL=$MAILINIT_BUILD_DIR/tests/tools/spool_tool
[[ -x $TOOL ]] || mi_fail "$TOOL is missing (built by tests/tools)"

SMTP_USER=AKIADOCTORTEST0USER1
SMTP_PASS=doctor-Password-not-to-be-printed
GOOD_SECRET='{"secrets": {"mailinit/ses": {"SecretJSON": {"smtp_username": "'"$SMTP_USER"'", "smtp_password": "'"$SMTP_PASS"'"}}}}'
GOOD_ZONE='{
 "example.com": {"TXT": ["v=spf1 include:amazonses.com ~all", "google-site-verification=abc"]},
 "_dmarc.example.com": {"TXT": ["v=DMARC1;p=quarantine;rua=mailto:admin@example.com"]},
 "sel1._domainkey.example.com": {"CNAME": "sel1.dkim.amazonses.com"},
 "sel2._domainkey.example.com": {"CNAME": "sel2.dkim.amazonses.com"},
 "mail.example.com": {"TXT": ["v=spf1 include:amazonses.com ~all"],
                      "MX": ["10 feedback-smtp.eu-west-1.amazonses.com"]}
}'
ALL_CHECKS=(config imds imds-token iam-role secret relayhost-dns relayhost-port relayhost-tls
	relayhost-auth spf dmarc dkim local-smtp service queue)

# Shared between scenarios: the Secrets Manager, DNS and systemd stand-ins (each scenario
# rewrites the first two's configuration).
mi_sm_config "$MI_TMP/sm.json" "$GOOD_SECRET"
mi_spawn_secretsmanager sm "$MI_TMP/sm.json"
mi_dns_zone "$MI_TMP/zone.json" "$GOOD_ZONE"
mi_start_fake_dns "$MI_TMP/zone.json"
echo '{"results": {"mailinit-relay.service": "done"}}' >"$MI_TMP/systemd.json"
mi_start_fake_systemd "$MI_TMP/systemd.json"
mi_wait_secretsmanager sm

# setup [IMDS-OVERRIDES] - a healthy instance: IMDS, the upstream with the secret's user, the
# root's mailinit.conf (relayhost: the upstream; secret_id; mydomain), the relay running
# (not with NO_RELAY=1)
setup() {
	mi_sm_config "$MI_SM_CONFIG" "$GOOD_SECRET"
	mi_dns_zone "$MI_DNS_ZONE" "$GOOD_ZONE"
	mi_imds_config imds.json "${1:-{\}}"
	mi_start_imds imds.json
	mi_start_fake_smtp "{\"users\": {\"$SMTP_USER\": \"$SMTP_PASS\"}}"
	mi_relay_setup "secret_id = mailinit/ses"
	mi_relay_credentials "$SMTP_USER" "$SMTP_PASS"
	[[ ${NO_RELAY:-0} == 1 ]] || mi_start_relay
}

# conf_with LINES - a copy of the root's mailinit.conf with LINES appended (later wins), for
# doctor --config; prints its path
conf_with() {
	cp "$MI_RELAY_ROOT/etc/mailinit/mailinit.conf" "$MI_DIR/doctor.conf"
	printf '%s\n' "$1" >>"$MI_DIR/doctor.conf"
	echo "$MI_DIR/doctor.conf"
}

# doctor NAME [ARG...] - mailinit doctor --json on the scenario's root, selectors sel1 sel2
doctor() {
	local name=$1
	shift
	mi_run "$name" "$MAILINIT" doctor --root "$MI_RELAY_ROOT" --json --dkim-selector sel1 \
		--dkim-selector sel2 "$@"
	assert_no_secret "$name"
}

# assert_no_secret NAME - neither the password nor the user name in the output
assert_no_secret() {
	if grep -qF -e "$SMTP_PASS" -e "$SMTP_USER" "$1.out" "$1.err"; then
		mi_show_run
		mi_fail "$1: the SMTP password or user name was printed"
	fi
}

# check NAME CHECK RESULT [REASON-REGEX [FIX-REGEX]] - in NAME.out (JSON), CHECK has RESULT,
# a reason matching REASON-REGEX and a fix matching FIX-REGEX (Python re.search)
check() {
	"$MI_PYTHON" - "$1.out" "$2" "$3" "${4:-}" "${5:-}" <<'EOF' || { mi_show_run; mi_fail "$1: check $2"; }
import json, re, sys
path, name, result, reason, fix = sys.argv[1:]
doc = json.load(open(path))
checks = {c["check"]: c for c in doc["checks"]}
c = checks.get(name)
if c is None:
    sys.exit(f"no check {name!r}")
if set(c) != {"check", "result", "reason", "fix"}:
    sys.exit(f"{name}: keys {sorted(c)}")
if c["result"] != result:
    sys.exit(f"{name}: result {c['result']!r}, want {result!r} ({c['reason']})")
if reason and not re.search(reason, c["reason"]):
    sys.exit(f"{name}: reason {c['reason']!r} does not match /{reason}/")
if fix and not re.search(fix, c["fix"] or ""):
    sys.exit(f"{name}: fix {c['fix']!r} does not match /{fix}/")
if result in ("ok", "skip") and c["fix"] is not None:
    sys.exit(f"{name}: a fix for result {result}: {c['fix']!r}")
if result in ("warn", "fail") and not c["fix"]:
    sys.exit(f"{name}: no fix for result {result}")
EOF
}

# only_problems NAME CHECK... - every check not named is ok or skip (the failure stays where
# it is put)
only_problems() {
	local name=$1
	shift
	"$MI_PYTHON" - "$name.out" "$@" <<'EOF' || { mi_show_run; mi_fail "$name: other checks failed"; }
import json, sys
doc = json.load(open(sys.argv[1]))
allowed = set(sys.argv[2:])
bad = [c for c in doc["checks"] if c["check"] not in allowed and c["result"] in ("warn", "fail")]
if bad:
    sys.exit(f"unexpected: {bad}")
EOF
}

t_healthy() {
	setup
	doctor run
	mi_assert_rc 0
	for c in "${ALL_CHECKS[@]}"; do
		check run "$c" ok
	done
	check run config ok '^mode builtin, relayhost \[127\.0\.0\.1\]:[0-9]+, region eu-west-1$'
	check run imds ok 'instance i-0123456789abcdef0 in eu-west-1'
	check run imds-token ok 'IMDSv2 token'
	check run iam-role ok '^role mailinit-test-role, temporary credentials valid until 20'
	check run secret ok "secret 'mailinit/ses' read with role mailinit-test-role: an SMTP user name and password$"
	check run relayhost-dns ok '127\.0\.0\.1 is an IP address'
	check run relayhost-port ok "127\.0\.0\.1\[127\.0\.0\.1\]:$MI_SMTP_PORT accepts connections"
	check run relayhost-tls ok '^STARTTLS with TLSv1\.[23]; the certificate is valid for 127\.0\.0\.1'
	check run relayhost-auth ok 'AUTH accepted for the SMTP credentials of the secret \(QUIT, no mail sent\)$'
	check run spf ok '^example\.com: v=spf1 include:amazonses\.com ~all$'
	check run dmarc ok '^_dmarc\.example\.com: v=DMARC1;p=quarantine'
	check run dkim ok '^2 selectors of example\.com point to SES .*: sel1, sel2$'
	check run local-smtp ok "^127\.0\.0\.1:$MI_RELAY_PORT greets with 220"
	check run service ok '^active: mailinit-relay\.service$'
	check run queue ok 'is empty'
	"$MI_PYTHON" -c '
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
assert s == {"ok": 15, "warn": 0, "fail": 0, "skip": 0, "result": "ok"}, s' run.out ||
		mi_fail "--json summary"
	# AUTH happened over TLS, and no mail was sent (no MAIL FROM)
	mi_assert_grep "$MI_SMTP_LOG" '"tls":true,"stage":"auth".*"reply":"235 '
	mi_assert_no_grep "$MI_SMTP_LOG" '"stage":"mail"'
	mi_assert_count 'api/token' 1
	# the human form: one line per check, a summary line
	mi_run human "$MAILINIT" doctor --root "$MI_RELAY_ROOT" --dkim-selector sel1
	mi_assert_rc 0
	assert_no_secret human
	mi_assert_grep human.out '^ok    config          mode builtin'
	mi_assert_grep human.out '^ok    relayhost-auth  AUTH accepted'
	mi_assert_grep human.out '^15 ok, 0 warn, 0 fail, 0 skip$'
	mi_assert_lines human.out 16
	mi_assert_no_grep human.out 'fix:'
}

t_help_usage() {
	mi_run help "$MAILINIT" doctor --help
	mi_assert_rc 0
	mi_assert_grep help.out '^Usage: mailinit doctor '
	mi_assert_grep help.out 'Exit status: 0 no check failed'
	mi_run top "$MAILINIT" --help
	mi_assert_grep top.out 'mailinit doctor \[--root DIR\]'
	mi_run bad "$MAILINIT" doctor --bogus
	mi_assert_rc 64
	mi_run bad2 "$MAILINIT" doctor --dkim-selector a.b
	mi_assert_rc 64
}

t_config_error() {
	mkdir -p root/etc/mailinit
	printf 'bogus_key = 1\n' >root/etc/mailinit/mailinit.conf
	mi_run run "$MAILINIT" doctor --root "$MI_DIR/root" --json
	mi_assert_rc 78
	check run config fail 'mailinit\.conf:1.*bogus_key'
	check run imds skip 'configuration cannot be read'
}

t_imds_down() {
	setup
	AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$(mi_closed_port)
	doctor run
	mi_assert_rc 69
	check run imds fail '^cannot reach the instance metadata service at http://127\.0\.0\.1:[0-9]+: .*Connection refused' '169\.254\.169\.254'
	check run imds-token skip 'IMDS unreachable'
	check run iam-role skip 'needs the instance metadata'
	check run secret skip 'no AWS credentials'
	check run relayhost-tls ok
	# without the secret, the built-in relay's own copy of the credentials is checked
	check run relayhost-auth ok 'AUTH accepted for the SMTP credentials of /etc/mailinit/credentials'
	check run config ok 'region \(unknown\)$'
	# without metadata, the values firstboot resolved for the relay (relay.conf) count
	printf 'region = eu-west-1\nnotify_from = ops@relay-conf.example\n' \
		>"$MI_RELAY_ROOT/etc/mailinit/relay.conf"
	doctor run2
	check run2 config ok 'region eu-west-1 \(with /etc/mailinit/relay\.conf: no instance metadata\)$'
	rm "$MI_RELAY_ROOT/etc/mailinit/credentials"
	doctor run3
	check run3 relayhost-auth skip 'no SMTP credentials'
}

t_token_hang() {
	setup '{"faults": [{"path": "token", "action": "hang", "max_ms": 20000}]}'
	AWS_METADATA_SERVICE_TIMEOUT=1 AWS_METADATA_SERVICE_NUM_ATTEMPTS=2 doctor run
	mi_assert_rc 69
	check run imds ok 'accepts connections'
	check run imds-token fail 'timed out although the host accepted the connection.*hop limit' 'http-put-response-hop-limit 2'
	check run iam-role skip
	check run secret skip
}

t_no_role() {
	setup '{"role": null}'
	doctor run
	mi_assert_rc 69
	check run imds ok
	check run iam-role fail '^no IAM role: no instance profile is attached to instance i-0123456789abcdef0$' 'associate-iam-instance-profile'
	check run secret skip 'no AWS credentials'
	check run relayhost-auth ok 'credentials of /etc/mailinit/credentials'
	only_problems run iam-role
}

t_secret_denied() {
	setup
	mi_sm_config "$MI_SM_CONFIG" '{"credentials": [{"access_key_id": "ASIAFAKEIMDS00000001",
		"secret_access_key": "fakeSecretAccessKeyFromTheStandInImds0001",
		"session_token": "FakeSessionTokenFromTheStandInImds//////////0001=",
		"role": "mailinit-test-role", "denied": true}],
		"secrets": {"mailinit/ses": {"SecretJSON": {"smtp_username": "'"$SMTP_USER"'", "smtp_password": "'"$SMTP_PASS"'"}}}}'
	doctor run
	mi_assert_rc 69
	check run secret fail 'not authorized to perform: secretsmanager:GetSecretValue' "allow secretsmanager:GetSecretValue on secret 'mailinit/ses' to role mailinit-test-role"
	check run relayhost-auth ok 'credentials of /etc/mailinit/credentials'
	only_problems run secret
}

t_relayhost_unresolvable() {
	setup
	doctor run --config "$(conf_with 'relayhost = [smtp.doctor-test.invalid]:587')"
	mi_assert_rc 69
	check run relayhost-dns fail '^cannot resolve smtp\.doctor-test\.invalid: ' 'resolv\.conf'
	check run relayhost-port skip 'does not resolve'
	check run relayhost-tls skip
	check run relayhost-auth skip
}

t_port_closed() {
	setup
	doctor run --config "$(conf_with "relayhost = [127.0.0.1]:$(mi_closed_port)")"
	mi_assert_rc 69
	check run relayhost-port fail 'Connection refused: nothing listens there' 'relayhost = \[127\.0\.0\.1\]:587'
	check run relayhost-tls skip 'does not answer'
	only_problems run relayhost-port
}

t_port_filtered() {
	setup
	mi_start_blackhole
	# the relayhost's port drops SYNs while another port of the same host answers
	doctor run --config "$(conf_with "relayhost = [127.0.0.1]:$MI_BLACKHOLE_PORT")" \
		--probe-port "$MI_SMTP_PORT"
	mi_assert_rc 69
	check run relayhost-port fail "timed out, while port $MI_SMTP_PORT of the same host answers: port $MI_BLACKHOLE_PORT is blocked on the way \\(EC2 throttles outbound port 25 by default\\)" "relayhost = \\[127\\.0\\.0\\.1\\]:$MI_SMTP_PORT .*port 25 limit"
	# when the other port does not answer either, no such conclusion
	doctor run2 --config "$MI_DIR/doctor.conf" --probe-port "$(mi_closed_port)"
	mi_assert_rc 69
	check run2 relayhost-port fail 'Connection timed out \(port [0-9]+ does not answer either\)' 'security group'
	mi_assert_no_grep run2.out 'EC2 throttles'
}

t_tls_other_ca() {
	setup
	bash "$MI_PEERS_DIR/make_test_ca.sh" "$MI_DIR/other-ca" >/dev/null
	doctor run --config "$(conf_with "tls_ca_file = $MI_DIR/other-ca/ca.pem")"
	mi_assert_rc 69
	check run relayhost-tls fail '^the certificate is signed by an unknown CA: TLS: certificate verify failed' "tls_ca_file \\($MI_DIR/other-ca/ca\\.pem\\)"
	check run relayhost-auth skip 'only over TLS'
	only_problems run relayhost-tls
	mi_assert_no_grep "$MI_SMTP_LOG" '"stage":"auth"'
}

t_tls_wrong_host() {
	mi_sm_config "$MI_SM_CONFIG" "$GOOD_SECRET"
	mi_imds_config imds.json
	mi_start_imds imds.json
	mi_start_fake_smtp "{\"users\": {\"$SMTP_USER\": \"$SMTP_PASS\"}}" --cert-name wrong-host
	mi_relay_setup "secret_id = mailinit/ses"
	doctor run
	mi_assert_rc 69
	check run relayhost-tls fail '^the certificate does not name the relayhost: .*mismatch' "not issued for '127\\.0\\.0\\.1'"
	check run relayhost-auth skip
}

t_tls_expired() {
	mi_smtp_certs
	# a certificate of the run's CA that expired a day ago (notAfter before notBefore)
	(
		cd "$MI_SMTP_CERT_DIR"
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout expired.key -out expired.csr -subj /CN=expired 2>/dev/null
		printf '%s\n' 'subjectAltName=DNS:localhost,IP:127.0.0.1' 'basicConstraints=critical,CA:FALSE' \
			'extendedKeyUsage=serverAuth' >expired.ext
		openssl x509 -req -in expired.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days -1 \
			-sha256 -extfile expired.ext -out expired.pem 2>/dev/null
	) || mi_fail "could not make an expired certificate"
	mi_sm_config "$MI_SM_CONFIG" "$GOOD_SECRET"
	mi_imds_config imds.json
	mi_start_imds imds.json
	mi_start_fake_smtp "{\"users\": {\"$SMTP_USER\": \"$SMTP_PASS\"}}" --cert-name expired
	mi_relay_setup "secret_id = mailinit/ses"
	doctor run
	mi_assert_rc 69
	check run relayhost-tls fail '^the relayhost.s certificate has expired: TLS: certificate verify failed \(certificate has expired\)' 'clock'
}

t_auth_rejected() {
	mi_sm_config "$MI_SM_CONFIG" "$GOOD_SECRET"
	mi_imds_config imds.json
	mi_start_imds imds.json
	mi_start_fake_smtp "{\"users\": {\"$SMTP_USER\": \"another-password\"}}"
	mi_relay_setup "secret_id = mailinit/ses"
	doctor run
	mi_assert_rc 69
	check run relayhost-tls ok
	check run relayhost-auth fail '^credentials rejected: 535 Authentication Credentials Invalid$' 'per region: derive the one for eu-west-1 .*smtp-password --region eu-west-1.*ses:SendRawEmail'
	mi_assert_no_grep "$MI_SMTP_LOG" '"stage":"mail"'
}

# dns_setup ZONE-JSON - the healthy setup with another zone
dns_setup() {
	setup
	mi_dns_zone "$MI_DNS_ZONE" "$1"
}

t_spf_missing() {
	dns_setup '{"example.com": {"TXT": ["google-site-verification=abc"]},
		"_dmarc.example.com": {"TXT": ["v=DMARC1;p=none"]},
		"sel1._domainkey.example.com": {"CNAME": "sel1.dkim.amazonses.com"},
		"sel2._domainkey.example.com": {"CNAME": "sel2.dkim.amazonses.com"}}'
	doctor run
	mi_assert_rc 0 # a warning is no failure
	check run spf warn '^example\.com has no SPF record; ' 'add example\.com TXT "v=spf1 include:amazonses\.com ~all"'
	check run dmarc ok 'p=none'
	only_problems run spf
	mi_assert_grep "$MI_DNS_LOG" '"name":"example.com","type":"TXT"'
}

t_spf_without_ses() {
	dns_setup '{"example.com": {"TXT": ["v=spf1 mx -all"]},
		"_dmarc.example.com": {"TXT": ["v=DMARC1;p=reject"]},
		"sel1._domainkey.example.com": {"CNAME": "sel1.dkim.amazonses.com"},
		"sel2._domainkey.example.com": {"CNAME": "sel2.dkim.amazonses.com"}}'
	doctor run
	mi_assert_rc 0
	check run spf warn '^the SPF record of example\.com does not include include:amazonses\.com: v=spf1 mx -all$' 'add include:amazonses\.com'
	only_problems run spf
	# a name server failure is no verdict on the records: warn
	mi_dns_zone "$MI_DNS_ZONE" '{"example.com": {"SERVFAIL": true}}'
	doctor run3
	check run3 spf warn '^cannot check SPF: no answer for example\.com' 'resolv\.conf'
	# two SPF records are an error for receivers: fail
	mi_dns_zone "$MI_DNS_ZONE" '{"example.com": {"TXT": ["v=spf1 mx -all", "v=spf1 include:amazonses.com ~all"]}}'
	doctor run2
	mi_assert_rc 69
	check run2 spf fail 'has 2 SPF records'
}

t_dmarc_missing() {
	dns_setup '{"example.com": {"TXT": ["v=spf1 include:amazonses.com ~all"]},
		"sel1._domainkey.example.com": {"CNAME": "sel1.dkim.amazonses.com"},
		"sel2._domainkey.example.com": {"CNAME": "sel2.dkim.amazonses.com"}}'
	doctor run
	mi_assert_rc 0
	check run dmarc warn '^_dmarc\.example\.com has no DMARC record$' '_dmarc\.example\.com TXT "v=DMARC1;p=quarantine;rua=mailto:postmaster@example\.com"'
	only_problems run dmarc
}

t_dkim_wrong() {
	dns_setup '{"example.com": {"TXT": ["v=spf1 include:amazonses.com ~all"]},
		"_dmarc.example.com": {"TXT": ["v=DMARC1;p=quarantine"]},
		"sel1._domainkey.example.com": {"CNAME": "sel1.dkim.amazonses.com"},
		"sel2._domainkey.example.com": {"CNAME": "sel2.dkim.example.net"}}'
	doctor run
	mi_assert_rc 69
	check run dkim fail '^sel2\._domainkey\.example\.com points to sel2\.dkim\.example\.net, not to sel2\.dkim\.amazonses\.com$' 'CNAME of sel2\.dkim\.amazonses\.com'
	only_problems run dkim
	# a selector without a record
	doctor run2 --dkim-selector sel3
	check run2 dkim fail '^sel2\._domainkey'
	mi_run run3 "$MAILINIT" doctor --root "$MI_RELAY_ROOT" --json --dkim-selector sel3
	mi_assert_rc 69
	check run3 dkim fail '^sel3\._domainkey\.example\.com has no CNAME \(the name does not exist\)$' 'add sel3\._domainkey\.example\.com CNAME sel3\.dkim\.amazonses\.com'
	# no selector given: skipped, with the reason
	mi_run run4 "$MAILINIT" doctor --root "$MI_RELAY_ROOT" --json
	mi_assert_rc 0
	check run4 dkim skip 'no DKIM selector given'
}

t_mail_from_domain() {
	dns_setup "$GOOD_ZONE"
	doctor run --mail-from-domain mail.example.com
	mi_assert_rc 0
	check run spf ok '^mail\.example\.com: v=spf1 include:amazonses\.com'
	mi_dns_zone "$MI_DNS_ZONE" '{"mail.example.com": {"TXT": ["v=spf1 include:amazonses.com ~all"]}}'
	doctor run2 --mail-from-domain mail.example.com
	mi_assert_rc 69
	check run2 spf fail 'custom MAIL FROM domain mail\.example\.com has no MX to SES' 'MX 10 feedback-smtp\.eu-west-1\.amazonses\.com'
	mi_dns_zone "$MI_DNS_ZONE" '{"example.com": {"TXT": ["v=spf1 include:amazonses.com ~all"]}}'
	doctor run3 --mail-from-domain mail.example.com
	check run3 spf fail '^mail\.example\.com has no SPF record \(the name does not exist\): SES.s custom MAIL FROM domain needs one$'
}

t_local_not_listening() {
	NO_RELAY=1 setup
	doctor run
	mi_assert_rc 69
	check run local-smtp fail "^the local relay at 127\\.0\\.0\\.1:$MI_RELAY_PORT: connect to .*Connection refused" 'mailinit-relay'
	only_problems run local-smtp queue
}

t_service_failed() {
	setup
	echo '{"results": {"mailinit-relay.service": "done"}, "states": {"mailinit-relay.service": "failed"}}' >systemd.json
	mi_start_fake_systemd systemd.json
	doctor run
	mi_assert_rc 69
	check run service fail '^mailinit-relay\.service is failed$' 'journalctl -u mailinit-relay\.service'
	only_problems run service
	# no bus at all: skipped, not failed
	DBUS_SYSTEM_BUS_ADDRESS=unix:path=$MI_DIR/no-such-bus doctor run2
	mi_assert_rc 0
	check run2 service skip '^no system bus'
}

t_queue_stuck() {
	local old young now
	setup
	now=$(date +%s)
	# deferred until tomorrow: the running relay leaves them alone
	old=$("$TOOL" "$MI_RELAY_SPOOL" create --sender app@example.com --rcpt user@example.net \
		--arrival $((now - 3 * 3600)))
	"$TOOL" "$MI_RELAY_SPOOL" state "$old" --attempts 5 --next-attempt $((now + 86400)) \
		--last-reply '454 Throttling failure: Maximum sending rate exceeded.'
	young=$("$TOOL" "$MI_RELAY_SPOOL" create --rcpt b@example.net --arrival $((now - 60)))
	"$TOOL" "$MI_RELAY_SPOOL" state "$young" --attempts 1 --next-attempt $((now + 86400))
	doctor run
	mi_assert_rc 0 # a warning
	check run queue warn "^1 of 2 queued messages are older than 1 h \\(2 deferred\\); the oldest, $old, waits for 3 h: 454 Throttling failure" "mailinit queue show $old"
	only_problems run queue
	# only the young one left: no problem
	rm -f "$MI_RELAY_SPOOL/queue/$old" "$MI_RELAY_SPOOL/state/$old"
	doctor run2
	mi_assert_rc 0
	check run2 queue ok '^1 message queued \(1 deferred\), none older than 1 h'
}

mi_scenario healthy t_healthy
mi_scenario help_usage t_help_usage
mi_scenario config_error t_config_error
mi_scenario imds_down t_imds_down
mi_scenario token_hang t_token_hang
mi_scenario no_role t_no_role
mi_scenario secret_denied t_secret_denied
mi_scenario relayhost_unresolvable t_relayhost_unresolvable
mi_scenario port_closed t_port_closed
mi_scenario port_filtered t_port_filtered
mi_scenario tls_other_ca t_tls_other_ca
mi_scenario tls_wrong_host t_tls_wrong_host
mi_scenario tls_expired t_tls_expired
mi_scenario auth_rejected t_auth_rejected
mi_scenario spf_missing t_spf_missing
mi_scenario spf_without_ses t_spf_without_ses
mi_scenario dmarc_missing t_dmarc_missing
mi_scenario dkim_wrong t_dkim_wrong
mi_scenario mail_from_domain t_mail_from_domain
mi_scenario local_not_listening t_local_not_listening
mi_scenario service_failed t_service_failed
mi_scenario queue_stuck t_queue_stuck
mi_finish
