#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_secrets_fetch - `mailinit firstboot --dry-run` with secret_id set reads the secret from
# the stand-in Secrets Manager (peers/fake_secretsmanager.py, which checks every signature
# with botocore) and prints "# secret: ID, version V", "# smtp_username: USER",
# "# smtp_password: ********" and what it would write (the sasl_passwd line with the
# password masked, the main.cf keys), writing nothing. Success paths:
#   - a secret with an IAM user's key: the SES SMTP password is derived, and stays masked;
#   - smtp_username/smtp_password and username/password secrets, over HTTP and HTTPS
#     (AWS_CA_BUNDLE = the test CA);
#   - secret_id from the instance tag mailinit:secret_id and from user-data;
#   - an instance in another region (ap-southeast-2): signed for that region;
#   - the instance role's credentials (the stand-in sees the role's key id and a signed
#     session token), environment credentials winning over the role, environment
#     long-term credentials without a role;
#   - AWS_ENDPOINT_URL_SECRETS_MANAGER winning over AWS_ENDPOINT_URL, AWS_ENDPOINT_URL alone
#     (with a trailing slash), AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true (then the real AWS
#     host: only checked to fail with 69 without touching the stand-ins, and only when
#     that name does not resolve: the test never talks to the internet);
#   - retries: ThrottlingException twice, 5xx twice, ExpiredTokenException once (fresh
#     credentials from IMDS), a server clock an hour ahead and an hour behind (signed again
#     with the offset from the Date header).
# Exit 77 (skip) without python3-botocore or openssl.

# The t_* functions run through mi_scenario (in subshells that set MI_DIR).
# shellcheck disable=SC2317,SC2031,SC2119 source-path=SCRIPTDIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_secrets.sh"
mi_init
mi_require_secretsmanager
mi_test_ca

REGION=eu-west-1
SMTP_USER=AKIAFETCHSMTPUSER001
SMTP_PASSWORD='BFetchSmtpPassw0rd/+=Example0123456789abcd'
IAM_KEY_ID=AKIAFETCHIAMUSER0001
IAM_SECRET_KEY='fetchIamSecretAccessKey/+EXAMPLE0123456789'
VERSION=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0

# the SES SMTP password of the IAM secret key (an oracle independent of mailinit)
DERIVED_PASSWORD=$(mi_ses_smtp_password "$IAM_SECRET_KEY" "$REGION")

# Shared stand-ins (each takes seconds to start: botocore): plain HTTP, a second plain one
# (endpoint precedence), HTTPS with the test CA's server certificate. Scenarios rewrite
# their configurations and use a secret id of their own.
mi_sm_config sm-plain.json
mi_sm_config sm-other.json
mi_sm_config sm-tls.json
mi_spawn_secretsmanager plain sm-plain.json
mi_spawn_secretsmanager other sm-other.json
mi_spawn_secretsmanager tls sm-tls.json --tls
# the default stand-in IMDS (role mailinit-test-role) for the scenarios that do not count
# its requests or need another instance
mi_imds_config imds.json
mi_start_imds imds.json
mi_wait_secretsmanager other
mi_wait_secretsmanager tls
mi_wait_secretsmanager plain
unset AWS_CA_BUNDLE # set by scenarios that use HTTPS

# secret_json USER-KEY USER PASSWORD-KEY PASSWORD - a SecretJSON value for mi_sm_config.
secret_json() {
	"$MI_PYTHON" -c 'import json, sys; print(json.dumps({sys.argv[1]: sys.argv[2], sys.argv[3]: sys.argv[4]}))' "$@"
}

# sm_secret [STAND-IN] ID JSON-SECRET-SPEC [EXTRA-TOP-LEVEL-JSON] - configure the stand-in
# (default: plain; it becomes the current one) to hold the secret ID.
sm_secret() {
	local name=plain
	if [[ $1 == plain || $1 == other || $1 == tls ]]; then
		name=$1
		shift
	fi
	local id=$1 spec=$2 extra=${3:-'{}'}
	mi_use_secretsmanager "$name"
	mi_sm_config "$MI_SM_CONFIG" "$("$MI_PYTHON" -c '
import json, sys
top = json.loads(sys.argv[3])
top["secrets"] = {sys.argv[1]: json.loads(sys.argv[2])}
print(json.dumps(top))' "$id" "$spec" "$extra")"
}

