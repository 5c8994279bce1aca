#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The built-in relay with relay_transport = ses-api: every queued message is delivered with the
# SES API v2 (SendEmail, raw content) to the stand-in peers/fake_sesv2.py, which checks every
# signature with botocore and keeps what it accepted. Checked: the message arrives byte for
# byte (after the relay's Received header) with the envelope as Destination (Bcc included)
# and the sender as FromEmailAddress, signed with the instance role's credentials from the
# stand-in IMDS over HTTPS (AWS_CA_BUNDLE); SES's MessageId is logged Postfix-style and kept
# in the delivery record; throttling, a 503 and a dropped connection defer, then the message
# goes; MessageRejected bounces with a DSN naming the error; ExpiredToken refreshes the role
# credentials and the message goes in the same attempt; credentials that expire are replaced
# before they are used again; a server clock an hour ahead is handled by signing again; a
# paused account defers with a warning; 60 recipients go in two calls (50 + 10); SIGHUP
# renews the transport (clean exit under ASan); a kill -9
# loses no acknowledged message.
# shellcheck disable=SC2317,SC2031,SC2119 # scenario functions run through mi_scenario, in subshells
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_secrets.sh"
. "$(dirname "$0")/lib_relay.sh"
. "$(dirname "$0")/lib_sesv2.sh"
mi_init
mi_require_sesv2
mi_require openssl

ROLE_AKID=ASIAFAKEIMDS00000001
AKID_A=ASIAFAKEROTATEDAAAA1
AKID_B=ASIAFAKEROTATEDBBBB2

# submit FROM TO[,TO...] FILE - one SMTP transaction to the relay (smtplib: the bytes of FILE
# are sent as they are, line endings made CRLF by smtplib)
submit() {
	"$MI_PYTHON" - "$MI_RELAY_PORT" "$1" "$2" "$3" <<'EOF' || mi_fail "submission to the relay failed"
import smtplib, sys
port, sender, rcpts, path = sys.argv[1:]
with open(path, "rb") as f:
    data = f.read()
with smtplib.SMTP("127.0.0.1", int(port), timeout=30) as s:
    s.sendmail(sender, rcpts.split(","), data)
EOF
}

# message FILE SUBJECT - a message with Message-ID and Date (the relay adds neither)
message() {
	printf 'From: Sender <sender@example.com>\r\nTo: rcpt@example.net, other@example.org\r\nSubject: %s\r\nMessage-ID: <%s@example.com>\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello through the SES API.\r\n..a line starting with a dot\r\n\r\n-- \r\nmailinit\r\n' \
		"$2" "$RANDOM$RANDOM" >"$1"
}

