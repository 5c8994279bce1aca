# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034,SC2119,SC2120
# lib_secrets.sh - the stand-in AWS Secrets Manager (peers/fake_secretsmanager.py) for
# integration tests. Source it after lib.sh and call mi_init first:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/lib_secrets.sh"
#   mi_init
#   mi_require_secretsmanager            # exit 77 without python3-botocore (or openssl)
#   mi_sm_config sm.json '{"secrets": {"mailinit/ses": {"SecretJSON": {"smtp_username": "U",
#                                       "smtp_password": "P"}}}}'
#   mi_start_secretsmanager sm.json      # or: mi_start_secretsmanager sm.json --tls
#   # exported: MI_SM_URL, MI_SM_LOG, MI_SM_PID, MI_SM_CONFIG, AWS_ENDPOINT_URL_SECRETS_MANAGER
#   # (with --tls also AWS_CA_BUNDLE=$MI_CA_DIR/ca.pem: override it to test distrust)
#   mi_sm_mark; mi_dry_run run1; mi_sm_assert_count '"status":200' 1
#
# The stand-in imports botocore and takes seconds to start: a test may start several at
# once and share them between scenarios (each stand-in reads its configuration again when
# the file is replaced, so a scenario rewrites it with mi_sm_config "$MI_SM_CONFIG" ...):
#
#   mi_spawn_secretsmanager plain sm.json          # no waiting
#   mi_spawn_secretsmanager tls sm-tls.json --tls
#   mi_wait_secretsmanager plain; mi_wait_secretsmanager tls
#   mi_use_secretsmanager tls                      # make "tls" the current one (exports)
#
# Every stand-in binds 127.0.0.1 on a port the OS hands out; its PID is recorded like
# lib.sh's peers (MI_PIDS and $MI_TMP/.pids), so lib.sh's cleanup stops it. Files of the
# stand-in NAME are $MI_DIR/sm-NAME.{port,log,stdout,stderr,pid,config} (MI_DIR at spawn time).

: "${MI_PYTHON:=/usr/bin/python3}"
: "${MI_PEERS_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/peers}"

# The stand-in IMDS's default role credentials (peers/fake_imds.py), which the stand-in
# Secrets Manager accepts by default.
MI_IMDS_DEFAULT_ROLE=mailinit-test-role
MI_IMDS_DEFAULT_AKID=ASIAFAKEIMDS00000001
MI_IMDS_DEFAULT_SECRET_KEY=fakeSecretAccessKeyFromTheStandInImds0001
MI_IMDS_DEFAULT_TOKEN='FakeSessionTokenFromTheStandInImds//////////0001='

# mi_require_secretsmanager - skip (77) unless the stand-in can run: python3 with botocore,
# and openssl for the test CA.
mi_require_secretsmanager() {
	[[ -x $MI_PYTHON ]] || mi_skip "$MI_PYTHON is not installed"
	"$MI_PYTHON" -c 'import botocore.auth, botocore.credentials, botocore.awsrequest' \
		2>/dev/null || mi_skip "python3-botocore is not installed (the stand-in Secrets Manager needs it)"
	[[ -f $MI_PEERS_DIR/fake_secretsmanager.py ]] || mi_skip "peers/fake_secretsmanager.py is missing"
	mi_require openssl
}

# mi_test_ca [DIR] - a test CA and server certificates (peers/make_test_ca.sh), made once per
# test in DIR (default $MI_TMP/ca). Exports MI_CA_DIR.
mi_test_ca() {
	local dir=${1:-$MI_TMP/ca}
	if [[ ! -s $dir/ca.pem || ! -s $dir/server.pem || ! -s $dir/wrong-host.pem ]]; then
		bash "$MI_PEERS_DIR/make_test_ca.sh" "$dir" >"$dir.out" 2>&1 || {
			cat "$dir.out"
			mi_fail "make_test_ca.sh $dir failed"
		}
	fi
	MI_CA_DIR=$dir
	export MI_CA_DIR
}