# userpass_spec [USER-KEY PASSWORD-KEY] - the secret spec of the SMTP user's credentials.
userpass_spec() {
	echo "{\"SecretJSON\": $(secret_json "${1:-smtp_username}" "$SMTP_USER" "${2:-smtp_password}" "$SMTP_PASSWORD"), \"VersionId\": \"$VERSION\"}"
}

# start_imds [JSON-OBJECT] - a stand-in IMDS of its own (mi_imds_config overrides).
start_imds() {
	local overrides=${1:-'{}'}
	mi_imds_config imds.json "$overrides"
	mi_start_imds imds.json
}

# dry_run PREFIX [ARG...] - mark the stand-in's log, snapshot the root, run the dry run, and
# check that it wrote nothing.
dry_run() {
	local prefix=$1 before after
	shift
	mkdir -p "$MI_DIR/root"
	mi_sm_mark
	before=$(mi_snapshot "$MI_DIR/root")
	mi_dry_run "$prefix" "$@"
	after=$(mi_snapshot "$MI_DIR/root")
	if [[ $before != "$after" ]]; then
		mi_show_run
		diff <(echo "$before") <(echo "$after") || true
		mi_fail "$prefix: the dry run changed the --root directory"
	fi
}

# assert_no_secret_in_output VALUE... - none of VALUEs in the last run's stdout or stderr.
assert_no_secret_in_output() {
	local v
	for v in "$@"; do
		if grep -qF -- "$v" "$MI_OUT" "$MI_ERR"; then
			mi_show_run
			mi_fail "$MI_LAST: a secret value shows in the output"
		fi
	done
}

# assert_fetched ID USER [VERSION] - the dry run succeeded and shows the secret and what it
# would write, the password masked.
assert_fetched() {
	local id=$1 user=$2 version=${3:-}
	local id_re user_re
	id_re=$(printf '%s' "$id" | sed 's/[][\.*^$/+?(){}|]/\\&/g')
	user_re=$(printf '%s' "$user" | sed 's/[][\.*^$/+?(){}|]/\\&/g')
	mi_assert_rc 0
	if [[ -n $version ]]; then
		mi_assert_grep "$MI_OUT" "^# secret: $id_re, version $version\$"
	else
		mi_assert_grep "$MI_OUT" "^# secret: $id_re, version [^ ]+\$"
	fi
	mi_assert_grep "$MI_OUT" "^# smtp_username: $user_re\$"
	mi_assert_grep "$MI_OUT" '^# smtp_password: \*{8}( |$)'
	mi_assert_grep "$MI_OUT" "^\\[email-smtp\\.$REGION\\.amazonaws\\.com\\]:587 $user_re:\\*{8}\$"
	mi_assert_grep "$MI_OUT" "^relayhost = \\[email-smtp\\.$REGION\\.amazonaws\\.com\\]:587\$"
	mi_assert_grep "$MI_OUT" '^smtp_sasl_auth_enable = yes$'
	mi_assert_grep "$MI_OUT" '^smtp_sasl_password_maps = '
	mi_assert_grep "$MI_OUT" '^smtp_sasl_security_options = noanonymous$'
	mi_assert_grep "$MI_OUT" '^smtp_tls_security_level = encrypt$'
	mi_assert_setting "$MI_OUT" secret_id "$id" "${SECRET_SOURCE:-file}"
	assert_no_secret_in_output "$SMTP_PASSWORD" "$IAM_SECRET_KEY" "$DERIVED_PASSWORD" \
		"$MI_IMDS_DEFAULT_SECRET_KEY" "$MI_IMDS_DEFAULT_TOKEN"
}

t_iam_key_secret_derived() {
	local id=fetch/iam-key
	sm_secret "$id" "{\"SecretJSON\": $(secret_json access_key_id "$IAM_KEY_ID" secret_access_key "$IAM_SECRET_KEY")}"
	mi_postfix_root "$id"
	dry_run run
	assert_fetched "$id" "$IAM_KEY_ID"
	mi_sm_assert_count "\"secret_id\":\"$id\".*\"signature_valid\":true,\"region\":\"$REGION\",\"status\":200" 1
}

