#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_fake_secretsmanager_awscli - proves that the stand-in Secrets Manager
# (peers/fake_secretsmanager.py) speaks the real protocol, with the reference client: the AWS
# CLI (botocore signs, parses errors and retries) runs `secretsmanager get-secret-value`
# against it over HTTPS (a test CA from peers/make_test_ca.sh) and plain HTTP. Checked: the
# SecretString comes back; the stand-in's log shows a valid signature and a signed session
# token; a wrong secret key gives InvalidSignatureException (exit 254 and the message); an
# unknown secret ResourceNotFoundException; a denied credential AccessDeniedException; an
# expired one ExpiredTokenException; a skewed server clock the real "Signature expired"
# message and a Date header from the shifted clock; two ThrottlingExceptions are retried by
# the CLI and the third request succeeds; a certificate for another host is refused.
# When a second, different `aws` is installed (Debian's aws-cli v2 and a pip aws-cli v1 carry
# different botocore versions) the happy path runs with it too.
# Exit 77 (skip) without the AWS CLI or python3-botocore. AWS_CLI=/path/to/aws picks the CLI.
# This test does not run the mailinit binary.

# The t_* functions run through mi_scenario (in subshells that set MI_DIR).
# shellcheck disable=SC2317,SC2031 source-path=SCRIPTDIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# mi_init wants the binary under test; this test only exercises the stand-in.
[[ -x $MAILINIT ]] || MAILINIT=$(type -P true)
WANTED_CLI=${AWS_CLI:-} # mi_init clears AWS_*
mi_init
mi_require openssl
"$MI_PYTHON" -c 'import botocore.auth' 2>/dev/null || mi_skip "python3-botocore is not installed"

# The CLI: $AWS_CLI, else Debian's /usr/bin/aws, else the first aws on PATH.
AWS=$WANTED_CLI
if [[ -z $AWS ]]; then
	if [[ -x /usr/bin/aws ]]; then
		AWS=/usr/bin/aws
	else
		AWS=$(command -v aws || true)
	fi
fi
[[ -n $AWS && -x $AWS ]] || mi_skip "the AWS CLI (aws) is not installed"
# A second, different CLI (other botocore) for the happy path, when there is one.
OTHER_AWS=$(type -ap aws | while read -r p; do
	[[ $(readlink -f "$p") != "$(readlink -f "$AWS")" ]] && { echo "$p"; break; }
done || true)
[[ -z $OTHER_AWS && $AWS != /usr/bin/aws && -x /usr/bin/aws ]] && OTHER_AWS=/usr/bin/aws
echo "# CLI: $AWS ($("$AWS" --version 2>&1 | head -n 1))"
[[ -n $OTHER_AWS ]] && echo "# second CLI: $OTHER_AWS ($("$OTHER_AWS" --version 2>&1 | head -n 1))"

CA_DIR=$MI_TMP/ca
bash "$MI_PEERS_DIR/make_test_ca.sh" "$CA_DIR" >/dev/null || mi_fail "make_test_ca.sh failed"

SECRET_NAME=mailinit/ses-relay
SECRET_STRING='{"smtp_username":"AKIAEXAMPLESMTPUSER1","smtp_password":"BExamplePassw0rd/+=xyz"}'
ROLE=mailinit-test-role
AKID=ASIAFAKESM0000000001
SECRET_KEY='fakeSecretKeyForTheStandInSecretsManager/+01'
TOKEN='FakeSessionToken//////////ForTheStandIn+0001='

# sm_config FILE [JSON-OBJECT] - the stand-in's configuration: one secret, an instance-role
# credential (with session token), a denied one, an expired one and a long-term key (no
# token); the top-level keys of JSON-OBJECT replace these defaults.
sm_config() {
	local overrides=${2:-'{}'}
	"$MI_PYTHON" - "$1" "$overrides" "$SECRET_NAME" "$SECRET_STRING" "$ROLE" "$AKID" \
		"$SECRET_KEY" "$TOKEN" <<'EOF'
import json, sys
path, overrides, name, string, role, akid, key, token = sys.argv[1:]
config = {
    "region": "eu-west-1",
    "credentials": [
        {"access_key_id": akid, "secret_access_key": key, "session_token": token, "role": role},
        {"access_key_id": "ASIAFAKESMDENIED0001", "secret_access_key": key + "denied",
         "session_token": token + "denied", "role": "mailinit-denied-role", "denied": True},
        {"access_key_id": "ASIAFAKESMEXPIRED001", "secret_access_key": key + "expired",
         "session_token": token + "expired", "role": role, "expired": True},
        {"access_key_id": "AKIAFAKESMLONGTERM01", "secret_access_key": key + "longterm",
         "user": "mailinit-ci"},
    ],
    "secrets": {name: {"SecretString": string}},
    "faults": [],
}
config.update(json.loads(overrides))
with open(path, "w") as f:
    json.dump(config, f, indent=2)
EOF
}

