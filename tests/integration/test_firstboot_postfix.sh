#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole first boot in postfix mode with real peers: the stand-in IMDS and Secrets Manager
# (HTTPS, signatures checked by botocore), a private Postfix instance from Debian configured by
# `mailinit firstboot`, the stand-in systemd on a private D-Bus (its RestartUnit reloads that
# Postfix), and an SES-like upstream that requires STARTTLS and AUTH. The confirmation mail
# must arrive at the upstream over TLS, authenticated with the secret's credentials.
# shellcheck disable=SC2317,SC2031 # scenario functions run through mi_scenario, in subshells
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"
. "$(dirname "$0")/lib_dbus.sh"
. "$(dirname "$0")/lib_secrets.sh"
mi_init
mi_require_postfix
mi_require_fake_smtp
mi_require_fake_systemd
mi_require_secretsmanager

SECRET_KEY='wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
INSTANCE=i-0123456789abcdef0

# setup_instance - every peer of a first boot, and mailinit.conf ($MI_DIR/mailinit.conf)
# pointing firstboot at them. $1: extra mailinit.conf lines; $2: systemd job result.
setup_instance() {
	local extra=${1:-} result=${2:-done} password
	password=$(printf '%s\n' "$SECRET_KEY" | "$MAILINIT" smtp-password --region eu-west-1)
	mi_start_fake_smtp "{\"users\": {\"AKIAEXAMPLE\": \"$password\"}}"
	mi_sm_config sm.json "{\"secrets\": {\"mailinit/ses-smtp\": {\"SecretJSON\":
		{\"access_key_id\": \"AKIAEXAMPLE\", \"secret_access_key\": \"$SECRET_KEY\"}}}}"
	mi_start_secretsmanager sm.json --tls
	mi_start_postfix pf
	mi_imds_config imds.json
	mi_start_imds imds.json
	cat >systemd.json <<-EOF
		{"results": {"postfix.service": "$result"},
		 "commands": {"postfix.service": ["postfix", "-c", "$MI_POSTFIX_DIR", "reload"]}}
	EOF
	mi_start_fake_systemd systemd.json
	cat >mailinit.conf <<-EOF
		mode = postfix
		secret_id = mailinit/ses-smtp
		mydomain = example.com
		notify_to = ops@example.com
		relayhost = [127.0.0.1]:$MI_SMTP_PORT
		tls_ca_file = $MI_TEST_CA
		listen = 127.0.0.1:$MI_POSTFIX_PORT
		postfix_dir = $MI_POSTFIX_DIR
		state_dir = $MI_DIR/state
		$extra
	EOF
}

# json_field FILE EXPR - a value from a JSON file (python expression on `d`)
json_field() {
	"$MI_PYTHON" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

t_confirmation_reaches_upstream() {
	setup_instance
	mi_run run "$MAILINIT" firstboot --config mailinit.conf
	mi_assert_rc 0
	mi_smtp_wait_count 1 30
	local meta=$MI_SMTP_MAILDIR/0001.json eml=$MI_SMTP_MAILDIR/0001.eml
	[[ $(json_field "$meta" 'd["tls"]') == True ]] || mi_fail "the upstream got the mail without TLS"
	[[ $(json_field "$meta" 'd["auth_user"]') == AKIAEXAMPLE ]] ||
		mi_fail "the upstream got the mail authenticated as '$(json_field "$meta" 'd["auth_user"]')'"
	mi_assert_grep "$eml" "^Subject: mailinit: $INSTANCE ready"
	mi_assert_grep "$eml" '^From: postmaster@example.com'
	mi_assert_grep "$eml" '^mode: postfix'
	mi_assert_grep "$eml" "^relayhost: \[127.0.0.1\]:$MI_SMTP_PORT"
	# systemd was asked over D-Bus, in "replace" mode
	mi_assert_grep "$MI_SYSTEMD_CALL_LOG" '^[0-9.]+ RestartUnit "postfix.service" "replace"$'
	# status.json: ok, and the confirmation's queue id is Postfix's
	local state=$MI_DIR/state/status.json queue_id
	[[ $(json_field "$state" 'd["result"]') == ok ]] || mi_fail "status.json: $(cat "$state")"
	[[ $(json_field "$state" 'd["instance_id"]') == "$INSTANCE" ]] || mi_fail "status.json: $(cat "$state")"
	[[ $(json_field "$state" 'd["confirmation"]["status"]') == queued ]] || mi_fail "status.json: $(cat "$state")"
	queue_id=$(json_field "$state" 'd["confirmation"]["queue_id"]')
	mi_assert_grep "$MI_POSTFIX_LOG" "$queue_id: to=<ops@example.com>, relay=127.0.0.1\[127.0.0.1\]:$MI_SMTP_PORT.*status=sent \(250 Ok 0100"
	# the files Postfix reads
	mi_assert_grep "$MI_POSTFIX_DIR/main.cf" "^relayhost = \[127.0.0.1\]:$MI_SMTP_PORT$"
	mi_assert_grep "$MI_POSTFIX_DIR/main.cf" "^smtp_sasl_password_maps = hash:$MI_POSTFIX_DIR/sasl_passwd$"
	mi_assert_grep "$MI_POSTFIX_DIR/main.cf" '^smtp_tls_security_level = encrypt$'
	[[ $(stat -c %a "$MI_POSTFIX_DIR/sasl_passwd") == 600 ]] || mi_fail "sasl_passwd is not 0600"
	[[ $(stat -c %a "$MI_POSTFIX_DIR/sasl_passwd.db") == 600 ]] || mi_fail "sasl_passwd.db is not 0600"
	# journal-style progress: started and done
	mi_assert_grep run.err 'First boot configuration started'
	mi_assert_grep run.err "First boot configuration of instance $INSTANCE done"
}

t_once_per_instance() {
	setup_instance
	mi_run run1 "$MAILINIT" firstboot --config mailinit.conf
	mi_assert_rc 0
	mi_smtp_wait_count 1 30
	cp "$MI_POSTFIX_DIR/main.cf" main.cf.first
	local requests
	requests=$(grep -c GetSecretValue "$MI_SM_LOG")
	# the same instance: nothing to do, no Secrets Manager call, nothing rewritten
	mi_run run2 "$MAILINIT" firstboot --config mailinit.conf
	mi_assert_rc 0
	mi_assert_grep run2.err "Instance $INSTANCE was already configured"
	[[ $(grep -c GetSecretValue "$MI_SM_LOG") == "$requests" ]] || mi_fail "the second run called Secrets Manager"
	cmp main.cf.first "$MI_POSTFIX_DIR/main.cf" || mi_fail "main.cf changed on the second run"
	# --force runs again, and main.cf stays byte-identical
	mi_run run3 "$MAILINIT" firstboot --config mailinit.conf --force --no-mail
	mi_assert_rc 0
	[[ $(grep -c GetSecretValue "$MI_SM_LOG") == $((requests + 1)) ]] || mi_fail "--force did not fetch the secret again"
	cmp main.cf.first "$MI_POSTFIX_DIR/main.cf" || mi_fail "main.cf is not byte-identical after --force"
	# a new instance (an image baked from this one) configures itself again
	mi_stop_imds
	mi_imds_config imds2.json '{"instance_id": "i-0fedcba9876543210"}'
	mi_start_imds imds2.json
	mi_run run4 "$MAILINIT" firstboot --config mailinit.conf
	mi_assert_rc 0
	mi_smtp_wait_count 2 30
	[[ $(json_field "$MI_DIR/state/status.json" 'd["instance_id"]') == i-0fedcba9876543210 ]] ||
		mi_fail "status.json does not record the new instance"
	mi_assert_grep "$MI_SMTP_MAILDIR/0002.eml" '^Subject: mailinit: i-0fedcba9876543210 ready'
}

t_restart_job_fails() {
	setup_instance '' failed
	mi_run run "$MAILINIT" firstboot --config mailinit.conf
	mi_assert_rc 69
	mi_assert_grep run.err "^mailinit: error: Restarting postfix.service failed: the job.s result is .failed.$"
	[[ $(grep -c "^mailinit: error" run.err) == 1 ]] || mi_fail "want exactly one error line"
	[[ $(json_field "$MI_DIR/state/status.json" 'd["result"]') == failed ]] || mi_fail "status.json: $(cat "$MI_DIR/state/status.json")"
	mi_assert_grep "$MI_DIR/state/status.json" "Restarting postfix.service failed"
	[[ $(mi_smtp_count) == 0 ]] || mi_fail "a confirmation was sent although the restart failed"
}

t_no_restart_no_mail() {
	setup_instance
	mi_run run "$MAILINIT" firstboot --config mailinit.conf --no-restart --no-mail
	mi_assert_rc 0
	mi_assert_no_grep "$MI_SYSTEMD_CALL_LOG" 'RestartUnit'
	sleep 1
	[[ $(mi_smtp_count) == 0 ]] || mi_fail "--no-mail sent mail"
	[[ $(json_field "$MI_DIR/state/status.json" 'd["confirmation"]["status"]') == skipped ]] ||
		mi_fail "status.json: $(cat "$MI_DIR/state/status.json")"
}

t_dry_run_changes_nothing() {
	setup_instance
	mi_snapshot "$MI_POSTFIX_DIR" >before
	mi_run run "$MAILINIT" firstboot --config mailinit.conf --dry-run
	mi_assert_rc 0
	mi_assert_grep run.out '^# smtp_password: \*\*\*\*\*\*\*\*'
	mi_assert_grep run.out "^\[127.0.0.1\]:$MI_SMTP_PORT AKIAEXAMPLE:\*\*\*\*\*\*\*\*$"
	mi_assert_grep run.out '^# would restart: postfix.service$'
	mi_snapshot "$MI_POSTFIX_DIR" >after
	diff before after || mi_fail "--dry-run changed the Postfix directory"
	[[ ! -e $MI_DIR/state/status.json ]] || mi_fail "--dry-run wrote status.json"
	mi_assert_no_grep "$MI_SYSTEMD_CALL_LOG" 'RestartUnit'
}

t_warm_pool_pending_then_in_service() {
	setup_instance
	mi_stop_imds
	mi_imds_config imds-warm.json '{"lifecycle_state": "Warmed:Running"}'
	mi_start_imds imds-warm.json
	mi_run run1 "$MAILINIT" firstboot --config mailinit.conf
	mi_assert_rc 0
	mi_assert_grep run1.err 'warm pool'
	[[ $(json_field "$MI_DIR/state/status.json" 'd["confirmation"]["status"]') == pending ]] ||
		mi_fail "status.json: $(cat "$MI_DIR/state/status.json")"
	sleep 1
	[[ $(mi_smtp_count) == 0 ]] || mi_fail "a warm-pool instance sent its confirmation"
	# the boot at which the instance goes InService sends it, without configuring again
	mi_stop_imds
	mi_imds_config imds-live.json '{"lifecycle_state": "InService"}'
	mi_start_imds imds-live.json
	local requests
	requests=$(grep -c GetSecretValue "$MI_SM_LOG")
	mi_run run2 "$MAILINIT" firstboot --config mailinit.conf
	mi_assert_rc 0
	mi_smtp_wait_count 1 30
	[[ $(grep -c GetSecretValue "$MI_SM_LOG") == "$requests" ]] || mi_fail "confirming called Secrets Manager"
	[[ $(json_field "$MI_DIR/state/status.json" 'd["confirmation"]["status"]') == queued ]] ||
		mi_fail "status.json: $(cat "$MI_DIR/state/status.json")"
}

mi_scenario confirmation-reaches-upstream t_confirmation_reaches_upstream
mi_scenario once-per-instance t_once_per_instance
mi_scenario restart-job-fails t_restart_job_fails
mi_scenario no-restart-no-mail t_no_restart_no_mail
mi_scenario dry-run-changes-nothing t_dry_run_changes_nothing
mi_scenario warm-pool t_warm_pool_pending_then_in_service
mi_finish
