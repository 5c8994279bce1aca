# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# part_firstboot.sh - part 4 of bench/run.sh: `mailinit firstboot` (builtin mode, postfix
# mode) against bench/firstboot_awscli.sh (curl + aws CLI + jq + postmap + postconf), on the
# same stand-ins (IMDSv2, Secrets Manager over HTTPS with SigV4 checked), timed by hyperfine.
# All three run --no-restart --no-mail (the script restarts nothing and sends nothing).
#
#   bench_part_firstboot ROUNDS RUNS   each round: one hyperfine with the three commands
#                                      (their order rotates between rounds), RUNS runs each

BENCH_SECRET_ID=mailinit/ses-smtp

bench__firstboot_peers() {
	mi_imds_config "$MI_TMP/fb-imds.json"
	mi_start_imds "$MI_TMP/fb-imds.json"
	mi_sm_config "$MI_TMP/fb-sm.json" "{\"secrets\": {\"$BENCH_SECRET_ID\": {\"SecretJSON\":
		{\"smtp_username\": \"$BENCH_SMTP_USER\", \"smtp_password\": \"$BENCH_SMTP_PASS\"}}}}"
	mi_start_secretsmanager "$MI_TMP/fb-sm.json" --tls
}

# bench__firstboot_setup - the three contenders' files: BENCH_FB_BUILTIN_ROOT (a root with
# mailinit.conf), BENCH_FB_POSTFIX_CONF (mailinit.conf for postfix mode) and its Postfix
# directory, BENCH_FB_SCRIPT_DIR (the script's Postfix directory)
bench__firstboot_setup() {
	local relayhost="[127.0.0.1]:2587"
	BENCH_FB_BUILTIN_ROOT=$MI_TMP/fb-builtin/root
	mkdir -p "$BENCH_FB_BUILTIN_ROOT/etc/mailinit"
	cat >"$BENCH_FB_BUILTIN_ROOT/etc/mailinit/mailinit.conf" <<-EOF
		mode = builtin
		secret_id = $BENCH_SECRET_ID
		relayhost = $relayhost
		tls_ca_file = $MI_TEST_CA
		mydomain = bench.test
	EOF
	mi_postfix_init fb-postfix
	BENCH_FB_POSTFIX_DIR=$MI_POSTFIX_DIR
	BENCH_FB_POSTFIX_CONF=$MI_TMP/fb-postfix.conf
	cat >"$BENCH_FB_POSTFIX_CONF" <<-EOF
		mode = postfix
		secret_id = $BENCH_SECRET_ID
		relayhost = $relayhost
		tls_ca_file = $MI_TEST_CA
		mydomain = bench.test
		postfix_dir = $BENCH_FB_POSTFIX_DIR
		state_dir = $MI_TMP/fb-postfix-state
	EOF
	mi_postfix_init fb-script
	BENCH_FB_SCRIPT_DIR=$MI_POSTFIX_DIR
	BENCH_FB_RELAYHOST=$relayhost
}

# bench__firstboot_check - each contender once, checked: the credentials really were written
bench__firstboot_check() {
	"$MAILINIT" firstboot --root "$BENCH_FB_BUILTIN_ROOT" --force --no-restart --no-mail \
		>"$MI_TMP/fb-check-builtin.log" 2>&1 || mi_fail "firstboot (builtin) failed: $(cat "$MI_TMP/fb-check-builtin.log")"
	grep -q "$BENCH_SMTP_USER" "$BENCH_FB_BUILTIN_ROOT/etc/mailinit/credentials" ||
		mi_fail "firstboot (builtin) wrote no credentials"
	"$MAILINIT" firstboot --config "$BENCH_FB_POSTFIX_CONF" --force --no-restart --no-mail \
		>"$MI_TMP/fb-check-postfix.log" 2>&1 || mi_fail "firstboot (postfix) failed: $(cat "$MI_TMP/fb-check-postfix.log")"
	postmap -c "$BENCH_FB_POSTFIX_DIR" -q "$BENCH_FB_RELAYHOST" "hash:$BENCH_FB_POSTFIX_DIR/sasl_passwd" |
		grep -q "^$BENCH_SMTP_USER:" || mi_fail "firstboot (postfix) wrote no sasl_passwd table"
	bash "$BENCH_DIR/firstboot_awscli.sh" "$BENCH_FB_SCRIPT_DIR" "$BENCH_SECRET_ID" "$BENCH_FB_RELAYHOST" \
		>"$MI_TMP/fb-check-script.log" 2>&1 || mi_fail "firstboot_awscli.sh failed: $(cat "$MI_TMP/fb-check-script.log")"
	postmap -c "$BENCH_FB_SCRIPT_DIR" -q "$BENCH_FB_RELAYHOST" "hash:$BENCH_FB_SCRIPT_DIR/sasl_passwd" |
		grep -q "^$BENCH_SMTP_USER:" || mi_fail "firstboot_awscli.sh wrote no sasl_passwd table"
	[[ $(postconf -c "$BENCH_FB_SCRIPT_DIR" -h relayhost) == "$BENCH_FB_RELAYHOST" ]] ||
		mi_fail "firstboot_awscli.sh did not set relayhost"
}

bench_part_firstboot() {
	local rounds=$1 runs=$2 round i json
	local -a names cmds order
	bench_log "part 4: first boot (hyperfine, $rounds rounds x $runs runs)"
	mi_require hyperfine jq curl
	[[ -x ${AWS_CLI:=/usr/bin/aws} ]] || mi_fail "the aws CLI is missing ($AWS_CLI; Debian: awscli)"
	bench__firstboot_peers
	bench__firstboot_setup
	export AWS_CLI SM_ENDPOINT=$MI_SM_URL
	bench__firstboot_check
	names=(mailinit-builtin mailinit-postfix awscli-script)
	cmds=("$MAILINIT firstboot --root $BENCH_FB_BUILTIN_ROOT --force --no-restart --no-mail"
		"$MAILINIT firstboot --config $BENCH_FB_POSTFIX_CONF --force --no-restart --no-mail"
		"bash $BENCH_DIR/firstboot_awscli.sh $BENCH_FB_SCRIPT_DIR $BENCH_SECRET_ID $BENCH_FB_RELAYHOST")
	for ((round = 1; round <= rounds; round++)); do
		order=()
		for ((i = 0; i < 3; i++)); do
			order+=($(((i + round - 1) % 3)))
		done
		json=$BENCH_OUT/firstboot-round$round.json
		local -a args=()
		for i in "${order[@]}"; do
			args+=(-n "${names[i]}" "${cmds[i]}")
		done
		# main.cf dated far back before every run: Postfix's tools wait ~2 s for a main.cf
		# younger than a second (the previous run's), which no first boot meets
		hyperfine -N --style none --warmup 1 --runs "$runs" --export-json "$json" \
			--prepare "touch -d @1000000000 $BENCH_FB_POSTFIX_DIR/main.cf $BENCH_FB_SCRIPT_DIR/main.cf" \
			"${args[@]}" >>"$BENCH_OUT/hyperfine.log" 2>&1 ||
			mi_fail "hyperfine failed: $(tail -5 "$BENCH_OUT/hyperfine.log")"
		"$MI_PYTHON" - "$json" "$round" >>"$BENCH_OUT/measurements.jsonl" <<-'EOF'
			import json, sys
			data = json.load(open(sys.argv[1]))
			for r in data["results"]:
			    for t in r["times"]:
			        print(json.dumps({"part": "firstboot", "contender": r["command"],
			                          "round": int(sys.argv[2]), "wall_s": t}))
			    print(json.dumps({"part": "firstboot-cpu", "contender": r["command"],
			                      "round": int(sys.argv[2]), "cpu_s": r["user"] + r["system"]}))
		EOF
		bench_log "  round $round: $(jq -r '.results[] | "\(.command) \(.median*1000|floor) ms"' "$json" | paste -sd, -)"
	done
	mi_stop_imds
}