t_smtp_username_password() {
	local id=fetch/smtp-user
	sm_secret "$id" "$(userpass_spec)"
	mi_postfix_root "$id"
	dry_run run
	assert_fetched "$id" "$SMTP_USER" "$VERSION"
	mi_sm_assert_count '"target":"secretsmanager.GetSecretValue"' 1
	# the alternative key names username/password
	sm_secret "$id" "$(userpass_spec username password)"
	dry_run alias
	assert_fetched "$id" "$SMTP_USER" "$VERSION"
}

t_https_ca_bundle() {
	local id=fetch/https
	sm_secret tls "$id" "$(userpass_spec)"
	export AWS_CA_BUNDLE=$MI_CA_DIR/ca.pem
	mi_postfix_root "$id"
	dry_run run
	assert_fetched "$id" "$SMTP_USER" "$VERSION"
	mi_sm_assert_count "\"secret_id\":\"$id\".*\"status\":200.*\"tls\":true" 1
}

t_secret_id_from_tag_and_userdata() {
	local id=fetch/from-tag ud
	sm_secret "$id" "$(userpass_spec)"
	mi_postfix_root
	start_imds "{\"tags\": {\"Name\": \"web\", \"mailinit:mode\": \"postfix\", \"mailinit:secret_id\": \"$id\"}}"
	SECRET_SOURCE=tag dry_run tag
	SECRET_SOURCE=tag assert_fetched "$id" "$SMTP_USER" "$VERSION"
	mi_stop_imds || true # lib.sh: mi__kill fails under errexit when the peer is already gone
	id=fetch/from-user-data
	sm_secret "$id" "$(userpass_spec)"
	ud=$(printf '{"mailinit": {"mode": "postfix", "secret_id": "%s"}}' "$id" | base64 -w0)
	start_imds "{\"user_data_b64\": \"$ud\"}"
	dry_run userdata
	SECRET_SOURCE=user-data assert_fetched "$id" "$SMTP_USER" "$VERSION"
	mi_sm_assert_count "\"secret_id\":\"$id\".*\"status\":200" 1
}

t_role_credentials() {
	local id=fetch/role akid=ASIAFAKEROLEFETCH042 key='roleSecretKeyFetch/+0042abcdefghijklmnopq'
	local token='RoleSessionTokenFetch//////////+0042='
	sm_secret "$id" "$(userpass_spec)" "{\"credentials\": [{\"access_key_id\": \"$akid\", \"secret_access_key\": \"$key\", \"session_token\": \"$token\", \"role\": \"fetch-role\"}]}"
	start_imds "{\"role\": \"fetch-role\", \"credentials\": {\"access_key_id\": \"$akid\", \"secret_access_key\": \"$key\", \"token\": \"$token\", \"code\": \"Success\", \"expiration\": 21600}}"
	mi_postfix_root "$id"
	dry_run run
	assert_fetched "$id" "$SMTP_USER" "$VERSION"
	assert_no_secret_in_output "$key" "$token"
	mi_sm_assert_count "\"secret_id\":\"$id\",\"access_key_id\":\"$akid\",\"session_token_present\":true,\"session_token_signed\":true,\"signature_valid\":true,\"region\":\"$REGION\",\"status\":200" 1
	mi_sm_assert_count '"signed_headers":"[^"]*host[^"]*x-amz-date[^"]*x-amz-security-token' 1
	mi_assert_count '"path":"/latest/meta-data/iam/security-credentials/fetch-role"' 1
}

# Role credentials that expire within the refresh margin (5 min) are fetched again before
# they are used: the SDKs' "refresh before Expiration".
t_role_credentials_near_expiry() {
	local id=fetch/near-expiry role_path="/latest/meta-data/iam/security-credentials/$MI_IMDS_DEFAULT_ROLE"
	sm_secret "$id" "$(userpass_spec)"
	start_imds '{"credentials": {"code": "Success", "expiration": 120}}'
	mi_postfix_root "$id"
	dry_run run
	assert_fetched "$id" "$SMTP_USER" "$VERSION"
	mi_assert_count "\"method\":\"GET\",\"path\":\"$role_path\"" 2
}

