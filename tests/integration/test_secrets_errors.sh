#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_secrets_errors - every way reading the secret can fail, through
# `mailinit firstboot --dry-run` against the stand-in Secrets Manager
# (peers/fake_secretsmanager.py): the exit code of each class, and the message: exactly one
# line on stderr, "mailinit: error: ...", naming the secret id and, for an error the service
# returned about the request (77, 78), the principal ("role NAME" or "environment
# credentials"); nothing on stdout; never the secret's content.
#   65  SecretString not JSON, JSON without the keys, an empty string, SecretBinary, a
#       response over 128 KiB (a 1 MiB secret, with Content-Length and chunked)
#   69  5xx after the attempts (AWS_MAX_ATTEMPTS=2: exactly 2 requests), an HTML 502 page, a
#       400 with a text body, a 200 with an HTML body, connection refused, connections dropped, HTTPS with a certificate for another
#       host, HTTPS with a CA that is not in AWS_CA_BUNDLE (and with no AWS_CA_BUNDLE)
#   75  ThrottlingException every time (5 requests by default, 2 with AWS_MAX_ATTEMPTS=2),
#       a stand-in that never answers (AWS_MAX_ATTEMPTS=1: one attempt, about 10 s)
#   77  AccessDeniedException, DecryptionFailure, a wrong secret key (signature rejected,
#       not retried), an unknown access key id (UnrecognizedClientException, environment
#       credentials), ExpiredTokenException twice (credentials fetched again in between)
#   78  ResourceNotFoundException, InvalidParameterException, InvalidRequestException, a
#       secret_id over 2048 characters (no request), no secret_id at all (firstboot without
#       --dry-run, --no-restart --no-mail, under --root)
# Exit 77 (skip) without python3-botocore or openssl.

# The t_* functions run through mi_scenario (in subshells that set MI_DIR).
# shellcheck disable=SC2317,SC2031,SC2119 source-path=SCRIPTDIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_secrets.sh"
mi_init
mi_require_secretsmanager
mi_test_ca

ROLE_PRINCIPAL="role $MI_IMDS_DEFAULT_ROLE"
ENV_PRINCIPAL="environment credentials"
# in secrets whose content is unusable: must never show in a message
CONTENT_SECRET='Err0rContent-Pa55word-QJX'

# Shared peers (the stand-in Secrets Manager takes seconds to start): plain HTTP, HTTPS with
# the test CA's server certificate, HTTPS with a certificate for wrong.example; a second,
# unrelated CA; the default stand-in IMDS (role mailinit-test-role). Scenarios rewrite the
# stand-ins' configurations and use secret ids of their own.
mi_sm_config sm-plain.json
mi_sm_config sm-tls.json
mi_sm_config sm-wronghost.json
mi_spawn_secretsmanager plain sm-plain.json
mi_spawn_secretsmanager tls sm-tls.json --tls
MI_SM_CERT=$MI_CA_DIR/wrong-host.pem MI_SM_KEY=$MI_CA_DIR/wrong-host.key \
	mi_spawn_secretsmanager wronghost sm-wronghost.json --tls
bash "$MI_PEERS_DIR/make_test_ca.sh" "$MI_TMP/other-ca" >/dev/null 2>&1 || mi_fail "make_test_ca.sh (a second CA) failed"
mi_imds_config imds.json
mi_start_imds imds.json
mi_wait_secretsmanager tls
mi_wait_secretsmanager wronghost
mi_wait_secretsmanager plain
unset AWS_CA_BUNDLE # set by the scenarios that use HTTPS

# sm_setup [STAND-IN] JSON-OBJECT - configure the stand-in (default plain; it becomes the
# current one) with mi_sm_config overrides.
sm_setup() {
	local name=plain
	if [[ $1 == plain || $1 == tls || $1 == wronghost ]]; then
		name=$1
		shift
	fi
	mi_use_secretsmanager "$name"
	mi_sm_config "$MI_SM_CONFIG" "$1"
}

# good_secret - the secret spec of valid SMTP credentials.
good_secret() {
	echo '{"SecretJSON": {"smtp_username": "AKIAERRORSSMTPUSER01", "smtp_password": "'"$CONTENT_SECRET"'"}}'
}

# start_imds [JSON-OBJECT] - a stand-in IMDS of this scenario (mi_imds_config overrides).
start_imds() {
	local overrides=${1:-'{}'}
	mi_imds_config imds.json "$overrides"
	mi_start_imds imds.json
}

