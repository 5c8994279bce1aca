#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/run.sh - mailinit against its peers, on this machine, in one run:
#   1+2. relay throughput and memory: Postfix's smtp-source into mailinit's relay and into a
#        private Postfix relay, both relaying to smtp-sink (no TLS) or to a STARTTLS + AUTH
#        sink; the machine's ceiling (smtp-source straight into smtp-sink)
#   3.   `sendmail -t -i`: mailinit's against Postfix's
#   4.   first boot: `mailinit firstboot` against a curl + aws CLI + jq + postmap + postconf
#        script, on the stand-in IMDS and Secrets Manager (hyperfine)
#   5.   cost growth: 1, 20, 200 sessions; 0, 10 000, 100 000 deferred messages in the queue
# The contenders alternate (their order rotates every round); every figure is the median
# over the rounds with the min-max range. Prints the tables; writes bench/results/DATE.md,
# and with --record bench/RESULTS.md.
#
# Usage (Debian 12, as root; installs what it needs with apt, builds mailinit in release
# mode in build-bench/; the full run takes about 20 minutes on 2 cores):
#   bench/run.sh [--quick] [--record] [--rounds N] [--parts 1,3,4,5]
#     --quick   small counts, to try the scripts (about 5 minutes)
#     --record  also write bench/RESULTS.md (the README quotes it)
#     --parts   a subset (1 includes 2)
# Nothing outside temporary directories (under $TMPDIR and /dev/shm) is touched: Postfix runs
# as private instances, never the system's.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
command_line="bench/run.sh${*:+ $*}"

quick=0 record=0 rounds='' parts=1,3,4,5
while (($# > 0)); do
	case $1 in
	--quick) quick=1 ;;
	--record) record=1 ;;
	--rounds) rounds=$2; shift ;;
	--parts) parts=$2; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | cut -c3-; exit 0 ;;
	*) echo "bench/run.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
	esac
	shift
done
[[ $(id -u) == 0 ]] || { echo "bench/run.sh: run as root (private Postfix instances, apt)" >&2; exit 77; }

if ((quick)); then
	: "${rounds:=2}"
	COUNT=500 SESSIONS=20 SENDMAIL_COUNT=50 FB_RUNS=3 GROWTH_COUNT=200 DEFERRED_SIZES="1000 10000"
else
	: "${rounds:=3}"
	COUNT=5000 SESSIONS=20 SENDMAIL_COUNT=500 FB_RUNS=5 GROWTH_COUNT=1000 DEFERRED_SIZES="10000 100000"
fi

# --- what it needs -----------------------------------------------------------------------
scripts/install-deps.sh
mapfile -t wanted < <(grep -v -e '^#' -e '^$' bench/debian-packages.txt)
missing=()
for p in "${wanted[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j"$(nproc)" --target mailinit spool_tool >/dev/null
export MAILINIT=$top/build-bench/mailinit
SPOOL_TOOL=$top/build-bench/tests/tools/spool_tool

# --- the run -----------------------------------------------------------------------------
. tests/integration/lib.sh
. tests/integration/lib_smtp.sh
. tests/integration/lib_relay.sh
. tests/integration/lib_secrets.sh
. bench/lib_bench.sh
. bench/part_relay.sh
. bench/part_sendmail.sh
. bench/part_firstboot.sh
mi_init
chmod 0711 "$MI_TMP" # Postfix's daemons and smtp-sink (users postfix, nobody) reach into it
# the relay started as root switches to mail_owner (mailinit) once bound, as in production
mi_ensure_system_users
BENCH_SHM=$(mktemp -d /dev/shm/mailinit-bench.XXXXXX)
bench__exit() {
	local rc=$?
	rm -rf -- "$BENCH_SHM"
	(exit "$rc")
	mi__cleanup
}
trap bench__exit EXIT
stamp=$(date -u +%Y%m%dT%H%M%SZ)
BENCH_OUT=$MI_TMP/out
mkdir -p "$BENCH_OUT" "$top/bench/results"
: >"$BENCH_OUT/measurements.jsonl"
started=$SECONDS
bench_log "bench: $([[ $quick == 1 ]] && echo quick || echo full) run, $rounds rounds; parts $parts; work in $MI_TMP"

mi_smtp_certs
bench_sink_start
has_part() { [[ ,$parts, == *,$1,* ]]; }
if has_part 1; then
	bench_tls_sink_start
	bench_part_relay "$rounds" "$COUNT" "$SESSIONS"
fi
has_part 3 && bench_part_sendmail "$rounds" "$SENDMAIL_COUNT"
has_part 4 && bench_part_firstboot "$rounds" "$FB_RUNS"
has_part 5 && bench_part_growth "$rounds" "$GROWTH_COUNT" "$DEFERRED_SIZES"
duration=$((SECONDS - started))

# --- the tables --------------------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
ram=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
"$MI_PYTHON" - "$BENCH_OUT/meta.json" <<EOF
import json, sys
json.dump({"count": $COUNT, "sessions": $SESSIONS, "sendmail_count": $SENDMAIL_COUNT,
           "growth_count": $GROWTH_COUNT, "rounds": $rounds}, open(sys.argv[1], "w"))
EOF
tables=$("$MI_PYTHON" "$top/bench/report.py" "$BENCH_OUT/measurements.jsonl" "$BENCH_OUT/meta.json")
document=$(
	cat <<EOF
# Benchmark results

Measured by \`$command_line\` on $(date -u '+%Y-%m-%d %H:%M UTC') in $((duration / 60)) min $((duration % 60)) s
($rounds rounds, contenders alternating; median [min-max]).

- Machine: $(nproc) CPUs ($cpu), $ram RAM, Linux $(uname -r); shared with other work while
  measured, hence the ranges.
- Versions: mailinit $(git -C "$top" describe --always --dirty 2>/dev/null || echo "?") (release build),
  Postfix $(postconf -d -h mail_version), $("${AWS_CLI:-/usr/bin/aws}" --version 2>&1 | cut -d' ' -f1),
  $(openssl version | cut -d' ' -f1-2), $(hyperfine --version).

$tables

How it is measured (bench/README.md has the details): every contender relays to the same
Postfix \`smtp-sink\` on loopback (its dumps on tmpfs, one file per message: "delivered" is
counted there). Postfix runs as a private instance with Postfix's defaults for concurrency,
process limits and durability (its \`cleanup\` fsyncs the queue file before \`smtpd\` answers
250); mailinit answers 250 only after the message file and the queue directory are fsynced.
The STARTTLS + AUTH sink is a Postfix \`smtpd\` requiring TLS and AUTH that proxies every
transaction to \`smtp-sink\` (\`smtpd_proxy_filter\`), the same for both contenders. Memory is
PSS from /proc/PID/smaps_rollup summed over the relay's process or over every process of the
Postfix instance (its master's process group), sampled every 100 ms. What the figures led
to (profiles, fixes, targets missed): bench/README.md, "Findings".
EOF
)
printf '%s\n' "$document" | tee "$top/bench/results/$stamp.md"
# the raw measurements next to it (one JSON object per trial or run, hyperfine's exports)
cp -r "$BENCH_OUT" "$top/bench/results/$stamp"
if ((record)); then
	printf '%s\n' "$document" >"$top/bench/RESULTS.md"
	bench_log "wrote bench/RESULTS.md"
fi
bench_log "bench: done in $((duration / 60)) min $((duration % 60)) s; bench/results/$stamp.md"
