#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_doctor_records - `mailinit doctor` on the sender domain's records and the local end
# (stand-ins of lib_doctor.sh): SPF missing, without amazonses.com, doubled, or unanswered
# (SERVFAIL), DMARC missing, a DKIM CNAME wrong or missing, the custom MAIL FROM domain's SPF and
# MX, the local relay not listening, its unit failed (and no bus), an old deferred message in
# the queue. A warning keeps exit 0; a failure gives 69.
# shellcheck disable=SC2317,SC2031,SC2119 # scenario functions run through mi_scenario, in subshells
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mi_init
. "$MI_LIB_DIR/lib_doctor.sh"

# dns_setup ZONE-JSON - the healthy setup with another zone: the names of ZONE-JSON, and the
# DKIM selectors sel1 and sel2 as CNAMEs to SES unless ZONE-JSON names them
dns_setup() {
	setup
	mi_dns_zone "$MI_DNS_ZONE" "$("$MI_PYTHON" -c '
import json, sys
zone = {"sel1._domainkey.example.com": {"CNAME": "sel1.dkim.amazonses.com"},
        "sel2._domainkey.example.com": {"CNAME": "sel2.dkim.amazonses.com"}}
zone.update(json.loads(sys.argv[1]))
print(json.dumps(zone))' "$1")"
}

t_spf_missing() {
	dns_setup '{"example.com": {"TXT": ["google-site-verification=abc"]},
		"_dmarc.example.com": {"TXT": ["v=DMARC1;p=none"]}}'
	doctor run
	mi_assert_rc 0 # a warning is no failure
	check run spf warn '^example\.com has no SPF record; ' 'add example\.com TXT "v=spf1 include:amazonses\.com ~all"'
	check run dmarc ok 'p=none'
	only_problems run spf
	mi_assert_grep "$MI_DNS_LOG" '"name":"example.com","type":"TXT"'
}

t_spf_without_ses() {
	dns_setup '{"example.com": {"TXT": ["v=spf1 mx -all"]},
		"_dmarc.example.com": {"TXT": ["v=DMARC1;p=reject"]}}'
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
	dns_setup '{"example.com": {"TXT": ["v=spf1 include:amazonses.com ~all"]}}'
	doctor run
	mi_assert_rc 0
	check run dmarc warn '^_dmarc\.example\.com has no DMARC record$' '_dmarc\.example\.com TXT "v=DMARC1;p=quarantine;rua=mailto:postmaster@example\.com"'
	only_problems run dmarc
}

t_dkim_wrong() {
	dns_setup '{"example.com": {"TXT": ["v=spf1 include:amazonses.com ~all"]},
		"_dmarc.example.com": {"TXT": ["v=DMARC1;p=quarantine"]},
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

mi_scenario spf_missing t_spf_missing
mi_scenario spf_without_ses t_spf_without_ses
mi_scenario dmarc_missing t_dmarc_missing
mi_scenario dkim_wrong t_dkim_wrong
mi_scenario mail_from_domain t_mail_from_domain
mi_scenario local_not_listening t_local_not_listening
mi_scenario service_failed t_service_failed
mi_scenario queue_stuck t_queue_stuck
mi_finish
