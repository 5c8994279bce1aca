#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# firstboot in builtin mode with relay_transport = ses-api, end to end, with no Secrets Manager
# at all (its endpoint is a closed port): firstboot says in one line that it fetches no
# secret, writes relay.conf (with relay_transport) and no credentials file, the stand-in
# systemd starts the real relay, which delivers the confirmation mail through the stand-in
# SES API v2 with the instance role's credentials from the stand-in IMDS; status.json says
# ok / sent. --dry-run shows the key and what would (not) be written.
# shellcheck disable=SC2317,SC2031 # scenario functions run through mi_scenario, in subshells
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_dbus.sh"
. "$(dirname "$0")/lib_secrets.sh"
. "$(dirname "$0")/lib_relay.sh"
. "$(dirname "$0")/lib_sesv2.sh"
mi_init
mi_require_fake_systemd
mi_require_sesv2

json_field() {
	"$MI_PYTHON" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

# setup - metadata, the SES API, a systemd whose restart job starts the relay, mailinit.conf
# (mi_firstboot_relay_setup)
setup() {
	mi_imds_config imds.json
	mi_start_imds imds.json
	mi_sesv2_config ses.json '{"verified_identities": ["example.com"]}'
	mi_start_sesv2 ses.json
	# nothing listens there: any Secrets Manager request would fail the run
	AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:$(mi_closed_port)
	export AWS_ENDPOINT_URL_SECRETS_MANAGER
	mi_firstboot_relay_setup 'relay_transport = ses-api'
}

t_confirmation_sent_with_the_ses_api() {
	setup
	trap 'mi_firstboot_relay_stop; mi__scenario_cleanup' EXIT
	mi_run run "$MAILINIT" firstboot --root "$MI_RELAY_ROOT"
	mi_assert_rc 0
	mi_assert_grep run.err 'relay_transport = ses-api: no SMTP credentials to fetch, the relay signs SES API requests with the instance role'
	mi_assert_no_grep run.err 'Secrets Manager|secret_id'
	local state=$MI_RELAY_ROOT/var/lib/mailinit/status.json
	[[ $(json_field "$state" 'd["result"]') == ok && $(json_field "$state" 'd["confirmation"]["status"]') == sent ]] ||
		mi_fail "status.json: $(cat "$state")"
	mi_assert_grep "$MI_RELAY_ROOT/etc/mailinit/relay.conf" '^relay_transport = ses-api$'
	mi_assert_grep "$MI_RELAY_ROOT/etc/mailinit/relay.conf" '^region = eu-west-1$'
	[[ ! -e $MI_RELAY_ROOT/etc/mailinit/credentials ]] || mi_fail "a credentials file was written"
	# the confirmation went through the SES API, signed with the role's credentials
	mi_sesv2_wait_count '"status":200' 1
	local meta
	meta=$(ls "$MI_SES_MSGS"/*.json)
	[[ $(json_field "$meta" 'd["to"]') == "['ops@example.com']" && $(json_field "$meta" 'd["from"]') == postmaster@example.com &&
		$(json_field "$meta" 'd["access_key_id"]') == "$MI_IMDS_DEFAULT_AKID" ]] ||
		mi_fail "the SES API got: $(cat "$meta")"
	mi_assert_grep "${meta%.json}.eml" '^Subject: mailinit: i-0123456789abcdef0 ready'
	mi_assert_grep "$MI_DIR/relay.log" 'Relaying with the SES API at http://127\.0\.0\.1'
	mi_assert_grep "$MI_DIR/relay.log" "status=sent \\(250 Ok $(basename "${meta%.json}")\\)"
	local id
	id=$(json_field "$state" 'd["confirmation"]["queue_id"]')
	mi_assert_grep "$MI_RELAY_ROOT/var/spool/mailinit/done/$id" '^to ops@example.com sent 250 Ok 0102'
}

t_dry_run_shows_the_transport() {
	setup
	mi_run dry "$MAILINIT" firstboot --root "$MI_RELAY_ROOT" --dry-run
	mi_assert_rc 0
	mi_assert_grep dry.out '^relay_transport += ses-api +# file'
	mi_assert_grep dry.out '^# secret: not needed \(relay_transport = ses-api'
	mi_assert_grep dry.out '^relay_transport = ses-api$'
	mi_assert_grep dry.out '^# would write no /etc/mailinit/credentials: relay_transport = ses-api needs no SMTP credentials'
	[[ ! -e $MI_RELAY_ROOT/etc/mailinit/relay.conf ]] || mi_fail "--dry-run wrote relay.conf"
}

t_postfix_mode_refuses_the_ses_api() {
	setup
	echo 'mode = postfix' >>"$MI_RELAY_ROOT/etc/mailinit/mailinit.conf"
	mi_run pf "$MAILINIT" firstboot --root "$MI_RELAY_ROOT" --dry-run
	mi_assert_rc 78
	mi_assert_grep pf.err "parameter 'relay_transport': 'ses-api' needs mode = builtin"
}

mi_scenario confirmation-sent-with-the-ses-api t_confirmation_sent_with_the_ses_api
mi_scenario dry-run-shows-the-transport t_dry_run_shows_the_transport
mi_scenario postfix-mode-refuses-the-ses-api t_postfix_mode_refuses_the_ses_api
mi_finish
