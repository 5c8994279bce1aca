#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# firstboot in builtin mode with the real built-in relay: firstboot writes relay.conf and the
# credentials, the stand-in systemd's RestartUnit("mailinit-relay.service") starts
# `mailinit relay` on them, the confirmation mail goes through it to the SES-like upstream
# (STARTTLS + AUTH), and firstboot records the relayhost's verdict: "sent", or "failed" with
# the upstream's reply when SES refuses it (an unverified sender, say).
# shellcheck disable=SC2317,SC2031 # scenario functions run through mi_scenario, in subshells
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"
. "$(dirname "$0")/lib_dbus.sh"
. "$(dirname "$0")/lib_secrets.sh"
. "$(dirname "$0")/lib_relay.sh"
mi_init
mi_require_fake_smtp
mi_require_fake_systemd
mi_require_secretsmanager

USER=AKIABUILTINRELAY
PASS='Builtin-Relay-Pa55/0123456789abcdefghijklmno'

json_field() {
	"$MI_PYTHON" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

# setup UPSTREAM-EXTRA-JSON - upstream, secret, metadata, a systemd whose restart job starts
# the relay under the root, and mailinit.conf (mi_firstboot_relay_setup)
setup() {
	mi_start_fake_smtp "{\"users\": {\"$USER\": \"$PASS\"}${1:+, $1}}"
	mi_sm_config sm.json "{\"secrets\": {\"mailinit/ses-smtp\": {\"SecretJSON\":
		{\"smtp_username\": \"$USER\", \"smtp_password\": \"$PASS\"}}}}"
	mi_start_secretsmanager sm.json
	mi_imds_config imds.json
	mi_start_imds imds.json
	mi_firstboot_relay_setup 'secret_id = mailinit/ses-smtp' "relayhost = [127.0.0.1]:$MI_SMTP_PORT" \
		"tls_ca_file = $MI_TEST_CA"
}

t_confirmation_sent_through_the_relay() {
	setup
	trap 'mi_firstboot_relay_stop; mi__scenario_cleanup' EXIT
	mi_run run "$MAILINIT" firstboot --root "$MI_RELAY_ROOT"
	mi_assert_rc 0
	local state=$MI_RELAY_ROOT/var/lib/mailinit/status.json
	[[ $(json_field "$state" 'd["confirmation"]["status"]') == sent ]] || mi_fail "status.json: $(cat "$state")"
	mi_smtp_wait_count 1 10
	local meta=$MI_SMTP_MAILDIR/0001.json
	[[ $(json_field "$meta" 'd["tls"]') == True && $(json_field "$meta" 'd["auth_user"]') == "$USER" ]] ||
		mi_fail "the upstream got: $(cat "$meta")"
	mi_assert_grep "$MI_SMTP_MAILDIR/0001.eml" '^Subject: mailinit: i-0123456789abcdef0 ready'
	mi_assert_grep "$MI_DIR/relay.log" 'status=sent \(250 Ok 0100'
	mi_assert_grep run.err 'The relayhost accepted the confirmation mail'
	# the relay kept the delivery record with SES's message id
	local id
	id=$(json_field "$state" 'd["confirmation"]["queue_id"]')
	mi_assert_grep "$MI_RELAY_ROOT/var/spool/mailinit/done/$id" '^to ops@example.com sent 250 Ok 0100'
	# mailinit status tells the first boot's result and the relay's queue
	mi_run st "$MAILINIT" status --root "$MI_RELAY_ROOT"
	mi_assert_rc 0
	mi_assert_grep st.out '^confirmation: sent, queue id [0-9A-F]+'
	mi_assert_grep st.out '^relay queue: +0 message\(s\), 0 deferred'
	mi_run js "$MAILINIT" status --root "$MI_RELAY_ROOT" --json
	[[ $("$MI_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["relay_queue"]["messages"])' <js.out) == 0 ]] ||
		mi_fail "status --json: $(cat js.out)"
}

t_confirmation_refused_by_ses() {
	setup '"faults": [{"stage": "data_end", "reply": "554 Message rejected: Email address is not verified. The following identities failed the check in region EU-WEST-1: postmaster@example.com"}]'
	trap 'mi_firstboot_relay_stop; mi__scenario_cleanup' EXIT
	mi_run run "$MAILINIT" firstboot --root "$MI_RELAY_ROOT"
	mi_assert_rc 69
	mi_assert_grep run.err '^mailinit: error: The relayhost refused the confirmation mail: 554 Message rejected: Email address is not verified'
	local state=$MI_RELAY_ROOT/var/lib/mailinit/status.json
	[[ $(json_field "$state" 'd["result"]') == failed && $(json_field "$state" 'd["confirmation"]["status"]') == failed ]] ||
		mi_fail "status.json: $(cat "$state")"
}

mi_scenario confirmation-sent-through-the-relay t_confirmation_sent_through_the_relay
mi_scenario confirmation-refused-by-ses t_confirmation_refused_by_ses
mi_finish