# mi_aws_stand_in_config FILE DEFAULTS OVERRIDES - write (atomically: the stand-in notices
# the new file) the configuration of a stand-in AWS service (Secrets Manager, SES API v2):
# region eu-west-1, the stand-in IMDS's default role credentials, no faults, then the
# top-level keys of the JSON objects DEFAULTS and OVERRIDES in turn. A secret given as
# {"SecretJSON": VALUE, ...} gets SecretString = VALUE as compact JSON text. Status 1 on bad JSON.
mi_aws_stand_in_config() {
	"$MI_PYTHON" - "$1" "$2" "$3" "$MI_IMDS_DEFAULT_AKID" "$MI_IMDS_DEFAULT_SECRET_KEY" \
		"$MI_IMDS_DEFAULT_TOKEN" "$MI_IMDS_DEFAULT_ROLE" <<'EOF'
import json, os, sys
path, defaults, overrides, key_id, secret_key, token, role = sys.argv[1:]
config = {
    "region": "eu-west-1",
    "credentials": [{
        "access_key_id": key_id,
        "secret_access_key": secret_key,
        "session_token": token,
        "role": role,
    }],
    "faults": [],
}
config.update(json.loads(defaults))
config.update(json.loads(overrides))
for spec in (config.get("secrets") or {}).values():
    if isinstance(spec, dict) and "SecretJSON" in spec:
        spec["SecretString"] = json.dumps(spec.pop("SecretJSON"), separators=(",", ":"))
tmp = path + ".tmp"
with open(tmp, "w") as f:
    json.dump(config, f, indent=2)
os.replace(tmp, path)
EOF
}

# mi_sm_config FILE [JSON-OBJECT] - write a stand-in Secrets Manager configuration
# (mi_aws_stand_in_config): region eu-west-1, the stand-in IMDS's default role credentials,
# no secrets, no faults; the top-level keys of JSON-OBJECT replace these.
mi_sm_config() {
	local file=$1 overrides=${2:-'{}'}
	mi_aws_stand_in_config "$file" '{"secrets": {}}' "$overrides" ||
		mi_fail "mi_sm_config: bad JSON: $overrides"
}

# mi_postfix_root [SECRET-ID] - the --root $MI_DIR/root for firstboot in Postfix mode: the
# image's main.cf, and with SECRET-ID a mailinit.conf with mode = postfix and secret_id.
mi_postfix_root() {
	mkdir -p "$MI_DIR/root/etc/postfix"
	printf '# main.cf of the image\nmyhostname = localhost\n' >"$MI_DIR/root/etc/postfix/main.cf"
	if [[ -n ${1:-} ]]; then
		mi_write_conf "mode = postfix
secret_id = $1
"
	fi
}

# mi_ses_smtp_password SECRET-KEY REGION - print the SES SMTP password derived from an IAM
# secret key, computed with Python's hmac/hashlib/base64 (an oracle independent of mailinit).
mi_ses_smtp_password() {
	"$MI_PYTHON" - "$1" "$2" <<'EOF'
import base64, hashlib, hmac, sys
def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()
k = sign(("AWS4" + sys.argv[1]).encode(), "11111111")
for part in (sys.argv[2], "ses", "aws4_request", "SendRawEmail"):
    k = sign(k, part)
print(base64.b64encode(b"\x04" + k).decode())
EOF
}