t_env_credentials_win() {
	local id=fetch/env akid=ASIAFAKEENVFETCH0007 key='envSecretKeyFetch/+0007abcdefghijklmnopqr'
	local token='EnvSessionTokenFetch//////////+0007='
	# the stand-in accepts both the role's and the environment's credentials
	sm_secret "$id" "$(userpass_spec)" "{\"credentials\": [{\"access_key_id\": \"$MI_IMDS_DEFAULT_AKID\", \"secret_access_key\": \"$MI_IMDS_DEFAULT_SECRET_KEY\", \"session_token\": \"$MI_IMDS_DEFAULT_TOKEN\", \"role\": \"$MI_IMDS_DEFAULT_ROLE\"}, {\"access_key_id\": \"$akid\", \"secret_access_key\": \"$key\", \"session_token\": \"$token\", \"role\": \"ci-role\"}]}"
	mi_postfix_root "$id"
	AWS_ACCESS_KEY_ID=$akid AWS_SECRET_ACCESS_KEY=$key AWS_SESSION_TOKEN=$token dry_run run
	assert_fetched "$id" "$SMTP_USER" "$VERSION"
	assert_no_secret_in_output "$key" "$token"
	mi_sm_assert_count "\"access_key_id\":\"$akid\",\"session_token_present\":true,\"session_token_signed\":true,\"signature_valid\":true,.*\"status\":200" 1
	mi_sm_assert_count "\"access_key_id\":\"$MI_IMDS_DEFAULT_AKID\"" 0
}

t_env_long_term_no_role() {
	local id=fetch/env-long-term akid=AKIAFAKEENVLONGTERM1 key='envLongTermSecretKey/+0001abcdefghijklmno'
	sm_secret "$id" "$(userpass_spec)" "{\"credentials\": [{\"access_key_id\": \"$akid\", \"secret_access_key\": \"$key\", \"user\": \"mailinit-ci\"}]}"
	start_imds '{"role": null}'
	mi_postfix_root "$id"
	AWS_ACCESS_KEY_ID=$akid AWS_SECRET_ACCESS_KEY=$key dry_run run
	assert_fetched "$id" "$SMTP_USER" "$VERSION"
	assert_no_secret_in_output "$key"
	mi_sm_assert_count "\"access_key_id\":\"$akid\",\"session_token_present\":false,\"session_token_signed\":false,\"signature_valid\":true,.*\"status\":200" 1
}

t_endpoint_precedence() {
	local id=fetch/endpoints plain_url other_url plain_log other_log
	sm_secret other "$id" "$(userpass_spec)"
	other_url=$MI_SM_URL other_log=$MI_SM_LOG
	sm_secret plain "$id" "$(userpass_spec)"
	plain_url=$MI_SM_URL plain_log=$MI_SM_LOG
	mi_postfix_root "$id"
	# AWS_ENDPOINT_URL_SECRETS_MANAGER wins over AWS_ENDPOINT_URL
	local before_plain before_other
	before_plain=$(grep -c '' "$plain_log" || true)
	before_other=$(grep -c '' "$other_log" || true)
	AWS_ENDPOINT_URL=$other_url AWS_ENDPOINT_URL_SECRETS_MANAGER=$plain_url dry_run both
	assert_fetched "$id" "$SMTP_USER" "$VERSION"
	(($(tail -n "+$((before_plain + 1))" "$plain_log" | grep -c "\"secret_id\":\"$id\".*\"status\":200") == 1)) ||
		mi_fail "AWS_ENDPOINT_URL_SECRETS_MANAGER ($plain_url) did not get the request"
	(($(tail -n "+$((before_other + 1))" "$other_log" | grep -c '"target"') == 0)) ||
		mi_fail "AWS_ENDPOINT_URL ($other_url) got a request although AWS_ENDPOINT_URL_SECRETS_MANAGER is set"
	# AWS_ENDPOINT_URL alone (with a trailing slash) is used
	before_plain=$(grep -c '' "$plain_log" || true)
	before_other=$(grep -c '' "$other_log" || true)
	(
		unset AWS_ENDPOINT_URL_SECRETS_MANAGER
		AWS_ENDPOINT_URL=$other_url/ dry_run general
		assert_fetched "$id" "$SMTP_USER" "$VERSION"
	)
	(($(tail -n "+$((before_other + 1))" "$other_log" | grep -c "\"secret_id\":\"$id\".*\"status\":200,.*\"path\":\"/\"") == 1)) ||
		mi_fail "AWS_ENDPOINT_URL ($other_url/) did not get the request (for path /)"
	(($(tail -n "+$((before_plain + 1))" "$plain_log" | grep -c '"target"') == 0)) ||
		mi_fail "a request went to $plain_url, which no variable names any more"
}

