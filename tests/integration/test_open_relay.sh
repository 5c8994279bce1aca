#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Never an open relay, proven: the relay listens on 127.0.0.1 and 127.0.0.2 with
# mynetworks = 127.0.0.1/32, and a client bound to 127.0.0.2 (outside mynetworks, not
# authenticated) tries every trick of the usual open-relay test lists, one session each:
# plain foreign recipients, the percent hack, source routes, quoted local parts, bang paths,
# user@host@relay, IP literals (bracketed and bare), the relay's own names, upper case,
# trailing dots, empty and null senders, missing angle brackets, pipelined DATA, XCLIENT. Every
# RCPT is answered 5xx (554 5.7.1, or a 5xx syntax error), DATA is refused, nothing is queued
# in the spool and nothing reaches the upstream. The same recipients from 127.0.0.1 are
# accepted (control: the tricks are refused because of the address, not the syntax).
# shellcheck disable=SC2317,SC2031 # scenario functions run through mi_scenario, in subshells
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_smtp.sh"
. "$(dirname "$0")/lib_relay.sh"
mi_init
mi_require_fake_smtp

# The relay's own names as a spammer would use them: myhostname relay.test, mydomain
# example.com, its addresses 127.0.0.1 and 127.0.0.2.
write_tricks() {
	cat >tricks.txt <<-'EOF'
		<>|<victim@example.org>
		<a@example.com>|<victim@example.org>
		<a@example.com>|<VICTIM@EXAMPLE.ORG>
		<a@example.com>|<victim@example.org.>
		<a@example.com>|<victim%example.org@relay.test>
		<a@example.com>|<victim%example.org@example.com>
		<a@example.com>|<victim%example.org@[127.0.0.1]>
		<a@example.com>|<victim%example.org@[127.0.0.2]>
		<a@example.com>|<victim%example.org>
		<a@example.com>|<@relay.test:victim@example.org>
		<a@example.com>|<@example.com:victim@example.org>
		<a@example.com>|<@[127.0.0.1]:victim@example.org>
		<a@example.com>|<@relay.test,@example.com:victim@example.org>
		<a@example.com>|<"victim@example.org">
		<a@example.com>|<"victim@example.org"@relay.test>
		<a@example.com>|<"victim%example.org"@example.com>
		<a@example.com>|<"victim@example.org"@[127.0.0.1]>
		<a@example.com>|<victim@example.org@relay.test>
		<a@example.com>|<victim@example.org@[127.0.0.1]>
		<a@example.com>|<example.org!victim>
		<a@example.com>|<example.org!victim@relay.test>
		<a@example.com>|<example.org!victim@example.com>
		<a@example.com>|<example.org!victim@[127.0.0.1]>
		<a@example.com>|<relay.test!example.org!victim>
		<a@example.com>|<victim@[203.0.113.5]>
		<a@example.com>|<victim@[IPv6:2001:db8::5]>
		<a@example.com>|<victim@203.0.113.5>
		<a@example.com>|<victim%203.0.113.5@relay.test>
		<a@example.com>|<victim%[203.0.113.5]@relay.test>
		<a@example.com>|<victim@relay.test>
		<a@example.com>|<victim@RELAY.TEST>
		<a@example.com>|<victim@relay.test.>
		<a@example.com>|<victim@example.com>
		<a@example.com>|<victim@[127.0.0.1]>
		<a@example.com>|<victim@[127.0.0.2]>
		<a@example.com>|<victim>
		<a@example.com>|<postmaster>
		<a@example.com>|victim@example.org
		<a@example.com>| <victim@example.org>
		<a@example.com>|<victim@example.org> NOTIFY=NEVER
		<victim@example.org>|<victim@example.org>
		<postmaster@relay.test>|<victim@example.org>
		<a@relay.test>|<victim%example.org@relay.test>
		<@relay.test:a@example.com>|<victim@example.org>
		<a@[127.0.0.1]>|<victim@example.org>
		<>|<@[127.0.0.1]:victim@[203.0.113.5]>
	EOF
}

