#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_secret_hygiene - no secret ever leaves `mailinit firstboot` except into the files it
# is meant for. Distinctive values are planted: the SMTP password, an IAM user's secret
# access key (and the SES SMTP password derived from it, computed here with Python's hmac),
# the instance role's secret key and session token (stand-in IMDS), environment
# credentials. Then firstboot --dry-run runs through successes (username/password secret,
# IAM-key secret, environment credentials) and failures (AccessDeniedException, a secret
# with the password but no username, a secret that is not JSON or is cut short, a TLS
# certificate for another host, ExpiredTokenException twice), and firstboot without
# --dry-run fails twice (content, denied) under --root, recording its status.json.
# Everything printed (stdout and stderr) and every file under --root is searched for each
# value, whole and its first and last 12 characters: none may appear.
# Last, a firstboot kept alive by a slow stand-in and run as another user (nobody, through
# setpriv) must be non-dumpable (prctl(PR_SET_DUMPABLE, 0)): the kernel then makes its
# /proc/PID files owned by root. Checked against two controls run as nobody too: `sleep`
# (dumpable: its /proc/PID/status is nobody's) and a Python process that calls
# prctl(PR_SET_DUMPABLE, 0) (root's). That scenario is skipped when not run as root.
# Real runs, not dry: firstboot in postfix mode with postmap and postconf wrapped to record
# their argv and environment (with environment credentials set: none may reach a child), and
# in builtin mode; only the 0600 files meant for it (sasl_passwd, its .db, the credentials
# file, mail_owner's) may hold the password. The relay through its failure paths: rejected
# by the upstream (535, then the secret fetched again from Secrets Manager with the role's
# credentials), a credentials file whose line is the bare password (at start and on
# SIGHUP): its log, its /proc/PID/cmdline and environ, and every file under the root but the
# credentials file are searched too, and the relay must be non-dumpable with no core limit.
# Exit 77 (skip) without python3-botocore or openssl.

# The t_* functions run through mi_scenario (in subshells that set MI_DIR).
# shellcheck disable=SC2317,SC2031,SC2119 source-path=SCRIPTDIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_secrets.sh"
. "$(dirname "$0")/lib_smtp.sh"
. "$(dirname "$0")/lib_relay.sh"
mi_init
mi_require_secretsmanager
mi_require_fake_smtp
mi_require swaks
mi_test_ca

REGION=eu-west-1
SMTP_USER=AKIAHYG1ENESMTPUSER1
PASSWORD='Hyg1ene-Pa55word-XYZ'
IAM_KEY_ID=AKIAHYG1ENEIAMUSER01
IAM_SECRET_KEY='Qz7rIamUserSecretKey/+Hyg1eneKEY0009876'
ROLE=hygiene-role
ROLE_KEY_ID=ASIAHYG1ENEROLE00001
ROLE_SECRET_KEY='Vb4nRoleSecretAccessKey/+Hyg1ene00000042'
ROLE_TOKEN='IQoJRoleSessionTokenHyg1ene//////////+RoleTok3nEnd=='
ENV_KEY_ID=ASIAHYG1ENEENV000001
ENV_SECRET_KEY='Mk2pEnvSecretAccessKey/+Hyg1ene000000077'
ENV_TOKEN='FwoGEnvSessionTokenHyg1ene//////////+EnvTok3nEnd=='

