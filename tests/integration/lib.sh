# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2030,SC2031
# (SC2030/SC2031: mi_scenario runs each scenario in a subshell on purpose.)
# lib.sh - helpers every integration test sources (bash, safe under `set -euo pipefail`).
#
#   . "$(dirname "$0")/lib.sh"
#   mi_init                      # private $MI_TMP (also the working directory), cleanup trap
#   t_normal() {
#           mi_imds_config imds.json '{"role": null}'
#           mi_start_imds imds.json  # exports MI_IMDS_URL, AWS_EC2_METADATA_SERVICE_ENDPOINT, MI_IMDS_LOG
#           mi_run run1 "$MAILINIT" firstboot --dry-run --root "$MI_DIR/root"
#           mi_assert_rc 0
#           mi_assert_grep run1.out '^mode *= builtin *# default'
#   }
#   mi_scenario normal t_normal  # in a subshell, in its own directory $MI_DIR; failures counted
#   mi_finish                    # summary; exit 1 when a scenario failed
#
# The helpers also work outside mi_scenario (then a failure ends the script at once).
#
# Environment: MAILINIT (the binary under test; default $MAILINIT_SOURCE_DIR/build/mailinit),
# MAILINIT_SOURCE_DIR (default: two levels above this file), MAILINIT_BUILD_DIR,
# MI_KEEP=1 keeps $MI_TMP after the test, MI_RUN_TIMEOUT (seconds, default 60) bounds mi_run,
# MI_SCENARIOS (scenario names separated by spaces) runs only those scenarios.

MI_PYTHON=/usr/bin/python3
MI_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MI_PEERS_DIR=$MI_LIB_DIR/peers
: "${MAILINIT_SOURCE_DIR:=$(cd "$MI_LIB_DIR/../.." && pwd)}"
: "${MAILINIT_BUILD_DIR:=$MAILINIT_SOURCE_DIR/build}"
: "${MAILINIT:=$MAILINIT_SOURCE_DIR/build/mailinit}"
export MAILINIT MAILINIT_SOURCE_DIR MAILINIT_BUILD_DIR

MI_TMP=
MI_DIR=
MI_PIDS=()
MI_PASSED=()
MI_FAILED=()
MI_IMDS_COUNT=0
MI_RC=0
MI_LAST=
MI_ELAPSED_MS=0
export MI_RSS_KB=0