# probe.py MODE SOURCE PORT - one session per trick from SOURCE; prints "trick -> reply" lines
# and exits 1 when a RCPT (MODE refuse) was not refused, or (MODE accept) was refused relaying
write_probe() {
	cat >probe.py <<-'EOF'
		import socket, sys
		mode, source, port = sys.argv[1], sys.argv[2], int(sys.argv[3])

		def session(lines):
		    s = socket.create_connection(("127.0.0.1", port), 10, source_address=(source, 0))
		    f = s.makefile("rb")
		    def reply():
		        text = []
		        while True:
		            line = f.readline().decode("latin-1").rstrip("\r\n")
		            text.append(line)
		            if len(line) < 4 or line[3] != "-":
		                return text[-1]
		    out = [reply()]
		    for l in lines:
		        s.sendall(l.encode("latin-1") + b"\r\n")
		        out.append(reply())
		    s.close()
		    return out

		bad = 0
		for trick in open("tricks.txt"):
		    sender, rcpt = trick.rstrip("\n").split("|", 1)
		    # from inside, RSET instead of DATA: the control proves acceptance, queues nothing
		    last = "DATA" if mode == "refuse" else "RSET"
		    r = session(["EHLO spammer.example.net", "MAIL FROM:" + sender, "RCPT TO:" + rcpt,
		                 last, "QUIT"])
		    banner, ehlo, mail, rcpt_reply, data = r[0], r[1], r[2], r[3], r[4]
		    print("%-60s MAIL %s | RCPT %s | %s %s" % (trick.strip(), mail[:3], rcpt_reply, last, data[:3]))
		    if mode == "refuse":
		        if not rcpt_reply.startswith("5") or not data.startswith("5"):
		            print("  NOT REFUSED", trick.strip()); bad += 1
		        elif mail.startswith("250") and rcpt_reply.startswith("5") and "5.7.1" not in rcpt_reply \
		                and rcpt_reply[:3] not in ("501", "553", "555"):
		            print("  refused with an unexpected code", trick.strip()); bad += 1
		    elif "5.7.1" in rcpt_reply:
		        print("  relay refused from mynetworks", trick.strip()); bad += 1

		# pipelined: every command at once, DATA and a body behind a refused RCPT
		s = socket.create_connection(("127.0.0.1", port), 10, source_address=(source, 0))
		s.recv(4096)
		s.sendall(b"EHLO spammer.example.net\r\nMAIL FROM:<a@example.com>\r\n"
		          b"RCPT TO:<victim@example.org>\r\nDATA\r\nSubject: spam\r\n\r\nspam\r\n.\r\n"
		          b"XCLIENT ADDR=127.0.0.1\r\nXFORWARD ADDR=127.0.0.1\r\nQUIT\r\n")
		s.settimeout(10)
		got = b""
		while True:
		    chunk = s.recv(65536)
		    if not chunk:
		        break
		    got += chunk
		text = got.decode("latin-1")
		print("pipelined:", " / ".join(l[:40] for l in text.splitlines()))
		if mode == "refuse" and ("354" in text or "queued as" in text):
		    print("  pipelined DATA was accepted"); bad += 1
		sys.exit(1 if bad else 0)
	EOF
}

queued_files() {
	find "$MI_RELAY_SPOOL/queue" "$MI_RELAY_SPOOL/incoming" -type f 2>/dev/null | wc -l
}

t_no_trick_relays_from_outside_mynetworks() {
	# an upstream that would take anything
	mi_start_fake_smtp '{"require_tls": false}' --no-tls
	mi_relay_setup 'relay_tls = none
minimal_backoff_time = 600s
maximal_backoff_time = 600s'
	sed -i "s/^listen = .*/listen = 127.0.0.1:$MI_RELAY_PORT, 127.0.0.2:$MI_RELAY_PORT/" \
		"$MI_RELAY_ROOT/etc/mailinit/mailinit.conf"
	mi_assert_grep "$MI_RELAY_ROOT/etc/mailinit/mailinit.conf" '^mynetworks = 127.0.0.1/32$'
	mi_start_relay
	write_tricks
	write_probe
	mi_run outside "$MI_PYTHON" probe.py refuse 127.0.0.2 "$MI_RELAY_PORT"
	cat outside.out
	mi_assert_rc 0
	(($(wc -l <tricks.txt) >= 40)) || mi_fail "the trick list is short"
	mi_assert_grep "$MI_RELAY_LOG" 'NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.2\]: 554 5\.7\.1'
	[[ $(queued_files) == 0 ]] || mi_fail "something was queued: $(find "$MI_RELAY_SPOOL" -type f)"
	mi_assert_no_grep "$MI_RELAY_LOG" 'from=<.*>, size='
	# the relay would deliver at once if anything were queued: give it the time to
	sleep 2
	[[ $(mi_smtp_count) == 0 ]] || mi_fail "an outside client got mail to the upstream"

	# control: from 127.0.0.1 the same recipients are accepted (syntax errors aside)
	mi_run inside "$MI_PYTHON" probe.py accept 127.0.0.1 "$MI_RELAY_PORT"
	mi_assert_rc 0
	mi_assert_grep inside.out '^<a@example.com>\|<victim@example.org> +MAIL 250 \| RCPT 250 .* \| RSET 250'
	mi_assert_grep inside.out '^<a@example.com>\|<victim%example.org@relay.test> +MAIL 250 \| RCPT 250'
	mi_assert_grep inside.out '^<a@example.com>\|<example.org!victim> +MAIL 250 \| RCPT 250'
	mi_assert_grep inside.out '^pipelined: .*354'
	# the pipelined message from inside was queued and relayed: the path works
	mi_smtp_wait_count 1 30
}

mi_scenario no-trick-relays-from-outside-mynetworks t_no_trick_relays_from_outside_mynetworks
mi_finish