# creds_json AKID - a credential entry for the stand-in SES (the stand-in IMDS's secret/token)
json_field() {
	"$MI_PYTHON" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

# start IMDS-OVERRIDES SES-OVERRIDES [--tls] - the stand-ins and the relay
start() {
	local imds=${1:-} ses=${2:-}
	mi_imds_config imds.json "${imds:-"{}"}"
	mi_start_imds imds.json
	mi_sesv2_config ses.json "${ses:-"{}"}"
	mi_start_sesv2 ses.json "${3:-}"
	mi_sesv2_relay_setup
	mi_start_relay
}

rotated_credentials() {
	local first_expiration=$1
	cat <<-EOF
		{"credentials": [
		  {"access_key_id": "$AKID_A", "secret_access_key": "secretA/$MI_IMDS_DEFAULT_SECRET_KEY",
		   "token": "tokenA/$MI_IMDS_DEFAULT_TOKEN", "expiration": $first_expiration},
		  {"access_key_id": "$AKID_B", "secret_access_key": "secretB/$MI_IMDS_DEFAULT_SECRET_KEY",
		   "token": "tokenB/$MI_IMDS_DEFAULT_TOKEN", "expiration": 21600}]}
	EOF
}

# ses_rotated_credentials [A-LIFETIME] - the stand-in SES knows A and B; A expires A-LIFETIME
# seconds after its first request, when given
ses_rotated_credentials() {
	local lifetime_a=""
	[[ -n ${1:-} ]] && lifetime_a=", \"expires_after_first_use\": $1"
	cat <<-EOF
		{"credentials": [
		  {"access_key_id": "$AKID_A", "secret_access_key": "secretA/$MI_IMDS_DEFAULT_SECRET_KEY",
		   "session_token": "tokenA/$MI_IMDS_DEFAULT_TOKEN", "role": "mailinit-test-role"$lifetime_a},
		  {"access_key_id": "$AKID_B", "secret_access_key": "secretB/$MI_IMDS_DEFAULT_SECRET_KEY",
		   "session_token": "tokenB/$MI_IMDS_DEFAULT_TOKEN", "role": "mailinit-test-role"}]
	EOF
}

t_delivers_with_role_credentials_over_https() {
	start '{}' '{}' --tls
	mi_assert_grep "$MI_RELAY_LOG" "Relaying with the SES API at $MI_SES_URL"
	message m1.eml "first through the SES API"
	submit sender@example.com rcpt@example.net,other@example.org,hidden@example.com m1.eml
	mi_sesv2_wait_count '"status":200' 1
	mi_relay_wait_log 'status=sent' 3
	local meta eml mid
	meta=$(ls "$MI_SES_MSGS"/*.json)
	eml=${meta%.json}.eml
	mid=$(basename "${meta%.json}")
	# the envelope: sender as FromEmailAddress, every recipient (the Bcc too) as Destination
	[[ $(json_field "$meta" 'd["from"]') == sender@example.com ]] || mi_fail "FromEmailAddress: $(cat "$meta")"
	[[ $(json_field "$meta" '",".join(d["to"])') == rcpt@example.net,other@example.org,hidden@example.com ]] ||
		mi_fail "Destination: $(cat "$meta")"
	# the bytes: the relay's Received header, then the message exactly as submitted
	head -c 10 "$eml" | grep -q '^Received: ' || mi_fail "no Received header first: $(head -n 3 "$eml")"
	"$MI_PYTHON" - "$eml" m1.eml <<-'EOF' || mi_fail "the message bytes differ from what was submitted"
		import sys
		got, sent = (open(p, "rb").read() for p in sys.argv[1:])
		sys.exit(0 if got.endswith(sent) and got.count(b"Received: ") == 1 else 1)
	EOF
	# signed with the role's credentials from IMDS (token signed), over HTTPS, valid for botocore
	[[ $(mi_sesv2_count "\"access_key_id\":\"$ROLE_AKID\".*\"signature_valid\":true,\"session_token_signed\":true") == 1 ]] ||
		mi_fail "request not signed as expected: $(cat "$MI_SES_LOG")"
	mi_assert_grep "$MI_SES_LOG" '"tls":true'
	mi_assert_grep "$MI_SES_LOG" '"user_agent":"mailinit/'
	[[ $(grep -c 'security-credentials/mailinit-test-role' "$MI_IMDS_LOG") -ge 1 ]] || mi_fail "no credentials from IMDS"
	# Postfix-style lines with SES's MessageId, and the delivery record
	mi_assert_grep "$MI_RELAY_LOG" "to=<hidden@example.com>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:[0-9]+, delay=[0-9]+, dsn=2\\.0\\.0, status=sent \\(250 Ok $mid\\)"
	mi_assert_grep "$MI_RELAY_LOG" 'SES API: signing with role mailinit-test-role'
	mi_assert_no_grep "$MI_RELAY_LOG" 'credentials does not exist|SMTP authentication'
	local done_file
	done_file=$(ls "$MI_RELAY_SPOOL"/done/*)
	mi_assert_grep "$done_file" "^to rcpt@example.net sent 250 Ok $mid\$"
	mi_assert_grep "$done_file" '^result sent'
	[[ ! -e $MI_RELAY_ROOT/etc/mailinit/credentials ]] || mi_fail "a credentials file appeared"
	mi_stop_relay
}

t_throttling_and_5xx_defer_then_deliver() {
	start '{}' '{"faults": [{"action": "error", "type": "TooManyRequestsException", "times": 1},
		{"action": "status_raw", "status": 503, "times": 1},
		{"action": "drop", "times": 2}]}'
	message m1.eml "throttled first"
	submit sender@example.com rcpt@example.net m1.eml
	mi_sesv2_wait_count '"status":200' 1 30
	mi_relay_wait_log 'status=sent \(250 Ok 0102' 1
	mi_assert_grep "$MI_RELAY_LOG" 'to=<rcpt@example.net>, .*status=deferred \(454 4\.7\.0 SES API TooManyRequestsException: Too many requests'
	mi_assert_grep "$MI_RELAY_LOG" 'status=deferred \(451 4\.3\.0 SES API error: HTTP 503 with a body that is not JSON \(HTTP 503\)\)'
	mi_assert_grep "$MI_RELAY_LOG" 'status=deferred \(SES API: cannot reach SES at 127\.0\.0\.1:[0-9]+: '
	# (libcurl sends again once on a fresh connection when a kept one closes unanswered)
	[[ $(mi_sesv2_count '"status":429') == 1 && $(mi_sesv2_count '"action":"drop"') -ge 1 ]] ||
		mi_fail "stand-in log: $(cat "$MI_SES_LOG")"
	[[ $(ls "$MI_SES_MSGS"/*.eml | wc -l) == 1 ]] || mi_fail "delivered more than once"
	mi_stop_relay
}

t_message_rejected_bounces_with_a_dsn() {
	start '{}' '{"faults": [{"action": "error", "type": "MessageRejected", "recipient": "bad@example.net",
		"message": "Email address is not verified. The following identities failed the check in region EU-WEST-1: bad@example.net"}]}'
	message m1.eml "to be refused"
	submit sender@example.com bad@example.net m1.eml
	mi_relay_wait_log 'status=bounced' 1
	mi_assert_grep "$MI_RELAY_LOG" 'to=<bad@example.net>, .*dsn=5\.6\.0, status=bounced \(554 5\.6\.0 SES API MessageRejected: Email address is not verified\.'
	# the DSN goes to the sender, through SES too (null sender: no FromEmailAddress)
	mi_sesv2_wait_count '"status":200' 1
	local meta
	meta=$(ls "$MI_SES_MSGS"/*.json)
	[[ $(json_field "$meta" 'd["to"]') == "['sender@example.com']" && $(json_field "$meta" 'd["from"]') == None ]] ||
		mi_fail "the DSN's envelope: $(cat "$meta")"
	mi_assert_grep "${meta%.json}.eml" '^Status: 5\.6\.0'
	mi_assert_grep "${meta%.json}.eml" '^Diagnostic-Code: smtp; 554 5\.6\.0 SES API MessageRejected: Email address is not'
	cat "$MI_RELAY_SPOOL"/done/* >done.txt
	mi_assert_grep done.txt '^to bad@example.net bounced 554 5\.6\.0 SES API MessageRejected'
	mi_assert_grep done.txt '^to sender@example.com sent 250 Ok 0102'
	mi_stop_relay
}

t_expired_token_refreshes_and_sends_at_once() {
	start "$(rotated_credentials 21600)" "$(ses_rotated_credentials)
		, \"faults\": [{\"action\": \"expired_token\", \"access_key_id\": \"$AKID_A\", \"times\": 1}]}"
	message m1.eml "after a refresh"
	submit sender@example.com rcpt@example.net m1.eml
	mi_sesv2_wait_count '"status":200' 1
	mi_relay_wait_log 'status=sent' 1
	[[ $(mi_sesv2_count "\"status\":403,\"error_type\":\"ExpiredTokenException\".*\"access_key_id\":\"$AKID_A\"") == 1 ]] ||
		mi_fail "no ExpiredToken for the first key: $(cat "$MI_SES_LOG")"
	[[ $(mi_sesv2_count "\"status\":200.*\"access_key_id\":\"$AKID_B\"") == 1 ]] ||
		mi_fail "not sent with the new key: $(cat "$MI_SES_LOG")"
	[[ $(grep -c '"path":"/latest/meta-data/iam/security-credentials/mailinit-test-role"' "$MI_IMDS_LOG") == 2 ]] ||
		mi_fail "IMDS was not asked again: $(cat "$MI_IMDS_LOG")"
	mi_assert_no_grep "$MI_RELAY_LOG" 'status=deferred'
	mi_stop_relay
}

t_expiring_credentials_are_replaced_before_use() {
	local first
	# IMDS hands out A valid for 3 s from the fetch, then B; SES refuses A 3 s after its first
	# use (which comes after the fetch): A used again after it expired would be refused
	start "$(rotated_credentials 3)" "$(ses_rotated_credentials 3)}"
	message m1.eml "with the first key"
	submit sender@example.com rcpt@example.net m1.eml
	mi_sesv2_wait_count '"status":200' 1
	first=$("$MI_PYTHON" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["time"])' "$MI_SES_LOG")
	# until A has expired for both: IMDS said so at fetch + 3 s <= first use + 3 s
	"$MI_PYTHON" -c 'import sys,time; time.sleep(max(0, float(sys.argv[1]) + 3.5 - time.time()))' "$first"
	message m2.eml "with the second key"
	submit sender@example.com rcpt@example.net m2.eml
	mi_sesv2_wait_count '"status":200' 2
	[[ $(mi_sesv2_count "\"status\":200.*\"access_key_id\":\"$AKID_A\"") == 1 &&
		$(mi_sesv2_count "\"status\":200.*\"access_key_id\":\"$AKID_B\"") == 1 ]] ||
		mi_fail "keys used: $(cat "$MI_SES_LOG")"
	# replaced before use: SES never had to say the key had expired
	[[ $(mi_sesv2_count 'ExpiredToken') == 0 ]] || mi_fail "signed with expired credentials: $(cat "$MI_SES_LOG")"
	mi_assert_grep "$MI_RELAY_LOG" "SES API: signing with role mailinit-test-role \\(access key ${AKID_B:0:8}"
	mi_stop_relay
}

t_clock_skew_is_signed_again() {
	start '{}' '{"clock_offset_seconds": 3600}'
	message m1.eml "from a machine with a late clock"
	submit sender@example.com rcpt@example.net m1.eml
	mi_sesv2_wait_count '"status":200' 1
	mi_relay_wait_log 'status=sent' 1
	[[ $(mi_sesv2_count '"status":403,"error_type":"InvalidSignatureException"') == 1 ]] ||
		mi_fail "stand-in log: $(cat "$MI_SES_LOG")"
	mi_assert_no_grep "$MI_RELAY_LOG" 'status=deferred'
	mi_stop_relay
}

t_paused_account_defers_with_a_warning() {
	start '{}' '{"faults": [{"action": "error", "type": "SendingPausedException", "times": 1}]}'
	message m1.eml "while paused"
	submit sender@example.com rcpt@example.net m1.eml
	mi_relay_wait_log 'status=sent' 1 30
	mi_assert_grep "$MI_RELAY_LOG" 'status=deferred \(451 4\.7\.0 SES API SendingPausedException: '
	mi_assert_grep "$MI_RELAY_LOG" 'warning: SES API refuses to send \(SendingPausedException: .*mail stays queued'
	mi_stop_relay
}

t_recipients_in_batches_of_50() {
	local rcpts
	rcpts=$(for i in $(seq 1 60); do printf 'r%02d@example.net,' "$i"; done)
	start
	message m1.eml "to sixty"
	submit sender@example.com "${rcpts%,}" m1.eml
	mi_sesv2_wait_count '"status":200' 2
	mi_relay_wait_log 'status=sent' 60
	"$MI_PYTHON" - "$MI_SES_MSGS" <<-'EOF' || mi_fail "recipients: $(cat "$MI_SES_MSGS"/*.json)"
		import glob, json, sys
		batches = sorted(len(json.load(open(p))["to"]) for p in glob.glob(sys.argv[1] + "/*.json"))
		got = sorted(r for p in glob.glob(sys.argv[1] + "/*.json") for r in json.load(open(p))["to"])
		sys.exit(0 if batches == [10, 50] and got == [f"r{i:02d}@example.net" for i in range(1, 61)] else 1)
	EOF
	mi_stop_relay
}

t_sighup_renews_the_transport() {
	start
	message m1.eml "before SIGHUP"
	submit sender@example.com rcpt@example.net m1.eml
	mi_sesv2_wait_count '"status":200' 1
	kill -HUP "$MI_RELAY_PID"
	mi_relay_wait_log 'Configuration and credentials read again' 1
	[[ $(grep -c 'Relaying with the SES API at' "$MI_RELAY_LOG") == 2 ]] || mi_fail "$(cat "$MI_RELAY_LOG")"
	message m2.eml "after SIGHUP"
	submit sender@example.com rcpt@example.net m2.eml
	mi_sesv2_wait_count '"status":200' 2
	mi_stop_relay
	[[ $MI_RELAY_RC == 0 ]] || mi_fail "the relay exited $MI_RELAY_RC: $(tail -n 20 "$MI_RELAY_LOG")"
}

t_kill_9_loses_nothing() {
	local i
	start '{}' '{"faults": [{"action": "drop"}]}'
	for i in $(seq 1 15); do
		message "m$i.eml" "durable $i"
		submit sender@example.com rcpt@example.net "m$i.eml"
	done
	mi_relay_wait_log 'status=deferred' 1
	kill -9 "$MI_RELAY_PID"
	wait "$MI_RELAY_PID" 2>/dev/null || true
	MI_RELAY_PID=
	mi_sesv2_config "$MI_SES_CONFIG" '{}'
	mi_start_relay
	mi_sesv2_wait_count '"status":200' 15 60
	"$MI_PYTHON" - "$MI_SES_MSGS" <<-'EOF' || mi_fail "a message was lost"
		import glob, re, sys
		subjects = set()
		for path in glob.glob(sys.argv[1] + "/*.eml"):
		    m = re.search(rb"^Subject: durable (\d+)\r$", open(path, "rb").read(), re.M)
		    if m:
		        subjects.add(int(m.group(1)))
		missing = sorted(set(range(1, 16)) - subjects)
		print("missing:", missing) if missing else None
		sys.exit(1 if missing else 0)
	EOF
	mi_stop_relay
}

mi_scenario delivers-with-role-credentials-over-https t_delivers_with_role_credentials_over_https
mi_scenario throttling-and-5xx-defer-then-deliver t_throttling_and_5xx_defer_then_deliver
mi_scenario message-rejected-bounces-with-a-dsn t_message_rejected_bounces_with_a_dsn
mi_scenario expired-token-refreshes-and-sends-at-once t_expired_token_refreshes_and_sends_at_once
mi_scenario expiring-credentials-are-replaced-before-use t_expiring_credentials_are_replaced_before_use
mi_scenario clock-skew-is-signed-again t_clock_skew_is_signed_again
mi_scenario paused-account-defers-with-a-warning t_paused_account_defers_with_a_warning
mi_scenario recipients-in-batches-of-50 t_recipients_in_batches_of_50
mi_scenario sighup-renews-the-transport t_sighup_renews_the_transport
mi_scenario kill-9-loses-nothing t_kill_9_loses_nothing
mi_finish