t_ignore_configured_endpoints() {
	local id=fetch/ignore-endpoints host=secretsmanager.$REGION.amazonaws.com rc=0 start end
	# Never talk to the internet: only when the real name does not resolve (quickly).
	start=${EPOCHREALTIME/[.,]/}
	timeout 5 getent ahosts "$host" >/dev/null 2>&1 || rc=$?
	end=${EPOCHREALTIME/[.,]/}
	((rc != 0)) || mi_skip "$host resolves: this machine has network access, the case would reach AWS"
	((rc != 124 && (end - start) < 3000000)) || mi_skip "resolving $host takes long (no quick DNS failure)"
	sm_secret other "$id" "$(userpass_spec)"
	local other_url=$MI_SM_URL other_log=$MI_SM_LOG before_other
	sm_secret plain "$id" "$(userpass_spec)"
	start_imds
	mi_postfix_root "$id"
	before_other=$(grep -c '' "$other_log" || true)
	# belt and braces: should the client use a proxy, it is a closed local port
	AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true AWS_MAX_ATTEMPTS=1 AWS_ENDPOINT_URL=$other_url \
		https_proxy=http://127.0.0.1:$(mi_closed_port) HTTPS_PROXY=http://127.0.0.1:$(mi_closed_port) \
		dry_run run
	mi_assert_rc 69
	mi_assert_error "$id"
	mi_assert_grep "$MI_ERR" "$host"
	mi_assert_faster 15000
	mi_sm_assert_count '"target"' 0
	(($(tail -n "+$((before_other + 1))" "$other_log" | grep -c '"target"') == 0)) ||
		mi_fail "AWS_ENDPOINT_URL was used although AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true"
	# and the IMDS phase did run (the failure is the Secrets Manager's)
	mi_assert_count "\"path\":\"/latest/meta-data/iam/security-credentials/$MI_IMDS_DEFAULT_ROLE\"" 1
}

t_other_region() {
	local id=fetch/region REGION=ap-southeast-2
	sm_secret "$id" "{\"SecretJSON\": $(secret_json access_key_id "$IAM_KEY_ID" secret_access_key "$IAM_SECRET_KEY")}" \
		'{"region": "ap-southeast-2"}'
	start_imds '{"region": "ap-southeast-2", "local_hostname": "ip-10-1-0-10.ap-southeast-2.compute.internal"}'
	mi_postfix_root "$id"
	DERIVED_PASSWORD=$(mi_ses_smtp_password "$IAM_SECRET_KEY" "$REGION")
	dry_run run
	assert_fetched "$id" "$IAM_KEY_ID"
	mi_sm_assert_count "\"secret_id\":\"$id\".*\"signature_valid\":true,\"region\":\"ap-southeast-2\",\"status\":200" 1
}

t_retry_throttling() {
	local id=fetch/throttled
	sm_secret "$id" "$(userpass_spec)" "{\"faults\": [{\"secret\": \"$id\", \"times\": 2, \"action\": \"error\", \"type\": \"ThrottlingException\"}]}"
	mi_postfix_root "$id"
	dry_run run
	assert_fetched "$id" "$SMTP_USER" "$VERSION"
	mi_sm_assert_count "\"secret_id\":\"$id\"" 3
	mi_sm_assert_count '"status":400,"error_type":"ThrottlingException"' 2
	mi_sm_assert_count '"signature_valid":true,.*"status":200' 1
}

