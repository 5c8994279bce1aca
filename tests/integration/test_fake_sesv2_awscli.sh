#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_fake_sesv2_awscli - proves that the stand-in SES API v2 (peers/fake_sesv2.py) speaks the
# real protocol, with the reference client: the AWS CLI (botocore builds, signs, parses errors
# and retries) runs `aws sesv2 send-email` with raw content against it, over HTTPS (the test
# CA) and plain HTTP. Checked: the MessageId comes back and the stand-in kept the message
# byte for byte with the envelope given; its log shows a valid signature with the session
# token signed; a wrong secret key gives InvalidSignatureException; an unknown key
# UnrecognizedClientException; an expired one ExpiredTokenException; MessageRejected and
# SendingPausedException come back by name with their message; two TooManyRequestsException
# (429) are retried by the CLI and the third request succeeds.
# Exit 77 (skip) without the AWS CLI or python3-botocore. AWS_CLI=/path/to/aws picks the CLI.
# This test does not run the mailinit binary.
# shellcheck disable=SC2317,SC2031 source-path=SCRIPTDIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_secrets.sh"
. "$(dirname "$0")/lib_sesv2.sh"

[[ -x $MAILINIT ]] || MAILINIT=$(type -P true)
WANTED_CLI=${AWS_CLI:-} # mi_init clears AWS_*
mi_init
mi_require openssl
mi_require_sesv2
AWS=$WANTED_CLI
if [[ -z $AWS ]]; then
	if [[ -x /usr/bin/aws ]]; then
		AWS=/usr/bin/aws
	else
		AWS=$(command -v aws || true)
	fi
fi
[[ -n $AWS && -x $AWS ]] || mi_skip "the AWS CLI (aws) is not installed"
"$AWS" sesv2 send-email help >/dev/null 2>&1 || mi_skip "$AWS has no sesv2 commands"
echo "# CLI: $AWS ($("$AWS" --version 2>&1 | head -n 1))"

export AWS_ACCESS_KEY_ID=$MI_IMDS_DEFAULT_AKID
export AWS_SECRET_ACCESS_KEY=$MI_IMDS_DEFAULT_SECRET_KEY
export AWS_SESSION_TOKEN=$MI_IMDS_DEFAULT_TOKEN
export AWS_DEFAULT_REGION=eu-west-1 AWS_PAGER="" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

# send NAME [MESSAGE-FILE] - aws sesv2 send-email with raw content; output in NAME.out/.err/.rc
send() {
	local name=$1 file=${2:-m.eml} content
	content=$("$MI_PYTHON" -c 'import json,sys; print(json.dumps({"Raw": {"Data": open(sys.argv[1], "rb").read().decode()}}))' "$file")
	set +e
	"$AWS" sesv2 send-email --endpoint-url "$MI_SES_URL" --cli-binary-format raw-in-base64-out \
		--from-email-address sender@example.com \
		--destination ToAddresses=rcpt@example.net,other@example.org --content "$content" \
		>"$name.out" 2>"$name.err"
	echo $? >"$name.rc"
	set -e
}

message() {
	printf 'From: sender@example.com\r\nTo: rcpt@example.net\r\nSubject: through the CLI\r\nMessage-ID: <cli.1@example.com>\r\n\r\nHello\r\n' >m.eml
}

t_happy_path_over_https() {
	mi_sesv2_config ses.json
	mi_start_sesv2 ses.json --tls
	message
	send ok
	[[ $(<ok.rc) == 0 ]] || mi_fail "aws failed: $(cat ok.err)"
	local mid
	mid=$("$MI_PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["MessageId"])' ok.out)
	cmp "$MI_SES_MSGS/$mid.eml" m.eml || mi_fail "the stand-in kept other bytes"
	mi_assert_grep "$MI_SES_MSGS/$mid.json" '"to": \["rcpt@example.net", "other@example.org"\]'
	mi_assert_grep "$MI_SES_LOG" '"status":200,.*"service":"ses","signature_valid":true,"session_token_signed":true'
	mi_assert_grep "$MI_SES_LOG" '"tls":true'
}

t_errors_by_name() {
	mi_sesv2_config ses.json '{"faults": [{"action": "error", "type": "MessageRejected", "times": 1,
		"message": "Email address is not verified."},
		{"action": "error", "type": "SendingPausedException", "times": 1}]}'
	mi_start_sesv2 ses.json
	message
	send rejected
	[[ $(<rejected.rc) == 254 ]] || mi_fail "exit $(<rejected.rc): $(cat rejected.err)"
	mi_assert_grep rejected.err 'An error occurred \(MessageRejected\) when calling the SendEmail operation: Email address is not verified\.'
	send paused
	mi_assert_grep paused.err '\(SendingPausedException\) when calling the SendEmail operation'
	# credentials: a wrong secret key, an unknown key, an expired one
	AWS_SECRET_ACCESS_KEY=wrong$MI_IMDS_DEFAULT_SECRET_KEY send badsig
	mi_assert_grep badsig.err '\(InvalidSignatureException\) when calling the SendEmail operation: The request signature we calculated does not match'
	AWS_ACCESS_KEY_ID=ASIAUNKNOWN000000001 send unknown
	mi_assert_grep unknown.err '\(UnrecognizedClientException\)'
	mi_sesv2_config "$MI_SES_CONFIG" "{\"credentials\": [{\"access_key_id\": \"$MI_IMDS_DEFAULT_AKID\",
		\"secret_access_key\": \"$MI_IMDS_DEFAULT_SECRET_KEY\", \"session_token\": \"$MI_IMDS_DEFAULT_TOKEN\",
		\"not_after\": 1}]}"
	send expired
	mi_assert_grep expired.err '\(ExpiredTokenException\) when calling the SendEmail operation: The security token included in the request is expired'
}

t_throttling_is_retried_by_the_cli() {
	mi_sesv2_config ses.json '{"faults": [{"action": "error", "type": "TooManyRequestsException", "times": 2}]}'
	mi_start_sesv2 ses.json
	message
	AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=3 send retried
	[[ $(<retried.rc) == 0 ]] || mi_fail "aws failed: $(cat retried.err)"
	[[ $(mi_sesv2_count '"status":429,"error_type":"TooManyRequestsException"') == 2 &&
		$(mi_sesv2_count '"status":200') == 1 ]] || mi_fail "stand-in log: $(cat "$MI_SES_LOG")"
}

mi_scenario happy-path-over-https t_happy_path_over_https
mi_scenario errors-by-name t_errors_by_name
mi_scenario throttling-is-retried-by-the-cli t_throttling_is_retried_by_the_cli
mi_finish