# try PREFIX SECRET-ID [ARG...] - the dry run for SECRET-ID (mailinit.conf), the stand-in's
# log marked first.
try() {
	local prefix=$1 id=$2
	shift 2
	mi_postfix_root "$id"
	mi_sm_mark
	mi_dry_run "$prefix" "$@"
}

# re_quote TEXT - TEXT as an extended regular expression matching itself.
re_quote() {
	printf '%s' "$1" | sed 's/[][\.*^$/+?(){}|]/\\&/g'
}

# assert_failed RC SECRET-ID [PRINCIPAL] [MORE-REGEX] - the last run failed with RC and one
# line "mailinit: error: ..." naming SECRET-ID (and PRINCIPAL, and matching MORE-REGEX),
# nothing on stdout, no secret content in it.
assert_failed() {
	local rc=$1 id=$2 principal=${3:-} more=${4:-}
	mi_assert_rc "$rc"
	mi_assert_error "$(re_quote "$id")"
	[[ -z $principal ]] || mi_assert_error "$(re_quote "$principal")"
	[[ -z $more ]] || mi_assert_error "$more"
	if grep -qF -e "$CONTENT_SECRET" -e "$MI_IMDS_DEFAULT_SECRET_KEY" -e "$MI_IMDS_DEFAULT_TOKEN" "$MI_ERR"; then
		mi_show_run
		mi_fail "$MI_LAST: a secret value shows in the message"
	fi
	if grep -qi '<html\|<body' "$MI_ERR"; then
		mi_show_run
		mi_fail "$MI_LAST: the message quotes an HTML page"
	fi
}

# --- 65: the secret's content ---------------------------------------------------------

t_content_not_json() {
	local id=err/not-json
	sm_setup "{\"secrets\": {\"$id\": {\"SecretString\": \"smtp_password=$CONTENT_SECRET\"}}}"
	try run "$id"
	assert_failed 65 "$id"
	mi_sm_assert_count "\"secret_id\":\"$id\".*\"status\":200" 1
	# JSON cut short (a parser's message could quote the text near the error)
	sm_setup "{\"secrets\": {\"$id\": {\"SecretString\": \"{\\\"smtp_username\\\": \\\"AKIAERRORSSMTPUSER01\\\", \\\"smtp_password\\\": \\\"$CONTENT_SECRET\"}}}"
	try truncated "$id"
	assert_failed 65 "$id"
}

t_content_without_keys() {
	local id=err/no-keys
	sm_setup "{\"secrets\": {\"$id\": {\"SecretJSON\": {\"user\": \"AKIAERRORSSMTPUSER01\", \"pass\": \"$CONTENT_SECRET\"}}}}"
	try run "$id"
	assert_failed 65 "$id"
	# a JSON value that is not an object
	sm_setup "{\"secrets\": {\"$id\": {\"SecretJSON\": [\"AKIAERRORSSMTPUSER01\", \"$CONTENT_SECRET\"]}}}"
	try array "$id"
	assert_failed 65 "$id"
}

t_content_empty_string() {
	local id=err/empty
	sm_setup "{\"secrets\": {\"$id\": {\"SecretString\": \"\"}}}"
	try run "$id"
	assert_failed 65 "$id"
}

t_content_secret_binary() {
	local id=err/binary b64
	b64=$(printf '{"smtp_username":"AKIAERRORSSMTPUSER01","smtp_password":"%s"}' "$CONTENT_SECRET" | base64 -w0)
	sm_setup "{\"secrets\": {\"$id\": {\"SecretBinary\": \"$b64\"}}}"
	try run "$id"
	assert_failed 65 "$id"
	mi_sm_assert_count "\"secret_id\":\"$id\".*\"status\":200" 1
}

t_content_too_big() {
	local id=err/big
	sm_setup "{\"secrets\": {\"$id\": $(good_secret)}, \"faults\": [{\"secret\": \"$id\", \"action\": \"big\", \"size\": 1048576}]}"
	try run "$id"
	assert_failed 65 "$id"
	mi_sm_assert_count "\"secret_id\":\"$id\"" 1 # not retried
	sm_setup "{\"secrets\": {\"$id\": $(good_secret)}, \"faults\": [{\"secret\": \"$id\", \"action\": \"big\", \"size\": 1048576, \"chunked\": true}]}"
	try chunked "$id"
	assert_failed 65 "$id"
	mi_sm_assert_count "\"secret_id\":\"$id\"" 1
}

