# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034 source-path=SCRIPTDIR
# lib_doctor.sh - what test_doctor.sh and test_doctor_records.sh share: the stand-ins of the
# whole mail path started once per test (Secrets Manager, DNS, systemd), setup (IMDS, the
# SES-like upstream, the root's mailinit.conf, the built-in relay), and assertions on
# `mailinit doctor --json`. Source after lib.sh and mi_init; it sources lib_secrets.sh,
# lib_smtp.sh, lib_relay.sh, lib_dns.sh and lib_dbus.sh, and skips (77) when a stand-in is missing.

. "$MI_LIB_DIR/lib_secrets.sh"
. "$MI_LIB_DIR/lib_smtp.sh"
. "$MI_LIB_DIR/lib_relay.sh"
. "$MI_LIB_DIR/lib_dns.sh"
. "$MI_LIB_DIR/lib_dbus.sh"

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