# sm_start CONFIG [http] - start the stand-in (HTTPS with the test CA unless "http").
# Sets SM_URL, SM_LOG, SM_PID.
sm_start() {
	local config=$1 scheme=${2:-https} port_file=$MI_DIR/sm.port i
	local -a tls=()
	SM_LOG=$MI_DIR/sm.log
	: >"$SM_LOG"
	if [[ $scheme == https ]]; then
		tls=(--tls-cert "${SM_CERT:-$CA_DIR/server.pem}" --tls-key "${SM_KEY:-$CA_DIR/server.key}")
	fi
	"$MI_PYTHON" "$MI_PEERS_DIR/fake_secretsmanager.py" --config "$config" \
		--port-file "$port_file" --log "$SM_LOG" "${tls[@]}" \
		>"$MI_DIR/sm.stdout" 2>"$MI_DIR/sm.stderr" &
	SM_PID=$!
	MI_PIDS+=("$SM_PID")
	echo "$SM_PID" >>"$MI_TMP/.pids"
	for ((i = 0; i < 150; i++)); do
		[[ -s $port_file ]] && break
		if ! kill -0 "$SM_PID" 2>/dev/null; then
			cat "$MI_DIR/sm.stderr"
			mi_fail "the stand-in Secrets Manager exited at start"
		fi
		sleep 0.1
	done
	[[ -s $port_file ]] || mi_fail "the stand-in Secrets Manager wrote no port within 15 s"
	SM_URL=$scheme://127.0.0.1:$(<"$port_file")
}

# aws_get PREFIX [KEY-ID SECRET-KEY [TOKEN]] [-- EXTRA-ARG...] - get-secret-value of
# $SECRET_NAME (or SM_SECRET_ID) at $SM_URL with these credentials (default: the role's),
# through ${SM_AWS:-$AWS}; output as text of --query (SM_QUERY, default SecretString);
# SM_MAX_ATTEMPTS sets AWS_MAX_ATTEMPTS (default: the CLI's own retry policy).
aws_get() {
	local prefix=$1 akid=${2:-$AKID} key=${3:-$SECRET_KEY} token=${4-$TOKEN}
	local -a envs=(
		AWS_CA_BUNDLE="$CA_DIR/ca.pem" AWS_ACCESS_KEY_ID="$akid" AWS_SECRET_ACCESS_KEY="$key"
		AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
		AWS_EC2_METADATA_DISABLED=true AWS_PAGER= AWS_DEFAULT_OUTPUT=json
	)
	[[ -n $token ]] && envs+=(AWS_SESSION_TOKEN="$token")
	[[ -n ${SM_MAX_ATTEMPTS:-} ]] && envs+=(AWS_MAX_ATTEMPTS="$SM_MAX_ATTEMPTS")
	mi_run "$prefix" env "${envs[@]}" "${SM_AWS:-$AWS}" secretsmanager get-secret-value \
		--secret-id "${SM_SECRET_ID:-$SECRET_NAME}" --endpoint-url "$SM_URL" \
		--region eu-west-1 --query "${SM_QUERY:-SecretString}" --output text
}

# sm_count REGEX - lines of the stand-in's request log matching REGEX (extended).
sm_count() {
	grep -Ec -- "$1" "$SM_LOG" || true
}

# sm_assert_count REGEX WANT
sm_assert_count() {
	local got
	got=$(sm_count "$1")
	if [[ $got != "$2" ]]; then
		echo "--- stand-in Secrets Manager log ($SM_LOG):"
		cat "$SM_LOG"
		[[ -n $MI_LAST ]] && mi_show_run
		mi_fail "stand-in log: $got line(s) match /$1/, want $2"
	fi
}

