#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_doctor - `mailinit doctor` against stand-ins for the whole mail path (lib_doctor.sh): a
# healthy setup (stand-in IMDS with a role, stand-in Secrets Manager, the SES-like SMTP upstream
# with STARTTLS and AUTH, a DNS stand-in with the manual's SPF/DKIM/DMARC records, the built-in
# relay on a free loopback port, a stand-in systemd on a private bus) gives every check "ok"
# and exit 0 (--json parsed by Python); then one failure at a time on the AWS and relayhost
# side: IMDS down, the token PUT hanging (hop limit named), no role, secret AccessDenied,
# relayhost unresolvable, its port closed, its port filtered while another port answers (EC2's
# port 25 throttle named), a certificate from another CA, one for another name, an expired
# one, AUTH rejected (535). Each asserts the check's result, its reason and fix, and the exit
# status, and that neither the SMTP password nor the user name is printed.
# (test_doctor_records.sh: the DNS records and the local relay.)
# shellcheck disable=SC2317,SC2031 # scenario functions run through mi_scenario, in subshells
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mi_init
. "$MI_LIB_DIR/lib_doctor.sh"

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
mi_finish