# the SES SMTP password of the IAM secret key (an oracle independent of mailinit)
DERIVED_PASSWORD=$(mi_ses_smtp_password "$IAM_SECRET_KEY" "$REGION")
[[ ${#DERIVED_PASSWORD} == 44 ]] || mi_fail "the oracle's SES password is not 44 characters: $DERIVED_PASSWORD"

# The forbidden strings: each value whole, and its first and last 12 characters.
for value in "$PASSWORD" "$IAM_SECRET_KEY" "$DERIVED_PASSWORD" "$ROLE_SECRET_KEY" "$ROLE_TOKEN" \
	"$ENV_SECRET_KEY" "$ENV_TOKEN"; do
	printf '%s\n%s\n%s\n' "$value" "${value:0:12}" "${value: -12}"
done >"$MI_TMP/forbidden.txt"

# The stand-in Secrets Manager knows the role's and the environment's credentials.
CREDENTIALS=$("$MI_PYTHON" -c '
import json, sys
a = sys.argv[1:]
print(json.dumps([
    {"access_key_id": a[0], "secret_access_key": a[1], "session_token": a[2], "role": a[3]},
    {"access_key_id": a[4], "secret_access_key": a[5], "session_token": a[6], "role": "ci-role"},
]))' "$ROLE_KEY_ID" "$ROLE_SECRET_KEY" "$ROLE_TOKEN" "$ROLE" "$ENV_KEY_ID" "$ENV_SECRET_KEY" "$ENV_TOKEN")
# the same, the role's being denied access to every secret
DENIED_CREDENTIALS=$("$MI_PYTHON" -c '
import json, sys
creds = json.loads(sys.argv[1])
creds[0]["denied"] = True
print(json.dumps(creds))' "$CREDENTIALS")
IMDS_CONFIG=$("$MI_PYTHON" -c '
import json, sys
print(json.dumps({"role": sys.argv[4], "credentials": {"access_key_id": sys.argv[1],
    "secret_access_key": sys.argv[2], "token": sys.argv[3], "code": "Success",
    "expiration": 21600}}))' "$ROLE_KEY_ID" "$ROLE_SECRET_KEY" "$ROLE_TOKEN" "$ROLE")

# Shared peers: the stand-in IMDS (the role above), the stand-in Secrets Manager over HTTP
# and over HTTPS with a certificate for another host.
mi_sm_config sm-plain.json "{\"credentials\": $CREDENTIALS}"
mi_sm_config sm-wronghost.json "{\"credentials\": $CREDENTIALS}"
mi_spawn_secretsmanager plain sm-plain.json
MI_SM_CERT=$MI_CA_DIR/wrong-host.pem MI_SM_KEY=$MI_CA_DIR/wrong-host.key \
	mi_spawn_secretsmanager wronghost sm-wronghost.json --tls
mi_imds_config imds.json "$IMDS_CONFIG"
mi_start_imds imds.json
mi_wait_secretsmanager wronghost
mi_wait_secretsmanager plain
unset AWS_CA_BUNDLE

# secret_spec KEY VALUE [KEY VALUE...] - a SecretJSON spec for mi_sm_config.
secret_spec() {
	"$MI_PYTHON" -c '
import json, sys
a = sys.argv[1:]
print(json.dumps({"SecretJSON": dict(zip(a[::2], a[1::2]))}))' "$@"
}

# string_spec TEXT - a SecretString spec holding TEXT as it is.
string_spec() {
	"$MI_PYTHON" -c 'import json, sys; print(json.dumps({"SecretString": sys.argv[1]}))' "$1"
}

# sm_setup [STAND-IN] ID SPEC [JSON-OBJECT] - the stand-in (default plain) holds secret ID
# (the known credentials, unless JSON-OBJECT has others).
sm_setup() {
	local name=plain
	if [[ $1 == plain || $1 == wronghost ]]; then
		name=$1
		shift
	fi
	local id=$1 spec=$2 extra=${3:-'{}'}
	mi_use_secretsmanager "$name"
	mi_sm_config "$MI_SM_CONFIG" "$("$MI_PYTHON" -c '
import json, sys
top = {"credentials": json.loads(sys.argv[4])}
top.update(json.loads(sys.argv[3]))
top["secrets"] = {sys.argv[1]: json.loads(sys.argv[2])}
print(json.dumps(top))' "$id" "$spec" "$extra" "$CREDENTIALS")"
}

# assert_clean - no forbidden string in anything the last run printed, nor in any file
# under the root.
assert_clean() {
	local hits
	hits=$({
		grep -rlF -f "$MI_TMP/forbidden.txt" -- "$MI_OUT" "$MI_ERR" "$MI_DIR/root" || true
	})
	if [[ -n $hits ]]; then
		mi_show_run
		echo "--- found in:"
		echo "$hits"
		grep -rnoF -f "$MI_TMP/forbidden.txt" -- "$MI_OUT" "$MI_ERR" "$MI_DIR/root" |
			sed 's/:\(.\{4\}\).*/:\1... (a secret value)/' || true
		mi_fail "$MI_LAST: a secret value (or a 12-character piece of one) leaked"
	fi
}

# hygiene_run PREFIX RC ID [ARG...] - the dry run, its exit code, and assert_clean.
hygiene_run() {
	local prefix=$1 rc=$2 id=$3
	shift 3
	mi_postfix_root "$id"
	mi_sm_mark
	mi_dry_run "$prefix" "$@"
	mi_assert_rc "$rc"
	assert_clean
}

t_success_username_password() {
	local id=hygiene/smtp
	sm_setup "$id" "$(secret_spec smtp_username "$SMTP_USER" smtp_password "$PASSWORD")"
	hygiene_run run 0 "$id"
	mi_assert_grep "$MI_OUT" '^# smtp_password: \*{8}( |$)'
	mi_assert_grep "$MI_OUT" ":587 $SMTP_USER:\\*{8}\$"
}

t_success_iam_key() {
	local id=hygiene/iam-key
	sm_setup "$id" "$(secret_spec access_key_id "$IAM_KEY_ID" secret_access_key "$IAM_SECRET_KEY")"
	hygiene_run run 0 "$id"
	mi_assert_grep "$MI_OUT" "^# smtp_username: $IAM_KEY_ID\$"
	mi_assert_grep "$MI_OUT" '^# smtp_password: \*{8}( |$)'
}

t_success_env_credentials() {
	local id=hygiene/env
	sm_setup "$id" "$(secret_spec smtp_username "$SMTP_USER" smtp_password "$PASSWORD")"
	AWS_ACCESS_KEY_ID=$ENV_KEY_ID AWS_SECRET_ACCESS_KEY=$ENV_SECRET_KEY AWS_SESSION_TOKEN=$ENV_TOKEN \
		hygiene_run run 0 "$id"
}

t_denied() {
	local id=hygiene/denied
	sm_setup "$id" "$(secret_spec smtp_username "$SMTP_USER" smtp_password "$PASSWORD")" \
		"{\"credentials\": $DENIED_CREDENTIALS}"
	hygiene_run run 77 "$id"
	mi_assert_error "AccessDenied"
}

t_password_without_username() {
	local id=hygiene/no-username
	sm_setup "$id" "$(secret_spec smtp_password "$PASSWORD")"
	hygiene_run run 65 "$id"
	mi_assert_error "$id"
}

t_not_json() {
	local id=hygiene/not-json
	sm_setup "$id" "$(string_spec "smtp_password: $PASSWORD")"
	hygiene_run plain 65 "$id"
	mi_assert_error "$id"
	# cut short right after the password: a JSON parser's message may quote what it saw last
	sm_setup "$id" "$(string_spec "{\"smtp_username\": \"$SMTP_USER\", \"smtp_password\": \"$PASSWORD")"
	hygiene_run truncated 65 "$id"
	mi_assert_error "$id"
	sm_setup "$id" "$(string_spec "{\"smtp_username\": \"$SMTP_USER\", \"smtp_password\": $PASSWORD}")"
	hygiene_run bare_word 65 "$id"
	mi_assert_error "$id"
}

t_wrong_host_tls() {
	local id=hygiene/tls
	sm_setup wronghost "$id" "$(secret_spec smtp_username "$SMTP_USER" smtp_password "$PASSWORD")"
	AWS_CA_BUNDLE=$MI_CA_DIR/ca.pem AWS_MAX_ATTEMPTS=2 hygiene_run run 69 "$id"
	mi_assert_error "$id"
}

t_expired_twice() {
	local id=hygiene/expired
	sm_setup "$id" "$(secret_spec smtp_username "$SMTP_USER" smtp_password "$PASSWORD")" \
		"{\"faults\": [{\"secret\": \"$id\", \"action\": \"expired_token\", \"times\": 2}]}"
	hygiene_run run 77 "$id"
	mi_assert_error "$id"
	mi_sm_assert_count "\"error_type\":\"ExpiredTokenException\"" 2
}

# firstboot without --dry-run that fails after reading the secret records the failure in
# the root's status.json: neither it nor the log may hold a secret.
t_failed_firstboot_state() {
	local id=hygiene/state
	sm_setup "$id" "$(string_spec "{\"smtp_username\": \"$SMTP_USER\", \"smtp_password\": \"$PASSWORD")"
	mi_postfix_root "$id"
	MAILINIT_LOG_TARGET=stderr mi_run content "$MAILINIT" firstboot --root "$MI_DIR/root" --no-restart --no-mail
	mi_assert_rc 65
	assert_clean
	[[ -n $(find "$MI_DIR/root" -name status.json) ]] || mi_fail "no status.json under the root after a failed firstboot"
	sm_setup "$id" "$(secret_spec smtp_username "$SMTP_USER" smtp_password "$PASSWORD")" \
		"{\"credentials\": $DENIED_CREDENTIALS}"
	MAILINIT_LOG_TARGET=stderr mi_run denied "$MAILINIT" firstboot --root "$MI_DIR/root" --no-restart --no-mail
	mi_assert_rc 77
	assert_clean
	# no configuration was written either
	if find "$MI_DIR/root" -type f | grep -e sasl_passwd -e /credentials; then
		mi_fail "a failed firstboot wrote credentials files"
	fi
}

# assert_clean_paths WHAT ALLOWED-0600-FILE... -- PATH... - no forbidden string in PATH (files
# or directories), except in the ALLOWED files, which must be mode 0600.
assert_clean_paths() {
	local what=$1 allowed=() hits f
	shift
	while [[ $1 != -- ]]; do
		allowed+=("$1")
		shift
	done
	shift
	for f in "${allowed[@]}"; do
		[[ ! -e $f || $(stat -c %a "$f") == 600 ]] || mi_fail "$f holds a secret and is mode $(stat -c %a "$f"), not 0600"
	done
	hits=$({ grep -rlF -f "$MI_TMP/forbidden.txt" -- "$@" 2>/dev/null || true; } | while read -r f; do
		for a in "${allowed[@]}"; do [[ $f == "$a" ]] && continue 2; done
		echo "$f"
	done)
	if [[ -n $hits ]]; then
		echo "--- found in:"
		echo "$hits"
		mi_fail "$what: a secret value (or a 12-character piece of one) leaked"
	fi
}

# wrap_tool NAME - $MI_DIR/bin/NAME records its argv and environment in children.log (a fixed
# path: the child's environment is built from scratch), then runs the real one
wrap_tool() {
	local real
	real=$(command -v "$1") || mi_skip "$1 is not installed"
	mkdir -p "$MI_DIR/bin"
	cat >"$MI_DIR/bin/$1" <<-EOF
		#!/bin/sh
		{ printf 'argv:'; printf ' %s' "\$0" "\$@"; printf '\\n'; env | sed 's/^/env: /'; } >>"$MI_DIR/children.log"
		exec "$real" "\$@"
	EOF
	chmod +x "$MI_DIR/bin/$1"
}

t_postfix_children() {
	local id=hygiene/postfix pf=$MI_DIR/root/etc/postfix
	sm_setup "$id" "$(secret_spec smtp_username "$SMTP_USER" smtp_password "$PASSWORD")"
	mi_postfix_root "$id"
	wrap_tool postmap
	wrap_tool postconf
	PATH=$MI_DIR/bin:$PATH AWS_ACCESS_KEY_ID=$ENV_KEY_ID AWS_SECRET_ACCESS_KEY=$ENV_SECRET_KEY \
		AWS_SESSION_TOKEN=$ENV_TOKEN MAILINIT_LOG_TARGET=stderr \
		mi_run run "$MAILINIT" firstboot --root "$MI_DIR/root" --no-restart --no-mail
	mi_assert_rc 0
	mi_assert_grep children.log '^argv: .*/postmap '
	mi_assert_no_grep children.log '^env: AWS_'
	mi_assert_grep "$pf/sasl_passwd" "$SMTP_USER:"
	assert_clean_paths "postfix mode" "$pf/sasl_passwd" "$pf/sasl_passwd.db" -- \
		"$MI_OUT" "$MI_ERR" "$MI_DIR/root" children.log
}

t_builtin_files() {
	local id=hygiene/builtin cred=$MI_DIR/root/etc/mailinit/credentials
	mi_ensure_system_users
	sm_setup "$id" "$(secret_spec access_key_id "$IAM_KEY_ID" secret_access_key "$IAM_SECRET_KEY")"
	mi_write_conf "mode = builtin
secret_id = $id
"
	MAILINIT_LOG_TARGET=stderr mi_run run "$MAILINIT" firstboot --root "$MI_DIR/root" --no-restart --no-mail
	mi_assert_rc 0
	[[ $(stat -c '%U %a' "$cred") == "mailinit 600" ]] ||
		mi_fail "credentials: $(stat -c '%U %a' "$cred"), want mailinit 600"
	grep -qF "$DERIVED_PASSWORD" "$cred" || mi_fail "the credentials file lacks the derived password"
	assert_clean_paths "builtin mode" "$cred" -- "$MI_OUT" "$MI_ERR" "$MI_DIR/root"
}

# proc_clean PID - the relay's command line and environment hold no secret; it is not dumpable
proc_clean() {
	local pid=$1
	tr '\0' '\n' <"/proc/$pid/cmdline" >cmdline.txt
	tr '\0' '\n' <"/proc/$pid/environ" >environ.txt
	[[ -s cmdline.txt ]] || mi_fail "cannot read the relay's command line"
	assert_clean_paths "the relay's /proc/$pid/cmdline and environ" -- cmdline.txt environ.txt
	[[ $(stat -c %u "/proc/$pid/status") == 0 ]] || mi_fail "the relay is dumpable"
	[[ $(awk '/^Max core file size/ { print $5 }' "/proc/$pid/limits") == 0 ]] ||
		mi_fail "the relay may write a core file"
}

t_relay_failures() {
	local id=hygiene/relay cred
	# the role's credentials fetch the secret again after the 535: the relay holds them too
	sm_setup "$id" "$(secret_spec smtp_username "$SMTP_USER" smtp_password "$PASSWORD")"
	mi_start_fake_smtp "{\"users\": {\"$SMTP_USER\": \"not-the-password\"}}"
	mi_relay_setup "region = $REGION
maximal_backoff_time = 600s
minimal_backoff_time = 600s"
	cred=$MI_RELAY_ROOT/etc/mailinit/credentials
	mi_relay_credentials "$SMTP_USER" "$PASSWORD"
	printf 'secret_id = %s\n' "$id" >>"$cred"
	mi_start_relay
	proc_clean "$MI_RELAY_PID"
	mi_run s1 swaks --server "127.0.0.1:$MI_RELAY_PORT" --from a@example.com --to b@example.net
	mi_assert_rc 0
	mi_relay_wait_log 'Fetched the SMTP credentials again from secret' 1 30
	mi_relay_wait_log 'status=deferred .*535' 1 30
	proc_clean "$MI_RELAY_PID"
	# a credentials file whose line is a bare secret (a pasted secret access key: the
	# parser's own message would quote its first 22 characters): refused on SIGHUP, unquoted
	printf 'smtp_username = %s\n%s\n' "$SMTP_USER" "$ENV_SECRET_KEY" >"$cred"
	kill -HUP "$MI_RELAY_PID"
	mi_relay_wait_log 'credentials: line 2 is malformed' 1 20
	mi_stop_relay || true # it exits 78 by itself: the configuration is broken
	[[ $MI_RELAY_RC == 78 ]] || mi_fail "the relay exited $MI_RELAY_RC after SIGHUP with broken credentials, want 78"
	# and at start
	mi_run again "$MAILINIT" relay --root "$MI_RELAY_ROOT"
	mi_assert_rc 78
	mi_assert_grep again.err 'credentials: line 2 is malformed'
	assert_clean_paths "the relay" "$cred" -- "$MI_RELAY_LOG" "$MI_DIR/root" s1.out s1.err again.out again.err
}

# owner_of_status PID - the owner uid of /proc/PID/status (root's for a non-dumpable process).
owner_of_status() {
	stat -c %u "/proc/$1/status" 2>/dev/null || echo gone
}

# "${AS_NOBODY[@]}" CMD... - CMD as uid/gid 65534 without supplementary groups (setpriv
# execs CMD: a background job's $! is CMD's PID).
AS_NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --)

# wait_exec PID NAME - wait (up to 10 s) until PID runs the program NAME (after setpriv's exec).
wait_exec() {
	local i
	for ((i = 0; i < 200; i++)); do
		[[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]] && return 0
		sleep 0.05
	done
	mi_fail "process $1 did not start $2"
}

t_not_dumpable() {
	local id=hygiene/dumpable pid owner uid i rc=0 role_path="/latest/meta-data/iam/security-credentials/$ROLE"
	[[ $(id -u) == 0 ]] || mi_skip "needs root (to run firstboot as another user)"
	command -v setpriv >/dev/null 2>&1 || mi_skip "setpriv is not installed"
	"${AS_NOBODY[@]}" test -r "$MAILINIT" || mi_skip "$MAILINIT is not readable by nobody (exec would make it non-dumpable anyway)"
	chmod o+x "$MI_TMP" "$MI_DIR"
	# control 1: an ordinary process of nobody's: its /proc files are nobody's
	"${AS_NOBODY[@]}" sleep 10 &
	pid=$!
	MI_PIDS+=("$pid")
	wait_exec "$pid" sleep
	owner=$(owner_of_status "$pid")
	kill "$pid" 2>/dev/null || true
	[[ $owner == 65534 ]] || mi_fail "control: /proc/PID/status of a dumpable process of nobody's is owned by $owner, want 65534"
	# control 2: the same after prctl(PR_SET_DUMPABLE, 0): root's
	"${AS_NOBODY[@]}" "$MI_PYTHON" -c '
import ctypes, sys, time
if ctypes.CDLL(None).prctl(4, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE
    sys.exit(1)
print("ready", flush=True)
time.sleep(10)' >prctl-ready &
	pid=$!
	MI_PIDS+=("$pid")
	for ((i = 0; i < 200; i++)); do
		[[ -s prctl-ready ]] && break
		sleep 0.05
	done
	owner=$(owner_of_status "$pid")
	kill "$pid" 2>/dev/null || true
	[[ $owner == 0 ]] || mi_fail "control: /proc/PID/status of a non-dumpable process is owned by $owner, want 0: this check cannot work here"

	# firstboot, held for 3 s by the stand-in, as nobody
	start_own_imds
	sm_setup "$id" "$(secret_spec smtp_username "$SMTP_USER" smtp_password "$PASSWORD")" \
		"{\"faults\": [{\"secret\": \"$id\", \"action\": \"slow\", \"delay_ms\": 3000}]}"
	mi_postfix_root "$id"
	chmod -R o+rX "$MI_DIR/root"
	"${AS_NOBODY[@]}" "$MAILINIT" firstboot --dry-run --root "$MI_DIR/root" </dev/null >run.out 2>run.err &
	pid=$!
	MI_PIDS+=("$pid")
	wait_exec "$pid" mailinit
	# past the metadata phase (the role's credentials read): waiting for Secrets Manager
	for ((i = 0; i < 200; i++)); do
		(($(mi_count_log "\"path\":\"$role_path\"") >= 1)) && break
		sleep 0.05
	done
	uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo gone)
	owner=$(owner_of_status "$pid")
	wait "$pid" || rc=$?
	MI_OUT=run.out MI_ERR=run.err MI_LAST=run MI_RC=$rc
	[[ $uid == 65534 ]] || mi_fail "firstboot was not running as nobody while checked (uid $uid): too fast?"
	mi_assert_rc 0
	assert_clean
	[[ $owner == 0 ]] || mi_fail "firstboot is dumpable: its /proc/PID/status is owned by uid $owner while it holds credentials (want 0: prctl(PR_SET_DUMPABLE, 0))"
}

# start_own_imds - the scenario's own stand-in IMDS (its log shows when the metadata phase ends).
start_own_imds() {
	mi_imds_config imds.json "$IMDS_CONFIG"
	mi_start_imds imds.json
	chmod o+x "$MI_DIR"
}

mi_scenario success_username_password t_success_username_password
mi_scenario success_iam_key t_success_iam_key
mi_scenario success_env_credentials t_success_env_credentials
mi_scenario denied t_denied
mi_scenario password_without_username t_password_without_username
mi_scenario not_json t_not_json
mi_scenario wrong_host_tls t_wrong_host_tls
mi_scenario expired_twice t_expired_twice
mi_scenario failed_firstboot_state t_failed_firstboot_state
mi_scenario not_dumpable t_not_dumpable
mi_scenario postfix_children t_postfix_children
mi_scenario builtin_files t_builtin_files
mi_scenario relay_failures t_relay_failures
mi_finish
