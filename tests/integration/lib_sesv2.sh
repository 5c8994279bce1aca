# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# lib_sesv2.sh - the stand-in SES API v2 (peers/fake_sesv2.py) for integration tests. Source it
# after lib.sh and lib_secrets.sh (mi_test_ca, mi_aws_stand_in_config); call mi_init first:
#
#   mi_require_sesv2                     # exit 77 without python3-botocore
#   mi_sesv2_config ses.json '{"faults": [...]}'
#   mi_start_sesv2 ses.json [--tls]      # exports MI_SES_URL, MI_SES_LOG, MI_SES_MSGS,
#                                        # MI_SES_PID, MI_SES_CONFIG, AWS_ENDPOINT_URL_SESV2
#   mi_sesv2_wait_count '"status":200' 1 [TIMEOUT]
#   mi_sesv2_relay_setup [EXTRA-CONF-LINES]   # a relay root with relay_transport = ses-api
#
# The stand-in binds 127.0.0.1 on a port the OS hands out; lib.sh's cleanup stops it. It reads
# its configuration again when the file is replaced (mi_sesv2_config "$MI_SES_CONFIG" ...).

: "${MI_PYTHON:=/usr/bin/python3}"
: "${MI_PEERS_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/peers}"

# mi_require_sesv2 - skip (77) unless the stand-in can run (python3 with botocore).
mi_require_sesv2() {
	[[ -x $MI_PYTHON ]] || mi_skip "$MI_PYTHON is not installed"
	"$MI_PYTHON" -c 'import botocore.auth, botocore.credentials, botocore.awsrequest' \
		2>/dev/null || mi_skip "python3-botocore is not installed (the stand-in SES API needs it)"
	[[ -f $MI_PEERS_DIR/fake_sesv2.py ]] || mi_skip "peers/fake_sesv2.py is missing"
}

# mi_sesv2_config FILE [JSON-OBJECT] - write a stand-in configuration (lib_secrets.sh's
# mi_aws_stand_in_config): region eu-west-1, the stand-in IMDS's default role credentials, no
# faults; the top-level keys of JSON-OBJECT replace these.
mi_sesv2_config() {
	local file=$1 overrides=${2:-'{}'}
	mi_aws_stand_in_config "$file" '{}' "$overrides" || mi_fail "mi_sesv2_config: bad JSON: $overrides"
}

# mi_start_sesv2 CONFIG [--tls] - start the stand-in and wait (up to 30 s) until it listens.
# --tls: HTTPS with the test CA's server.pem (mi_test_ca; AWS_CA_BUNDLE is set to its ca.pem).
mi_start_sesv2() {
	local config=$1 tls=${2:-} scheme=http pid i
	local -a args=()
	case $config in
	/*) ;;
	*) config=$PWD/$config ;;
	esac
	if [[ $tls == --tls ]]; then
		[[ -n ${MI_CA_DIR:-} ]] || mi_test_ca
		args=(--tls-cert "$MI_CA_DIR/server.pem" --tls-key "$MI_CA_DIR/server.key")
		scheme=https
		AWS_CA_BUNDLE=$MI_CA_DIR/ca.pem
		export AWS_CA_BUNDLE
	fi
	MI_SES_LOG=$MI_DIR/ses.log
	MI_SES_MSGS=$MI_DIR/ses-messages
	MI_SES_CONFIG=$config
	rm -f "$MI_DIR/ses.port"
	: >"$MI_SES_LOG"
	"$MI_PYTHON" "$MI_PEERS_DIR/fake_sesv2.py" --config "$config" --port-file "$MI_DIR/ses.port" \
		--messages-dir "$MI_SES_MSGS" --log "$MI_SES_LOG" --bind 127.0.0.1 "${args[@]}" \
		>"$MI_DIR/ses.stdout" 2>"$MI_DIR/ses.stderr" &
	pid=$!
	MI_PIDS+=("$pid")
	echo "$pid" >>"$MI_TMP/.pids"
	for ((i = 0; i < 600; i++)); do
		[[ -s $MI_DIR/ses.port ]] && break
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$MI_DIR/ses.stderr"
			mi_fail "the stand-in SES API exited at start"
		fi
		sleep 0.05
	done
	[[ -s $MI_DIR/ses.port ]] || mi_fail "the stand-in SES API wrote no port within 30 s"
	MI_SES_PID=$pid
	MI_SES_URL=$scheme://127.0.0.1:$(<"$MI_DIR/ses.port")
	AWS_ENDPOINT_URL_SESV2=$MI_SES_URL
	export MI_SES_URL MI_SES_LOG MI_SES_MSGS MI_SES_PID MI_SES_CONFIG AWS_ENDPOINT_URL_SESV2
}

# mi_sesv2_count REGEX - how many request log lines match REGEX (extended).
mi_sesv2_count() {
	grep -Ec -- "$1" "$MI_SES_LOG" || true
}

# mi_sesv2_wait_count REGEX WANT [TIMEOUT] - until at least WANT log lines match.
mi_sesv2_wait_count() {
	local regex=$1 want=$2 limit=${3:-20} i n=0
	for ((i = 0; i < limit * 10; i++)); do
		n=$(mi_sesv2_count "$regex")
		((n >= want)) && return 0
		sleep 0.1
	done
	echo "--- stand-in SES API log ($MI_SES_LOG):"
	tail -n 20 "$MI_SES_LOG" | cut -c 1-600
	[[ -n ${MI_RELAY_LOG:-} && -f ${MI_RELAY_LOG:-} ]] && { echo "--- relay log:"; tail -n 30 "$MI_RELAY_LOG"; }
	mi_fail "stand-in SES API log: $n line(s) match /$regex/ after ${limit}s, want $want"
}

# mi_sesv2_relay_setup [EXTRA-CONF-LINES] - a relay root (mailinit.conf) that delivers with the
# SES API in eu-west-1; exports MI_RELAY_ROOT, MI_RELAY_PORT, MI_RELAY_SPOOL (see lib_relay.sh).
mi_sesv2_relay_setup() {
	mi__relay_root "${1:-}" 'relay_transport = ses-api' 'region = eu-west-1'
}