# assert_secret - the last run printed exactly the SecretString.
assert_secret() {
	mi_assert_rc 0
	if [[ $(<"$MI_OUT") != "$SECRET_STRING" ]]; then
		mi_show_run
		mi_fail "$MI_LAST: the SecretString did not come back unchanged"
	fi
}

# assert_aws_error CODE MESSAGE-REGEX - the CLI failed with a service error (exit 254).
assert_aws_error() {
	mi_assert_rc 254
	mi_assert_grep "$MI_ERR" "An error occurred \\($1\\) when calling the GetSecretValue operation: $2"
}

t_https_ok() {
	sm_config sm.json
	sm_start sm.json
	# ARN, Name and VersionStages parse in the CLI's output model too (tab-separated text)
	SM_QUERY='[SecretString,ARN,Name,VersionStages[0]]' aws_get run
	mi_assert_rc 0
	if [[ $(cut -f 1 run.out) != "$SECRET_STRING" ]]; then
		mi_show_run
		mi_fail "the SecretString did not come back unchanged"
	fi
	mi_assert_grep run.out $'\tarn:aws:secretsmanager:eu-west-1:123456789012:secret:mailinit/ses-relay-[A-Za-z]{6}\tmailinit/ses-relay\tAWSCURRENT$'
	sm_assert_count '"status":200' 1
	sm_assert_count '"target":"secretsmanager.GetSecretValue","secret_id":"mailinit/ses-relay"' 1
	sm_assert_count '"signature_valid":true' 1
	sm_assert_count '"session_token_present":true,"session_token_signed":true' 1
	sm_assert_count "\"access_key_id\":\"$AKID\"" 1
	sm_assert_count '"region":"eu-west-1"' 1
	sm_assert_count '"tls":true' 1
	sm_assert_count '"signed_headers":"[^"]*host;[^"]*x-amz-date;x-amz-security-token;x-amz-target"' 1
}

t_https_ok_second_cli() {
	[[ -n $OTHER_AWS ]] || mi_skip "no second AWS CLI"
	sm_config sm.json
	sm_start sm.json
	SM_AWS=$OTHER_AWS aws_get run
	assert_secret
	sm_assert_count '"signature_valid":true,"region":"eu-west-1","status":200' 1
	sm_assert_count '"session_token_signed":true' 1
}

t_wrong_secret_key() {
	sm_config sm.json
	sm_start sm.json
	aws_get run "$AKID" "${SECRET_KEY}x"
	assert_aws_error InvalidSignatureException 'The request signature we calculated does not match the signature you provided\. Check your AWS Secret Access Key and signing method\. Consult the service documentation for details\.$'
	sm_assert_count '"signature_valid":false' 1
	sm_assert_count '"status":400,"error_type":"InvalidSignatureException"' 1
	sm_assert_count '"target"' 1 # not retried
}

t_unknown_secret() {
	sm_config sm.json
	sm_start sm.json
	SM_SECRET_ID=no/such/secret aws_get run
	assert_aws_error ResourceNotFoundException "Secrets Manager can't find the specified secret\\.$"
	sm_assert_count '"signature_valid":true' 1
	sm_assert_count '"error_type":"ResourceNotFoundException"' 1
}

t_by_arn() {
	local arn=arn:aws:secretsmanager:eu-west-1:123456789012:secret:$SECRET_NAME-AbCdEf
	sm_config sm.json "{\"secrets\": {\"$arn\": {\"SecretString\": $("$MI_PYTHON" -c \
		'import json, sys; print(json.dumps(sys.argv[1]))' "$SECRET_STRING")}}}"
	sm_start sm.json
	SM_SECRET_ID=$arn aws_get run
	assert_secret
	sm_assert_count "\"secret_id\":\"$arn\".*\"status\":200" 1
}

t_denied() {
	sm_config sm.json
	sm_start sm.json
	aws_get run ASIAFAKESMDENIED0001 "${SECRET_KEY}denied" "${TOKEN}denied"
	assert_aws_error AccessDeniedException "User: arn:aws:sts::123456789012:assumed-role/mailinit-denied-role/i-0123456789abcdef0 is not authorized to perform: secretsmanager:GetSecretValue on resource: $SECRET_NAME because no identity-based policy allows the secretsmanager:GetSecretValue action$"
	sm_assert_count '"signature_valid":true' 1
	sm_assert_count '"target"' 1
}