# --- 69: unreachable, 5xx, garbage, TLS ------------------------------------------------

t_5xx_after_attempts() {
	local id=err/5xx
	sm_setup "{\"secrets\": {\"$id\": $(good_secret)}, \"faults\": [{\"secret\": \"$id\", \"action\": \"error\", \"type\": \"InternalServiceError\"}]}"
	AWS_MAX_ATTEMPTS=2 try run "$id"
	assert_failed 69 "$id"
	mi_sm_assert_count "\"secret_id\":\"$id\".*\"status\":500,\"error_type\":\"InternalServiceError\"" 2
	mi_sm_assert_count '"target"' 2
}

t_not_json_answers() {
	local id=err/html-502 n
	sm_setup "{\"secrets\": {\"$id\": $(good_secret)}, \"faults\": [{\"secret\": \"$id\", \"action\": \"status_raw\", \"status\": 502}]}"
	try run "$id"
	assert_failed 69 "$id"
	n=$(mi_sm_count "\"secret_id\":\"$id\".*\"status\":502,.*\"action\":\"status_raw\"")
	((n >= 1 && n <= 5)) || mi_fail "$n requests for an HTML 502 page, want 1 to 5 (AWS_MAX_ATTEMPTS default)"
	# a 4xx whose body is not JSON (no error code to act on)
	sm_setup "{\"secrets\": {\"$id\": $(good_secret)}, \"faults\": [{\"secret\": \"$id\", \"action\": \"status_raw\", \"status\": 400, \"body\": \"Bad Request\", \"content_type\": \"text/plain\"}]}"
	try plain_400 "$id"
	assert_failed 69 "$id"
	# a 200 whose body is not JSON
	sm_setup "{\"secrets\": {\"$id\": $(good_secret)}, \"faults\": [{\"secret\": \"$id\", \"action\": \"status_raw\", \"status\": 200, \"body\": \"<html><body>captive portal</body></html>\"}]}"
	try garbage_200 "$id"
	assert_failed 69 "$id"
}

t_connection_refused() {
	local id=err/refused
	AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:$(mi_closed_port) AWS_MAX_ATTEMPTS=2 \
		try run "$id"
	assert_failed 69 "$id"
	mi_assert_faster 20000
}

t_connection_dropped() {
	local id=err/dropped
	sm_setup "{\"secrets\": {\"$id\": $(good_secret)}, \"faults\": [{\"secret\": \"$id\", \"action\": \"drop\"}]}"
	AWS_MAX_ATTEMPTS=2 try run "$id"
	assert_failed 69 "$id"
	mi_sm_assert_count "\"secret_id\":\"$id\".*\"action\":\"drop\"" 2
}

t_tls_wrong_host() {
	local id=err/tls-wrong-host n
	sm_setup wronghost "{\"secrets\": {\"$id\": $(good_secret)}}"
	AWS_CA_BUNDLE=$MI_CA_DIR/ca.pem try run "$id"
	assert_failed 69 "$id"
	mi_sm_wait_settled
	mi_sm_assert_count '"target":"secretsmanager' 0
	n=$(mi_sm_count '"action":"(tls_handshake_failed|no_request)"')
	((n >= 1)) || mi_fail "the stand-in saw no connection (was the endpoint used?)"
}

t_tls_untrusted_ca() {
	local id=err/tls-untrusted n
	sm_setup tls "{\"secrets\": {\"$id\": $(good_secret)}}"
	# a bundle with another CA
	AWS_CA_BUNDLE=$MI_TMP/other-ca/ca.pem try run "$id"
	assert_failed 69 "$id"
	mi_sm_wait_settled
	mi_sm_assert_count '"target":"secretsmanager' 0
	n=$(mi_sm_count '"action":"(tls_handshake_failed|no_request)"')
	((n >= 1)) || mi_fail "the stand-in saw no connection (was the endpoint used?)"
	# no AWS_CA_BUNDLE: the system's trust store, which does not hold the test CA
	unset AWS_CA_BUNDLE
	try system_store "$id"
	assert_failed 69 "$id"
	mi_sm_wait_settled
	mi_sm_assert_count '"target":"secretsmanager' 0
	# control: the same stand-in with the right bundle works
	AWS_CA_BUNDLE=$MI_CA_DIR/ca.pem try control "$id"
	mi_assert_rc 0
	mi_sm_assert_count "\"secret_id\":\"$id\".*\"status\":200.*\"tls\":true" 1
}