# mi_spawn_secretsmanager NAME CONFIG [--tls] - start the stand-in NAME without waiting for it.
# --tls: HTTPS with $MI_SM_CERT/$MI_SM_KEY (default: the test CA's server.pem, see mi_test_ca;
# the CA is made when missing).
mi_spawn_secretsmanager() {
	local name=$1 config=$2 tls=${3:-} pid
	local -a args=()
	[[ -f $config ]] || mi_fail "mi_spawn_secretsmanager: no such file: $config"
	case $config in
	/*) ;;
	*) config=$PWD/$config ;;
	esac
	if [[ $tls == --tls ]]; then
		[[ -n ${MI_SM_CERT:-} ]] || mi_test_ca
		args=(--tls-cert "${MI_SM_CERT:-$MI_CA_DIR/server.pem}" --tls-key "${MI_SM_KEY:-$MI_CA_DIR/server.key}")
		echo https >"$MI_DIR/sm-$name.scheme"
	elif [[ -n $tls ]]; then
		mi_fail "mi_spawn_secretsmanager: unknown option $tls"
	else
		echo http >"$MI_DIR/sm-$name.scheme"
	fi
	rm -f "$MI_DIR/sm-$name.port"
	: >"$MI_DIR/sm-$name.log"
	echo "$config" >"$MI_DIR/sm-$name.config"
	"$MI_PYTHON" "$MI_PEERS_DIR/fake_secretsmanager.py" --config "$config" \
		--port-file "$MI_DIR/sm-$name.port" --log "$MI_DIR/sm-$name.log" --bind 127.0.0.1 \
		"${args[@]}" >"$MI_DIR/sm-$name.stdout" 2>"$MI_DIR/sm-$name.stderr" &
	pid=$!
	MI_PIDS+=("$pid")
	echo "$pid" >>"$MI_TMP/.pids"
	echo "$pid" >"$MI_DIR/sm-$name.pid"
}

# mi_wait_secretsmanager NAME - wait (up to 30 s) until the stand-in NAME listens, then make
# it the current one (mi_use_secretsmanager).
mi_wait_secretsmanager() {
	local name=$1 pid i
	pid=$(<"$MI_DIR/sm-$name.pid")
	for ((i = 0; i < 600; i++)); do
		[[ -s $MI_DIR/sm-$name.port ]] && break
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$MI_DIR/sm-$name.stderr"
			mi_fail "the stand-in Secrets Manager '$name' exited at start"
		fi
		sleep 0.05
	done
	[[ -s $MI_DIR/sm-$name.port ]] || mi_fail "the stand-in Secrets Manager '$name' wrote no port within 30 s"
	mi_use_secretsmanager "$name"
}

# mi_use_secretsmanager NAME [DIR] - make the stand-in NAME (started with MI_DIR=DIR, default
# $MI_TMP then $MI_DIR) the current one: exports MI_SM_URL, MI_SM_LOG, MI_SM_PID, MI_SM_CONFIG,
# AWS_ENDPOINT_URL_SECRETS_MANAGER (and AWS_CA_BUNDLE for an HTTPS one, when not set).
mi_use_secretsmanager() {
	local name=$1 dir=${2:-}
	if [[ -z $dir ]]; then
		dir=$MI_DIR
		[[ -s $MI_TMP/sm-$name.port ]] && dir=$MI_TMP
	fi
	[[ -s $dir/sm-$name.port ]] || mi_fail "mi_use_secretsmanager: no stand-in '$name' in $dir"
	MI_SM_URL=$(<"$dir/sm-$name.scheme")://127.0.0.1:$(<"$dir/sm-$name.port")
	MI_SM_LOG=$dir/sm-$name.log
	MI_SM_PID=$(<"$dir/sm-$name.pid")
	MI_SM_CONFIG=$(<"$dir/sm-$name.config")
	AWS_ENDPOINT_URL_SECRETS_MANAGER=$MI_SM_URL
	export MI_SM_URL MI_SM_LOG MI_SM_PID MI_SM_CONFIG AWS_ENDPOINT_URL_SECRETS_MANAGER
	if [[ $MI_SM_URL == https:* && -z ${AWS_CA_BUNDLE:-} && -n ${MI_CA_DIR:-} ]]; then
		AWS_CA_BUNDLE=$MI_CA_DIR/ca.pem
		export AWS_CA_BUNDLE
	fi
	MI_SM_MARK=0
}

# mi_start_secretsmanager CONFIG [--tls] - start the stand-in "sm" and wait for it; it is the
# current one (see mi_use_secretsmanager).
mi_start_secretsmanager() {
	mi_spawn_secretsmanager sm "$@"
	mi_wait_secretsmanager sm
}

# mi_sm_mark - later counts (mi_sm_count, mi_sm_assert_count, mi_sm_new_lines) only look at
# the current stand-in's log lines written after this point (to share one between scenarios).
mi_sm_mark() {
	MI_SM_MARK=$(grep -c '' "$MI_SM_LOG" || true)
}

# mi_sm_new_lines - print the current stand-in's log lines since mi_sm_mark.
mi_sm_new_lines() {
	tail -n "+$((${MI_SM_MARK:-0} + 1))" "$MI_SM_LOG"
}

# mi_sm_count REGEX - how many log lines since mi_sm_mark match REGEX (extended).
mi_sm_count() {
	mi_sm_new_lines | grep -Ec -- "$1" || true
}

# mi_sm_assert_count REGEX WANT - exactly WANT log lines since mi_sm_mark match REGEX.
mi_sm_assert_count() {
	local regex=$1 want=$2 got
	got=$(mi_sm_count "$regex")
	if [[ $got != "$want" ]]; then
		echo "--- stand-in Secrets Manager log ($MI_SM_LOG, since the mark):"
		mi_sm_new_lines | cut -c 1-600
		[[ -n ${MI_LAST:-} ]] && mi_show_run
		mi_fail "stand-in Secrets Manager log: $got line(s) match /$regex/, want $want"
	fi
}

# mi_sm_wait_settled [SECONDS] - wait until the current stand-in's log stops growing (0.3 s
# quiet, at most SECONDS, default 3): lines of a connection the client left are written
# when the stand-in notices.
mi_sm_wait_settled() {
	local limit=$((${1:-3} * 10)) i last=-1 now quiet=0
	for ((i = 0; i < limit; i++)); do
		now=$(grep -c '' "$MI_SM_LOG" || true)
		if [[ $now == "$last" ]]; then
			quiet=$((quiet + 1))
			((quiet >= 3)) && return 0
		else
			quiet=0
		fi
		last=$now
		sleep 0.1
	done
	return 0
}
