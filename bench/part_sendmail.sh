# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# part_sendmail.sh - part 3 of bench/run.sh: COUNT sequential `sendmail -t -i` invocations
# (small message, run as root) with mailinit's sendmail (maildrop, picked up by the running
# relay) against Postfix's (/usr/sbin/sendmail -C DIR: postdrop, pickup), both relaying to
# smtp-sink. Per round and contender: the median latency of one invocation and the time
# until all COUNT reached the sink.
#
#   bench_part_sendmail ROUNDS COUNT

# bench__mailinit_sendmail_works ROOT - true when this build's sendmail queues mail (the
# command exists on the sendmail branch; before it, it answers "not available", exit 64)
bench__mailinit_sendmail_works() {
	printf 'To: sink@example.net\nSubject: probe\n\nprobe\n' |
		MAILINIT_ROOT=$1 "$MAILINIT" sendmail -t -i >"$MI_TMP/sendmail-probe.log" 2>&1
}

bench_part_sendmail() {
	local rounds=$1 count=$2 round c out
	local -a order
	bench_log "part 3: sendmail ($rounds rounds x $count invocations)"
	for ((round = 1; round <= rounds; round++)); do
		order=(mailinit postfix)
		((round % 2 == 0)) && order=(postfix mailinit)
		for c in "${order[@]}"; do
			bench_sink_clear
			bench_"${c}"_start "sendmail-$c" plain
			out=$MI_TMP/sendmail-$c-$round.json
			if [[ $c == mailinit ]]; then
				if ! bench__mailinit_sendmail_works "$BENCH_ROOT"; then
					bench_log "  mailinit sendmail is not available: $(head -1 "$MI_TMP/sendmail-probe.log")"
					bench_record "$(bench_json part=sendmail contender=mailinit round="$round" \
						unavailable="$(head -1 "$MI_TMP/sendmail-probe.log")")"
					bench_stop
					BENCH_ROOT=
					continue
				fi
				# the probe's message, delivered, is not one of the COUNT
				bench_wait_sink_count 1 30
				bench_sink_clear
				MAILINIT_ROOT=$BENCH_ROOT "$MI_PYTHON" "$BENCH_DIR/sendmail_trial.py" --count "$count" \
					--sink-dir "$BENCH_SINK_DIR" -- "$MAILINIT" sendmail -t -i >"$out" ||
					mi_fail "mailinit sendmail trial: $(cat "$out")"
			else
				"$MI_PYTHON" "$BENCH_DIR/sendmail_trial.py" --count "$count" --sink-dir "$BENCH_SINK_DIR" \
					-- /usr/sbin/sendmail -C "$MI_POSTFIX_DIR" -t -i >"$out" ||
					mi_fail "Postfix sendmail trial: $(cat "$out")"
			fi
			bench_record "$(bench_json part=sendmail contender="$c" round="$round" +="$(cat "$out")")"
			bench_log "  round $round $c: $(cat "$out")"
			bench_stop
			BENCH_ROOT=
		done
	done
}