# --- 75: throttled, no answer -----------------------------------------------------------

t_throttled_after_attempts() {
	local id=err/throttled
	sm_setup "{\"secrets\": {\"$id\": $(good_secret)}, \"faults\": [{\"secret\": \"$id\", \"action\": \"error\", \"type\": \"ThrottlingException\"}]}"
	try default_attempts "$id"
	assert_failed 75 "$id"
	mi_sm_assert_count "\"secret_id\":\"$id\".*\"status\":400,\"error_type\":\"ThrottlingException\"" 5
	mi_sm_assert_count '"target"' 5
	AWS_MAX_ATTEMPTS=2 try two_attempts "$id"
	assert_failed 75 "$id"
	mi_sm_assert_count "\"secret_id\":\"$id\".*\"error_type\":\"ThrottlingException\"" 2
	mi_sm_assert_count '"target"' 2
}

t_hang() {
	local id=err/hang
	sm_setup "{\"secrets\": {\"$id\": $(good_secret)}, \"faults\": [{\"secret\": \"$id\", \"action\": \"hang\", \"max_ms\": 30000}]}"
	AWS_MAX_ATTEMPTS=1 MI_RUN_TIMEOUT=40 try run "$id"
	assert_failed 75 "$id"
	((MI_ELAPSED_MS >= 8000)) || {
		mi_show_run
		mi_fail "gave up after ${MI_ELAPSED_MS} ms, before the 10 s attempt timeout"
	}
	mi_assert_faster 20000
	mi_sm_assert_count "\"secret_id\":\"$id\".*\"action\":\"hang\"" 1
	mi_sm_assert_count '"target"' 1
}

# --- 77: denied ---------------------------------------------------------------------------

t_access_denied() {
	local id=err/denied
	sm_setup "{\"secrets\": {\"$id\": $(good_secret)}, \"credentials\": [{\"access_key_id\": \"$MI_IMDS_DEFAULT_AKID\", \"secret_access_key\": \"$MI_IMDS_DEFAULT_SECRET_KEY\", \"session_token\": \"$MI_IMDS_DEFAULT_TOKEN\", \"role\": \"$MI_IMDS_DEFAULT_ROLE\", \"denied\": true}]}"
	try run "$id"
	assert_failed 77 "$id" "$ROLE_PRINCIPAL" AccessDenied
	mi_sm_assert_count "\"secret_id\":\"$id\".*\"signature_valid\":true.*\"error_type\":\"AccessDeniedException\"" 1
	mi_sm_assert_count '"target"' 1 # not retried
}

t_decryption_failure() {
	local id=err/kms
	sm_setup "{\"secrets\": {\"$id\": {\"error\": \"DecryptionFailure\"}}}"
	try run "$id"
	assert_failed 77 "$id" "$ROLE_PRINCIPAL" DecryptionFailure
	mi_sm_assert_count '"target"' 1
}

t_wrong_secret_key() {
	local id=err/bad-signature
	sm_setup "{\"secrets\": {\"$id\": $(good_secret)}, \"credentials\": [{\"access_key_id\": \"$MI_IMDS_DEFAULT_AKID\", \"secret_access_key\": \"notTheKeyTheStandInImdsHandsOut0000000001\", \"session_token\": \"$MI_IMDS_DEFAULT_TOKEN\", \"role\": \"$MI_IMDS_DEFAULT_ROLE\"}]}"
	try run "$id"
	assert_failed 77 "$id" "$ROLE_PRINCIPAL"
	mi_sm_assert_count "\"signature_valid\":false.*\"error_type\":\"InvalidSignatureException\"" 1
	mi_sm_assert_count '"target"' 1 # not retried
}

t_unrecognized_client_env() {
	local id=err/unknown-key
	sm_setup "{\"secrets\": {\"$id\": $(good_secret)}}"
	start_imds '{"role": null}'
	AWS_ACCESS_KEY_ID=AKIAUNKNOWNTOSTANDIN AWS_SECRET_ACCESS_KEY='unknownSecretKey/+0001abcdefghijklmnopqrs' \
		try run "$id"
	assert_failed 77 "$id" "$ENV_PRINCIPAL"
	mi_assert_no_grep "$MI_ERR" 'unknownSecretKey'
	mi_sm_assert_count '"access_key_id":"AKIAUNKNOWNTOSTANDIN".*"error_type":"UnrecognizedClientException"' 1
	mi_sm_assert_count '"target"' 1
}