t_retry_5xx() {
	local id=fetch/5xx
	sm_secret "$id" "$(userpass_spec)" "{\"faults\": [{\"secret\": \"$id\", \"times\": 1, \"action\": \"error\", \"type\": \"InternalServiceError\"}, {\"secret\": \"$id\", \"times\": 1, \"action\": \"error\", \"type\": \"ServiceUnavailable\", \"status\": 503}]}"
	mi_postfix_root "$id"
	dry_run run
	assert_fetched "$id" "$SMTP_USER" "$VERSION"
	mi_sm_assert_count "\"secret_id\":\"$id\"" 3
	mi_sm_assert_count '"status":500,"error_type":"InternalServiceError"' 1
	mi_sm_assert_count '"status":503,"error_type":"ServiceUnavailable"' 1
	mi_sm_assert_count '"status":200' 1
}

t_expired_token_refresh() {
	local id=fetch/expired-once role_path="/latest/meta-data/iam/security-credentials/$MI_IMDS_DEFAULT_ROLE"
	sm_secret "$id" "$(userpass_spec)" "{\"faults\": [{\"secret\": \"$id\", \"times\": 1, \"action\": \"expired_token\"}]}"
	start_imds
	mi_postfix_root "$id"
	dry_run run
	assert_fetched "$id" "$SMTP_USER" "$VERSION"
	mi_sm_assert_count "\"secret_id\":\"$id\"" 2
	mi_sm_assert_count '"status":400,"error_type":"ExpiredTokenException"' 1
	mi_sm_assert_count '"status":200' 1
	# the credentials were fetched again from IMDS before the retry
	mi_assert_count "\"method\":\"GET\",\"path\":\"$role_path\"" 2
}

# skew_case OFFSET PREFIX - the server clock OFFSET seconds off: one rejected request, then
# one signed with the server's time (X-Amz-Date about OFFSET later than the first one).
skew_case() {
	local offset=$1 prefix=$2 id=fetch/skew
	sm_secret "$id" "$(userpass_spec)" "{\"clock_offset_seconds\": $offset}"
	dry_run "$prefix"
	assert_fetched "$id" "$SMTP_USER" "$VERSION"
	mi_sm_assert_count "\"secret_id\":\"$id\"" 2
	mi_sm_assert_count '"status":400,"error_type":"InvalidSignatureException"' 1
	mi_sm_assert_count '"status":200' 1
	mi_sm_new_lines | "$MI_PYTHON" -c '
import calendar, json, sys, time
dates = [json.loads(l)["x_amz_date"] for l in sys.stdin if l.strip()]
t = [calendar.timegm(time.strptime(d, "%Y%m%dT%H%M%SZ")) for d in dates]
shift = t[1] - t[0]
print(f"# X-Amz-Date {dates[0]}, then {dates[1]} (shift {shift} s)")
sys.exit(0 if abs(shift - int(sys.argv[1])) <= 120 else "the second request is not signed with the server clock")
' "$offset" || mi_fail "$prefix: the retry was not signed with the offset from the Date header"
}

t_clock_skew() {
	mi_postfix_root fetch/skew
	skew_case 3600 ahead
	skew_case -3600 behind
}

mi_scenario iam_key_secret_derived t_iam_key_secret_derived
mi_scenario smtp_username_password t_smtp_username_password
mi_scenario https_ca_bundle t_https_ca_bundle
mi_scenario secret_id_from_tag_and_userdata t_secret_id_from_tag_and_userdata
mi_scenario role_credentials t_role_credentials
mi_scenario role_credentials_near_expiry t_role_credentials_near_expiry
mi_scenario env_credentials_win t_env_credentials_win
mi_scenario env_long_term_no_role t_env_long_term_no_role
mi_scenario endpoint_precedence t_endpoint_precedence
mi_scenario ignore_configured_endpoints t_ignore_configured_endpoints
mi_scenario other_region t_other_region
mi_scenario retry_throttling t_retry_throttling
mi_scenario retry_5xx t_retry_5xx
mi_scenario expired_token_refresh t_expired_token_refresh
mi_scenario clock_skew t_clock_skew
mi_finish