t_expired_token() {
	sm_config sm.json
	sm_start sm.json
	aws_get run ASIAFAKESMEXPIRED001 "${SECRET_KEY}expired" "${TOKEN}expired"
	assert_aws_error ExpiredTokenException 'The security token included in the request is expired$'
}

t_wrong_session_token() {
	sm_config sm.json
	sm_start sm.json
	aws_get run "$AKID" "$SECRET_KEY" "${TOKEN}x"
	assert_aws_error UnrecognizedClientException 'The security token included in the request is invalid\.$'
}

t_throttled_twice() {
	sm_config sm.json '{"faults": [{"action": "error", "type": "ThrottlingException", "times": 2}]}'
	sm_start sm.json
	aws_get run
	assert_secret
	sm_assert_count '"target":"secretsmanager.GetSecretValue"' 3
	sm_assert_count '"signature_valid":true' 3
	sm_assert_count '"status":400,"error_type":"ThrottlingException","action":"error"' 2
	sm_assert_count '"status":200' 1
	# the CLI kept the connection open across the retries (HTTP/1.1 keep-alive)
	sm_assert_count '"connection":1,"connection_request":3' 1
}

t_clock_skew() {
	sm_config sm.json '{"clock_offset_seconds": 1800}'
	sm_start sm.json
	aws_get run
	assert_aws_error InvalidSignatureException 'Signature expired: [0-9]{8}T[0-9]{6}Z is now earlier than [0-9]{8}T[0-9]{6}Z \([0-9]{8}T[0-9]{6}Z - 5 min\.\)$'
	sm_assert_count '"error_type":"InvalidSignatureException"' 1
	# the Date header reflects the shifted clock (and the real clock is 30 min behind it)
	"$MI_PYTHON" - "$SM_URL" "$CA_DIR/ca.pem" <<'EOF' || mi_fail "the Date header does not show the shifted clock"
import email.utils, ssl, sys, time, urllib.error, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
try:
    urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/", data=b"{}"), context=ctx)
    sys.exit("no error for an unsigned request")
except urllib.error.HTTPError as e:
    date = email.utils.parsedate_to_datetime(e.headers["Date"]).timestamp()
    print(f"# Date: {e.headers['Date']} ({e.code} {e.headers['x-amzn-ErrorType']})")
    sys.exit(0 if abs(date - (time.time() + 1800)) < 10 else f"Date {e.headers['Date']}")
EOF
}

t_http_plain() {
	sm_config sm.json
	sm_start sm.json http
	aws_get run
	assert_secret
	sm_assert_count '"signature_valid":true,"region":"eu-west-1","status":200' 1
	sm_assert_count '"tls":false' 1
	# a long-term key: no session token at all
	aws_get longterm AKIAFAKESMLONGTERM01 "${SECRET_KEY}longterm" ''
	assert_secret
	sm_assert_count '"access_key_id":"AKIAFAKESMLONGTERM01","session_token_present":false,"session_token_signed":false,"signature_valid":true' 1
}

t_wrong_host_certificate() {
	sm_config sm.json
	SM_CERT=$CA_DIR/wrong-host.pem SM_KEY=$CA_DIR/wrong-host.key sm_start sm.json
	SM_MAX_ATTEMPTS=1 aws_get run
	mi_assert_rc 255
	mi_assert_grep "$MI_ERR" 'SSL|certificate'
	# the client hung up in the handshake, or right after it (urllib3 checks the name itself)
	(($(sm_count '"action":"(tls_handshake_failed|no_request)"') >= 1)) ||
		mi_fail "the stand-in's log shows no refused connection"
	sm_assert_count '"target":"secretsmanager' 0
}

mi_scenario https_ok t_https_ok
mi_scenario https_ok_second_cli t_https_ok_second_cli
mi_scenario wrong_secret_key t_wrong_secret_key
mi_scenario unknown_secret t_unknown_secret
mi_scenario by_arn t_by_arn
mi_scenario denied t_denied
mi_scenario expired_token t_expired_token
mi_scenario wrong_session_token t_wrong_session_token
mi_scenario throttled_twice t_throttled_twice
mi_scenario clock_skew t_clock_skew
mi_scenario http_plain t_http_plain
mi_scenario wrong_host_certificate t_wrong_host_certificate
mi_finish