t_expired_token_twice() {
	local id=err/expired role_path="/latest/meta-data/iam/security-credentials/$MI_IMDS_DEFAULT_ROLE"
	sm_setup "{\"secrets\": {\"$id\": $(good_secret)}, \"faults\": [{\"secret\": \"$id\", \"action\": \"expired_token\", \"times\": 2}]}"
	start_imds
	try run "$id"
	assert_failed 77 "$id" "$ROLE_PRINCIPAL" Expired
	mi_sm_assert_count "\"secret_id\":\"$id\".*\"error_type\":\"ExpiredTokenException\"" 2
	mi_sm_assert_count '"target"' 2
	mi_assert_count "\"method\":\"GET\",\"path\":\"$role_path\"" 2
}

# --- 78: the secret id --------------------------------------------------------------------

t_not_found() {
	local id=err/no-such-secret
	sm_setup '{"secrets": {"err/another": {"SecretString": "{}"}}}'
	try run "$id"
	assert_failed 78 "$id" "$ROLE_PRINCIPAL" ResourceNotFound
	mi_sm_assert_count '"target"' 1
}

t_invalid_parameter() {
	local id=err/invalid-parameter
	sm_setup "{\"secrets\": {\"$id\": {\"error\": \"InvalidParameterException\"}}}"
	try run "$id"
	assert_failed 78 "$id" "$ROLE_PRINCIPAL" InvalidParameter
	mi_sm_assert_count '"target"' 1
}

t_invalid_request() {
	local id=err/deleted
	sm_setup "{\"secrets\": {\"$id\": {\"error\": \"InvalidRequestException\", \"message\": \"You can't perform this operation on the secret because it was marked for deletion.\"}}}"
	try run "$id"
	assert_failed 78 "$id" "$ROLE_PRINCIPAL" InvalidRequest
	mi_sm_assert_count '"target"' 1
}

t_secret_id_too_long() {
	local id
	id=err/$(printf 'x%.0s' {1..2045})
	sm_setup '{}'
	try run "$id"
	mi_assert_rc 78
	mi_assert_error 'secret_id'
	mi_sm_assert_count '"target"' 0
}

t_secret_id_missing() {
	mi_postfix_root
	mi_write_conf "mode = postfix
"
	sm_setup '{}'
	mi_sm_mark
	MAILINIT_LOG_TARGET=stderr mi_run run "$MAILINIT" firstboot --root "$MI_DIR/root" --no-restart --no-mail
	mi_assert_rc 78
	mi_assert_grep "$MI_ERR" '^mailinit: error: .*secret_id'
	mi_assert_empty "$MI_OUT"
	mi_sm_assert_count '"target"' 0
	# nothing but the state was written under the root
	if find "$MI_DIR/root" -type f | grep -v -e '/etc/postfix/main.cf$' -e '/etc/mailinit/mailinit.conf$' \
		-e '/var/lib/mailinit/' | grep -q .; then
		find "$MI_DIR/root" -type f
		mi_fail "firstboot without secret_id wrote configuration files"
	fi
}

mi_scenario content_not_json t_content_not_json
mi_scenario content_without_keys t_content_without_keys
mi_scenario content_empty_string t_content_empty_string
mi_scenario content_secret_binary t_content_secret_binary
mi_scenario content_too_big t_content_too_big
mi_scenario 5xx_after_attempts t_5xx_after_attempts
mi_scenario not_json_answers t_not_json_answers
mi_scenario connection_refused t_connection_refused
mi_scenario connection_dropped t_connection_dropped
mi_scenario tls_wrong_host t_tls_wrong_host
mi_scenario tls_untrusted_ca t_tls_untrusted_ca
mi_scenario throttled_after_attempts t_throttled_after_attempts
mi_scenario hang t_hang
mi_scenario access_denied t_access_denied
mi_scenario decryption_failure t_decryption_failure
mi_scenario wrong_secret_key t_wrong_secret_key
mi_scenario unrecognized_client_env t_unrecognized_client_env
mi_scenario expired_token_twice t_expired_token_twice
mi_scenario not_found t_not_found
mi_scenario invalid_parameter t_invalid_parameter
mi_scenario invalid_request t_invalid_request
mi_scenario secret_id_too_long t_secret_id_too_long
mi_scenario secret_id_missing t_secret_id_missing
mi_finish