# mi__kill PID... - stop background peers: TERM, up to 3 s, then KILL.
mi__kill() {
	local pid i
	for pid in "$@"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "$@"; do
		for ((i = 0; i < 60; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	return 0
}

# mi__forget PID... - drop stopped peers from $MI_TMP/.pids (so no reused PID is signalled).
mi__forget() {
	local pid keep gone
	local -a left=()
	[[ -n $MI_TMP && -f $MI_TMP/.pids ]] || return 0
	while read -r pid; do
		keep=1
		for gone in "$@"; do
			[[ $pid == "$gone" ]] && keep=0
		done
		((keep)) && left+=("$pid")
	done <"$MI_TMP/.pids"
	printf '%s\n' "${left[@]}" | grep . >"$MI_TMP/.pids.new" || true
	mv -f "$MI_TMP/.pids.new" "$MI_TMP/.pids"
}

# mi__drop_peer PID - forget a stopped peer: out of MI_PIDS and $MI_TMP/.pids.
mi__drop_peer() {
	local pid
	local -a left=()
	for pid in "${MI_PIDS[@]}"; do
		[[ $pid == "$1" ]] || left+=("$pid")
	done
	MI_PIDS=("${left[@]}")
	mi__forget "$1"
}

# mi__stop_peer VARIABLE - stop the peer whose PID the variable holds (none when empty) and
# forget it (mi__kill, mi__drop_peer); the variable is emptied.
mi__stop_peer() {
	local pid=${!1:-}
	[[ -n $pid ]] || return 0
	mi__kill "$pid"
	mi__drop_peer "$pid"
	printf -v "$1" '%s' ''
}

# mi__cleanup - the EXIT trap: stop every peer started through the library (by PID, also those
# of scenario subshells, recorded in $MI_TMP/.pids), remove $MI_TMP unless MI_KEEP=1.
mi__cleanup() {
	local rc=$? pid
	local -a pids=()
	set +e
	if [[ -n $MI_TMP && -f $MI_TMP/.pids ]]; then
		while read -r pid; do
			[[ $pid =~ ^[0-9]+$ ]] && pids+=("$pid")
		done <"$MI_TMP/.pids"
	fi
	mi__kill "${MI_PIDS[@]}" "${pids[@]}"
	cd / || true
	if [[ -n $MI_TMP && -d $MI_TMP ]]; then
		if [[ ${MI_KEEP:-0} == 1 ]]; then
			echo "kept $MI_TMP" >&2
		else
			rm -rf -- "$MI_TMP"
		fi
	fi
	exit "$rc"
}

# mi_init - start a test: clean environment, private temp dir (cwd), cleanup trap.
mi_init() {
	local var
	# Nothing inherited may steer the binary: AWS settings and proxies are set by each test.
	for var in $(compgen -e); do
		case $var in
		AWS_* | http_proxy | HTTP_PROXY | https_proxy | HTTPS_PROXY | all_proxy | ALL_PROXY | \
			no_proxy | NO_PROXY | MAILINIT_ROOT | DBUS_SYSTEM_BUS_ADDRESS | NOTIFY_SOCKET)
			unset "$var" ;;
		esac
	done
	case $MAILINIT in
	/*) ;;
	*) MAILINIT=$PWD/$MAILINIT ;;
	esac
	export MAILINIT
	MI_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mailinit-test.XXXXXX")
	MI_DIR=$MI_TMP
	export MI_TMP MI_DIR
	trap mi__cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	cd "$MI_TMP"
	[[ -x $MAILINIT ]] || mi_fail "the binary under test is missing: MAILINIT=$MAILINIT (build it, or set MAILINIT)"
	[[ -x $MI_PYTHON ]] || mi_skip "$MI_PYTHON is not installed"
}

# mi_skip MSG - exit 77 (CTest SKIP_RETURN_CODE).
mi_skip() {
	echo "SKIP: $*"
	exit 77
}

# mi_require CMD... - skip the test (77) when a command is missing.
mi_require() {
	local cmd
	for cmd in "$@"; do
		command -v "$cmd" >/dev/null 2>&1 || mi_skip "$cmd is not installed"
	done
}

# mi_fail MSG - report a failure and exit 1.
mi_fail() {
	echo "FAIL: $*"
	if [[ -n ${MI_IMDS_LOG:-} && -s ${MI_IMDS_LOG:-} ]]; then
		echo "--- IMDS request log ($MI_IMDS_LOG, last 30 lines):"
		tail -n 30 "$MI_IMDS_LOG"
	fi
	exit 1
}

# mi__scenario_cleanup - EXIT trap of a scenario subshell: stop the peers it started.
mi__scenario_cleanup() {
	local rc=$?
	set +e
	mi__kill "${MI_PIDS[@]}"
	mi__forget "${MI_PIDS[@]}"
	exit "$rc"
}

# mi_scenario NAME FUNC [ARG...] - run one scenario in a subshell (errexit on), in its own
# directory $MI_TMP/NAME ($MI_DIR, the working directory); its peers are stopped at its end.
# Prints "ok: NAME" or "FAIL..." lines; the script goes on with the next scenario.
# Nothing runs when MI_SCENARIOS is set and does not name NAME.
mi_scenario() {
	local name=$1 rc start end
	shift
	[[ -z ${MI_SCENARIOS:-} || " $MI_SCENARIOS " == *" $name "* ]] || return 0
	start=${EPOCHREALTIME/[.,]/}
	echo "=== $name"
	set +e
	(
		set -euo pipefail
		MI_PIDS=()
		MI_DIR=$MI_TMP/$name
		MI_IMDS_COUNT=0
		MI_IMDS_LOG=
		MI_LAST=
		trap mi__scenario_cleanup EXIT
		mkdir -p "$MI_DIR"
		cd "$MI_DIR"
		"$@"
	)
	rc=$?
	set -e
	end=${EPOCHREALTIME/[.,]/}
	if ((rc == 0)); then
		echo "ok: $name ($(((end - start) / 1000)) ms)"
		MI_PASSED+=("$name")
	elif ((rc == 77)); then
		echo "skip: $name"
	else
		echo "not ok: $name (exit $rc, $(((end - start) / 1000)) ms)"
		MI_FAILED+=("$name")
	fi
	return 0
}

# mi_finish - summary of the scenarios; exit 1 when one failed, 77 when none ran.
mi_finish() {
	echo "=== ${#MI_PASSED[@]} passed, ${#MI_FAILED[@]} failed${MI_FAILED:+: ${MI_FAILED[*]}}"
	((${#MI_FAILED[@]} == 0)) || exit 1
	((${#MI_PASSED[@]} > 0)) || exit 77
	exit 0
}

# mi_imds_config FILE [JSON-OBJECT] - write a stand-in IMDS configuration: a normal instance
# (role, tags exposed with only Name, no user-data), with the top-level keys of JSON-OBJECT
# replacing the defaults ('{"role": null, "faults": [...]}').
mi_imds_config() {
	local file=$1 overrides=${2:-'{}'}
	"$MI_PYTHON" - "$file" "$overrides" <<'EOF'
import json, sys
config = {
    "instance_id": "i-0123456789abcdef0",
    "region": "eu-west-1",
    "local_hostname": "ip-10-0-0-10.eu-west-1.compute.internal",
    "role": "mailinit-test-role",
    "credentials": {"code": "Success", "expiration": 21600},
    "tags": {"Name": "web"},
    "allow_v1": False,
    "faults": [],
}
config.update(json.loads(sys.argv[2]))
with open(sys.argv[1], "w") as f:
    json.dump(config, f, indent=2)
EOF
}

# mi_start_imds CONFIG_JSON_FILE - start the stand-in IMDS on 127.0.0.1:<free port>.
# Exports MI_IMDS_URL, AWS_EC2_METADATA_SERVICE_ENDPOINT (= MI_IMDS_URL), MI_IMDS_LOG, MI_IMDS_PID.
mi_start_imds() {
	local config=$1 n port_file log i
	[[ -f $config ]] || mi_fail "mi_start_imds: no such file: $config"
	MI_IMDS_COUNT=$((MI_IMDS_COUNT + 1))
	n=$MI_IMDS_COUNT
	port_file=$MI_DIR/imds.$n.port
	log=$MI_DIR/imds.$n.log
	: >"$log"
	"$MI_PYTHON" "$MI_PEERS_DIR/fake_imds.py" --config "$config" --port-file "$port_file" \
		--log "$log" --bind 127.0.0.1 >"$MI_DIR/imds.$n.stdout" 2>"$MI_DIR/imds.$n.stderr" &
	MI_IMDS_PID=$!
	MI_PIDS+=("$MI_IMDS_PID")
	echo "$MI_IMDS_PID" >>"$MI_TMP/.pids"
	for ((i = 0; i < 200; i++)); do
		[[ -s $port_file ]] && break
		if ! kill -0 "$MI_IMDS_PID" 2>/dev/null; then
			cat "$MI_DIR/imds.$n.stderr"
			mi_fail "the stand-in IMDS exited at start"
		fi
		sleep 0.05
	done
	[[ -s $port_file ]] || mi_fail "the stand-in IMDS wrote no port within 10 s"
	MI_IMDS_URL=http://127.0.0.1:$(<"$port_file")
	AWS_EC2_METADATA_SERVICE_ENDPOINT=$MI_IMDS_URL
	MI_IMDS_LOG=$log
	export MI_IMDS_URL AWS_EC2_METADATA_SERVICE_ENDPOINT MI_IMDS_LOG MI_IMDS_PID
}

# mi_stop_imds - stop the stand-in IMDS started last (to reuse the test for another config).
mi_stop_imds() {
	mi__stop_peer MI_IMDS_PID
}

# mi_closed_port - print a loopback TCP port on which nothing listens (bound, then closed).
mi_closed_port() {
	"$MI_PYTHON" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# mi_run OUTPREFIX CMD... - run CMD with stdin from /dev/null, stdout to OUTPREFIX.out,
# stderr to OUTPREFIX.err; exit code in MI_RC, wall time in MI_ELAPSED_MS. Never aborts.
# A relative OUTPREFIX lands in $MI_DIR (the working directory). Bounded by MI_RUN_TIMEOUT.
mi_run() {
	local prefix=$1 start end
	shift
	MI_LAST=$prefix
	MI_OUT=$prefix.out
	MI_ERR=$prefix.err
	MI_RC=0
	start=${EPOCHREALTIME/[.,]/}
	if command -v timeout >/dev/null 2>&1; then
		timeout -k 5 "${MI_RUN_TIMEOUT:-60}" "$@" <"/dev/null" >"$MI_OUT" 2>"$MI_ERR" || MI_RC=$?
	else
		"$@" <"/dev/null" >"$MI_OUT" 2>"$MI_ERR" || MI_RC=$?
	fi
	end=${EPOCHREALTIME/[.,]/}
	MI_ELAPSED_MS=$(((end - start) / 1000))
	return 0
}

# mi_show_run - print the captured output of the last mi_run.
mi_show_run() {
	echo "--- stdout ($MI_LAST.out):"
	cat "$MI_LAST.out" 2>/dev/null || true
	echo "--- stderr ($MI_LAST.err):"
	cat "$MI_LAST.err" 2>/dev/null || true
	echo "--- (exit $MI_RC after ${MI_ELAPSED_MS} ms)"
}

# mi_assert_rc WANT - the exit code of the last mi_run.
mi_assert_rc() {
	local want=$1
	if [[ $MI_RC != "$want" ]]; then
		echo "exit code: want $want, got $MI_RC"
		mi_show_run
		mi_fail "$MI_LAST: exit code $MI_RC, want $want"
	fi
}

# mi_assert_grep FILE REGEX - FILE has a line matching the extended regular expression.
mi_assert_grep() {
	local file=$1 regex=$2
	if ! grep -Eq -- "$regex" "$file" 2>/dev/null; then
		echo "--- $file:"
		cat "$file" 2>/dev/null || echo "(missing)"
		mi_fail "$file: no line matches /$regex/"
	fi
}

# mi_assert_no_grep FILE REGEX - no line of FILE matches.
mi_assert_no_grep() {
	local file=$1 regex=$2
	if grep -Eq -- "$regex" "$file" 2>/dev/null; then
		echo "--- $file:"
		cat "$file"
		mi_fail "$file: a line matches /$regex/"
	fi
}

# mi_assert_empty FILE - FILE exists and is empty.
mi_assert_empty() {
	local file=$1
	[[ -f $file ]] || mi_fail "$file: missing"
	if [[ -s $file ]]; then
		echo "--- $file:"
		cat "$file"
		mi_fail "$file: not empty"
	fi
}

# mi_assert_lines FILE N - FILE has exactly N lines.
mi_assert_lines() {
	local file=$1 want=$2 got
	got=$(grep -c '' "$file" || true)
	if [[ $got != "$want" ]]; then
		echo "--- $file:"
		cat "$file"
		mi_fail "$file: $got line(s), want $want"
	fi
}

# mi_assert_error REGEX - the last run failed with exactly one line on stderr, starting with
# "mailinit: error: " and matching REGEX (extended, case-insensitive), and nothing on stdout.
mi_assert_error() {
	local regex=$1
	if [[ -s $MI_OUT ]]; then
		mi_show_run
		mi_fail "$MI_LAST: a failed run printed on stdout (partial output)"
	fi
	if [[ $(grep -c '' "$MI_ERR") != 1 ]] || ! grep -q '^mailinit: error: ' "$MI_ERR"; then
		mi_show_run
		mi_fail "$MI_LAST: want exactly one line on stderr starting with 'mailinit: error: '"
	fi
	if ! grep -Eiq -- "$regex" "$MI_ERR"; then
		mi_show_run
		mi_fail "$MI_LAST: the error does not match /$regex/ (case-insensitive)"
	fi
}

# mi_assert_faster MS - the last mi_run took less than MS milliseconds.
mi_assert_faster() {
	local limit=$1
	if ((MI_ELAPSED_MS >= limit)); then
		mi_show_run
		mi_fail "$MI_LAST: took ${MI_ELAPSED_MS} ms, want < ${limit} ms"
	fi
}

# mi_count_log REGEX - print how many lines of the IMDS request log match (extended regex).
# Lines are compact JSON: {"method":"GET","path":"/latest/meta-data/instance-id","has_token":true,
# "token_ttl":null,"x_forwarded_for":false,"status":200,"action":null,...}
mi_count_log() {
	grep -Ec -- "$1" "$MI_IMDS_LOG" || true
}

# mi_assert_count REGEX WANT - exactly WANT lines of the IMDS log match REGEX.
mi_assert_count() {
	local regex=$1 want=$2 got
	got=$(mi_count_log "$regex")
	if [[ $got != "$want" ]]; then
		echo "--- IMDS request log:"
		cat "$MI_IMDS_LOG"
		[[ -n $MI_LAST ]] && mi_show_run
		mi_fail "IMDS log: $got request(s) match /$regex/, want $want"
	fi
}

# mi_setting FILE KEY - print "VALUE|SOURCE|ORIGIN" of the dry-run line for KEY
# ("KEY = VALUE # SOURCE (ORIGIN)"); nothing when KEY has no line.
mi_setting() {
	local file=$1 key=$2 line re
	re='^([^ #]+) +=( (.*[^ ]))? +# ([a-z-]+) \((.*)\)$'
	while IFS= read -r line; do
		if [[ $line =~ $re && ${BASH_REMATCH[1]} == "$key" ]]; then
			printf '%s|%s|%s\n' "${BASH_REMATCH[3]}" "${BASH_REMATCH[4]}" "${BASH_REMATCH[5]}"
			return 0
		fi
	done <"$file"
	return 0
}

# mi_assert_setting FILE KEY VALUE SOURCE [ORIGIN-REGEX] - the dry-run shows KEY with exactly
# VALUE (trailing padding ignored) from SOURCE, and an origin matching ORIGIN-REGEX.
mi_assert_setting() {
	local file=$1 key=$2 value=$3 source=$4 origin=${5:-} got
	got=$(mi_setting "$file" "$key")
	if [[ -z $got ]]; then
		echo "--- $file:"
		cat "$file"
		mi_fail "$file: no line for '$key'"
	fi
	if [[ ${got%%|*} != "$value" ]]; then
		echo "--- $file:"
		cat "$file"
		mi_fail "$file: $key: value '${got%%|*}', want '$value'"
	fi
	got=${got#*|}
	if [[ ${got%%|*} != "$source" ]]; then
		echo "--- $file:"
		cat "$file"
		mi_fail "$file: $key: source '${got%%|*}', want '$source'"
	fi
	got=${got#*|}
	if [[ -n $origin ]] && ! [[ $got =~ $origin ]]; then
		echo "--- $file:"
		cat "$file"
		mi_fail "$file: $key: origin '$got', want /$origin/"
	fi
}

# mi_run_rss OUTPREFIX CMD... - mi_run, and the peak resident size of CMD in KiB in MI_RSS_KB.
mi_run_rss() {
	local prefix=$1
	shift
	mi_run "$prefix" "$MI_PYTHON" -c '
import os, resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    f.write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc if rc >= 0 else 128 - rc)' "$prefix.rss" "$@"
	MI_RSS_KB=$(cat "$prefix.rss" 2>/dev/null || echo 0)
}

# mi_dry_run OUTPREFIX [ARG...] - mi_run "$MAILINIT firstboot --dry-run --root $MI_DIR/root ARG...".
# The root is created empty when missing; write $MI_DIR/root/etc/mailinit/mailinit.conf first
# to test the configuration file.
mi_dry_run() {
	local prefix=$1
	shift
	mkdir -p "$MI_DIR/root"
	mi_run "$prefix" "$MAILINIT" firstboot --dry-run --root "$MI_DIR/root" "$@"
}

# mi_write_conf TEXT - write TEXT (printf %s; add the newlines) as the root's mailinit.conf.
mi_write_conf() {
	mkdir -p "$MI_DIR/root/etc/mailinit"
	printf '%s' "$1" >"$MI_DIR/root/etc/mailinit/mailinit.conf"
}

# mi_snapshot DIR - print a listing of DIR (paths, sizes, modes, mtimes) to compare before/after.
mi_snapshot() {
	(cd "$1" && find . -printf '%p %s %m %T@\n' | sort)
}
