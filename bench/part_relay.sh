# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# part_relay.sh - parts 1, 2 and 5 of bench/run.sh: relay throughput and memory under
# smtp-source, mailinit against Postfix (and the machine's ceiling: smtp-source straight into
# smtp-sink), then the cost growth with the number of sessions and with a deferred queue.
#
#   bench_part_relay ROUNDS COUNT SESSIONS   parts 1+2: variants plain and tls; the order of
#                                            the contenders rotates from round to round
#   bench_part_growth ROUNDS COUNT SIZES     part 5: 1, 20, 200 sessions (both contenders);
#                                            0 and SIZES ("10000 100000") deferred messages
#                                            in the queue (mailinit: startup, throughput)

# bench__trial PART VARIANT CONTENDER ROUND SESSIONS COUNT [DEFERRED] - one load trial, recorded
bench__trial() {
	local part=$1 variant=$2 c=$3 round=$4 sessions=$5 count=$6 deferred=${7:-0} out port
	local -a mem=()
	bench_sink_clear
	case $c in
	direct) port=$SINK_PORT ;;
	mailinit)
		if ((deferred > 0)); then
			# a port chosen now: one chosen when the queue was made may be taken since
			BENCH_ROOT=$MI_TMP/deferred-$deferred/root
			BENCH_PORT=$(mi_free_port)
			sed -i "s/^listen = .*/listen = 127.0.0.1:$BENCH_PORT/" "$BENCH_ROOT/etc/mailinit/mailinit.conf"
		fi
		bench_mailinit_start "$part-$variant-$c${deferred:+-d$deferred}" "$variant"
		# steady throughput: once the queue on disk is read (start-up is measured apart)
		((deferred > 0)) && bench_mailinit_wait_queue_read
		port=$BENCH_PORT
		;;
	postfix)
		bench_postfix_start "$part-$variant-$c" "$variant"
		port=$BENCH_PORT
		;;
	esac
	[[ $c != direct ]] && mem=(--memory "$BENCH_MEMORY")
	out=$MI_TMP/trial-$part-$variant-$c-$sessions-$deferred-$round.json
	"$MI_PYTHON" "$BENCH_DIR/load_trial.py" --port "$port" --sessions "$sessions" --count "$count" \
		--sink-dir "$BENCH_SINK_DIR" "${mem[@]}" --timeout 600 >"$out" || {
		[[ -n ${BENCH_LOG:-} && $c != direct ]] && tail -n 20 "$BENCH_LOG" >&2
		mi_fail "trial $part/$variant/$c/$sessions sessions/$deferred deferred: $(cat "$out")"
	}
	bench_record "$(bench_json part="$part" variant="$variant" contender="$c" round="$round" \
		sessions="$sessions" deferred="$deferred" startup_s="${BENCH_STARTUP_S:-0}" \
		queue_read_s="${BENCH_QUEUE_READ_S:-0}" +="$(cat "$out")")"
	bench_log "  round $round $variant $c s=$sessions d=$deferred: $(cat "$out")"
	[[ $c != direct ]] && bench_stop
	BENCH_STARTUP_S=
	BENCH_QUEUE_READ_S=
	BENCH_ROOT=
	BENCH_LOG=
}

# bench__rotate ROUND ITEM... - the items rotated by ROUND-1 (A B C, B C A, C A B, ...)
bench__rotate() {
	local round=$1 n i
	shift
	n=$#
	local -a items=("$@")
	for ((i = 0; i < n; i++)); do
		printf '%s\n' "${items[(i + round - 1) % n]}"
	done
}

bench_part_relay() {
	local rounds=$1 count=$2 sessions=$3 round variant c
	bench_log "part 1+2: relay throughput and memory ($rounds rounds, $count x 4 KB, $sessions sessions)"
	for ((round = 1; round <= rounds; round++)); do
		for variant in plain tls; do
			local -a contenders=(mailinit postfix)
			[[ $variant == plain ]] && contenders+=(direct)
			for c in $(bench__rotate "$round" "${contenders[@]}"); do
				bench__trial relay "$variant" "$c" "$round" "$sessions" "$count"
			done
		done
	done
}

# bench__deferred_queue N - a relay root whose spool holds N deferred messages (4 KB, next
# attempt in a day), written through relay/spool.c by spool_tool in groups of 1000
bench__deferred_queue() {
	local n=$1 dir=$MI_TMP/deferred-$1 root start
	root=$dir/root
	[[ -d $root ]] && return 0
	BENCH_ROOT=
	bench_mailinit_prepare "deferred-$n" plain
	head -c 3000 /dev/zero | tr '\0' x | fold -w 76 | sed 's/$/\r/' >"$dir/body"
	{ printf 'Subject: deferred\r\n\r\n'; cat "$dir/body"; } >"$dir/message"
	start=$SECONDS
	"$SPOOL_TOOL" "$BENCH_SPOOL" create --count "$n" --batch 1000 --body-file "$dir/message" \
		--deferred-until $((EPOCHSECONDS + 86400)) --rcpt deferred@example.net >/dev/null ||
		mi_fail "spool_tool could not fill the queue"
	bench_log "  $n deferred messages written in $((SECONDS - start)) s"
	BENCH_ROOT=
}

bench_part_growth() {
	local rounds=$1 count=$2 sizes=$3 round c s d
	bench_log "part 5: cost growth ($rounds rounds, $count x 4 KB per trial)"
	for d in $sizes; do
		bench__deferred_queue "$d"
	done
	for ((round = 1; round <= rounds; round++)); do
		for s in $(bench__rotate "$round" 1 20 200); do
			for c in $(bench__rotate "$round" mailinit postfix); do
				bench__trial growth plain "$c" "$round" "$s" "$count"
			done
		done
		# shellcheck disable=SC2086 # sizes is a list
		for d in $(bench__rotate "$round" 0 $sizes); do
			bench__trial growth-queue plain mailinit "$round" 20 "$count" "$d"
		done
	done
}
