#!/bin/bash
# SPDX-License-Identifier: MIT
# test_dsn_parse - the bounces relay/dsn.c builds (through tests/tools/dsn_tool), parsed by
# Python's email package as an independent reader: a multipart/report with
# report-type=delivery-status and exactly three parts (text/plain, message/delivery-status,
# text/rfc822-headers), no parser defects, the RFC 3464 per-message and per-recipient
# fields, the notification's headers, and, byte-wise, CRLF only and lines of at most 998
# octets. Cases: basic (two recipients SES rejected), long (a 3000-octet diagnostic and
# 200 KiB of headers), 8bit (UTF-8 addresses), hostile (CR/LF, fake boundaries and header
# injection attempts in diagnostics and headers).
# Exit 77 (skip) without /usr/bin/python3.
set -euo pipefail

PY=/usr/bin/python3
: "${MAILINIT_BUILD_DIR:?}"
TOOL="$MAILINIT_BUILD_DIR/tests/tools/dsn_tool"

if ! [ -x "$PY" ]; then
        echo "/usr/bin/python3 is not installed: skipping" >&2
        exit 77
fi
if ! [ -x "$TOOL" ]; then
        echo "FAIL: $TOOL is missing (built by tests/tools)" >&2
        exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for c in basic long 8bit hostile; do
        "$TOOL" "$c" >"$tmp/$c.eml"
done

cat >"$tmp/check.py" <<'PYEOF'
import datetime
import email
import email.header
import email.utils
import re
import sys

d = sys.argv[1]
failures = []


def check(cond, what):
    if not cond:
        failures.append(f"{case}: {what}")
    return cond


def unfold(v):
    return re.sub(r"\r?\n", "", v) if v is not None else None


def utf8(v):
    # compat32 hands 8-bit header values over as Header objects of "unknown-8bit" chunks
    if isinstance(v, email.header.Header):
        return b"".join(c if isinstance(c, bytes) else c.encode("ascii")
                        for c, _ in email.header.decode_header(v)).decode("utf-8")
    return v.encode("ascii", "surrogateescape").decode("utf-8")


def parse(case):
    raw = open(f"{d}/{case}.eml", "rb").read()
    check(re.search(rb"(?<!\r)\n", raw) is None, "bare LF")
    check(re.search(rb"\r(?!\n)", raw) is None, "bare CR")
    check(raw.endswith(b"\r\n"), "no CRLF at the end")
    longest = max(len(line) for line in raw.split(b"\r\n"))
    check(longest <= 998, f"a line of {longest} octets")
    msg = email.message_from_bytes(raw)
    check(not msg.defects, f"defects {msg.defects}")
    check(msg.get_content_type() == "multipart/report", f"type {msg.get_content_type()}")
    check(msg.get_param("report-type") == "delivery-status",
          f"report-type {msg.get_param('report-type')}")
    check(msg["Subject"] == "Undelivered Mail Returned to Sender", f"Subject {msg['Subject']}")
    check(msg["From"] == "MAILER-DAEMON@relay.example.com (Mail Delivery System)",
          f"From {msg['From']}")
    check(msg["Auto-Submitted"] == "auto-replied", f"Auto-Submitted {msg['Auto-Submitted']}")
    check(msg["MIME-Version"] == "1.0", "MIME-Version")
    check(re.fullmatch(r"<4F3C51C0A2B\.20240116100000@relay\.example\.com>", msg["Message-ID"] or ""),
          f"Message-ID {msg['Message-ID']}")
    when = email.utils.parsedate_to_datetime(msg["Date"])
    check(when == datetime.datetime(2024, 1, 16, 10, 0, tzinfo=datetime.timezone.utc),
          f"Date {msg['Date']}")
    parts = msg.get_payload()
    check(isinstance(parts, list) and len(parts) == 3, f"{len(parts)} parts")
    types = [p.get_content_type() for p in parts]
    check(types == ["text/plain", "message/delivery-status", "text/rfc822-headers"],
          f"part types {types}")
    for p in parts:
        check(not p.defects, f"part defects {p.defects}")
    blocks = parts[1].get_payload()
    check(isinstance(blocks, list) and len(blocks) >= 2, "delivery-status blocks")
    per_message, per_recipient = blocks[0], blocks[1:]
    check(per_message["Reporting-MTA"] == "dns; relay.example.com",
          f"Reporting-MTA {per_message['Reporting-MTA']}")
    arrival = email.utils.parsedate_to_datetime(per_message["Arrival-Date"])
    check(arrival == datetime.datetime(2024, 1, 16, 9, 0, tzinfo=datetime.timezone.utc),
          f"Arrival-Date {per_message['Arrival-Date']}")
    check(per_message["X-Mailinit-Queue-ID"] == "4F3C51C0A2B", "X-Mailinit-Queue-ID")
    for r in per_recipient:
        for field in ("Final-Recipient", "Action", "Status"):
            check(r[field] is not None, f"{field} missing in {dict(r)}")
        check(r["Action"] == "failed", f"Action {r['Action']}")
        check(re.fullmatch(r"[245]\.\d{1,3}\.\d{1,3}", r["Status"] or ""), f"Status {r['Status']}")
    returned = email.message_from_string(parts[2].get_payload())
    return raw, msg, parts, per_message, per_recipient, returned


case = "basic"
raw, msg, parts, pm, pr, returned = parse(case)
check(msg["To"] == "sender@example.com", f"To {msg['To']}")
check(msg["Content-Transfer-Encoding"] == "7bit", "7bit")
check(len(pr) == 2, f"{len(pr)} recipients")
want = [
    ("rfc822; a@example.org", "5.1.1",
     "smtp; 550 5.1.1 <a@example.org>: Recipient address rejected"),
    ("rfc822; b@example.org", "5.7.1",
     "smtp; 554 Message rejected: Email address is not verified. The following identities "
     "failed the check in region EU-WEST-1: b@example.org"),
]
for r, (rcpt, status, diag) in zip(pr, want):
    check(r["Final-Recipient"] == rcpt, f"Final-Recipient {r['Final-Recipient']}")
    check(r["Status"] == status, f"Status {r['Status']}")
    check(r["Remote-MTA"] == "dns; email-smtp.eu-west-1.amazonaws.com", f"Remote-MTA {r['Remote-MTA']}")
    check(unfold(r["Diagnostic-Code"]) == diag, f"Diagnostic-Code {r['Diagnostic-Code']!r}")
text = parts[0].get_payload()
check(parts[0].get_content_charset() == "us-ascii", "charset")
check("This is the mail system at host relay.example.com." in text, "text: host")
check("I'm sorry to have to inform you that your message could not" in text, "text: sorry")
check("<a@example.org>: host email-smtp.eu-west-1.amazonaws.com said: 550 5.1.1" in text,
      "text: recipient line")
check(list(returned.keys()) == ["Received", "From", "To", "Subject", "Message-ID"],
      f"returned headers {list(returned.keys())}")
check(returned["Subject"] == "quarterly report", "returned Subject")

case = "long"
raw, msg, parts, pm, pr, returned = parse(case)
check(len(pr) == 1, f"{len(pr)} recipients")
diag = unfold(pr[0]["Diagnostic-Code"])
check(diag.startswith("smtp; 552 ") and diag.replace(" ", "") == "smtp;552" + "w" * 2996,
      f"Diagnostic-Code {diag[:80]!r}...")
headers = parts[2].get_payload().encode("ascii", "surrogateescape")
check(60 * 1024 < len(headers) <= 64 * 1024, f"returned headers of {len(headers)} octets")
check(headers.endswith(b"h\r\n"), "returned headers cut at a line")
check(unfold(returned["X-Long"]).replace(" ", "") == "v" * 4991, "X-Long unfolded")
check(all(k in ("X-Long", "X-H") for k in returned.keys()), "returned header names")

case = "8bit"
raw, msg, parts, pm, pr, returned = parse(case)
check(utf8(msg["To"]) == "jörg@example.com", f"To {msg['To']!r}")
check(msg["Content-Transfer-Encoding"] == "8bit", "8bit")
check(utf8(pr[0]["Final-Recipient"]) == "utf-8; élève@example.org",
      f"Final-Recipient {pr[0]['Final-Recipient']!r}")
check(utf8(pm["X-Mailinit-Sender"]) == "utf-8; jörg@example.com", "X-Mailinit-Sender")
check(parts[0].get_content_charset() == "utf-8", "text charset")
check(parts[0]["Content-Transfer-Encoding"] == "8bit", "text 8bit")
check("élève" in parts[0].get_payload(decode=True).decode("utf-8"), "text: address")
check(utf8(returned["Subject"]) == "=?utf-8?q?r=C3=A9sum=C3=A9?=", "returned Subject")

case = "hostile"
raw, msg, parts, pm, pr, returned = parse(case)
check(len(pr) == 3, f"{len(pr)} recipients")
check(unfold(pr[0]["Diagnostic-Code"]) ==
      "smtp; 550-first line 550-Bcc: victim@example.org 550 --mailinit.0000-- body",
      f"Diagnostic-Code {pr[0]['Diagnostic-Code']!r}")
check(pr[1]["Status"] == "5.0.0" and pr[1]["Diagnostic-Code"] is None, "no status, no diagnostic")
check(pr[2]["Status"] == "5.0.0", "NULL status")
check(pr[2]["Diagnostic-Code"] == "X-Mailinit; connection timed out",
      f"Diagnostic-Code {pr[2]['Diagnostic-Code']!r}")
for r in pr:
    check(r["Remote-MTA"] is None, "Remote-MTA without a remote")
    check(r["Bcc"] is None, "injected Bcc")
check(msg["X-Injected"] is None and msg["Bcc"] is None, "injected top-level header")
check("Line one X-Injected: yes" in parts[0].get_payload(), "reason on one line")
check(list(returned.keys()) == ["Subject", "X-CR", "X-Two", "X-Folded"],
      f"returned headers {list(returned.keys())}")
check(unfold(returned["X-Folded"]) == "d\te", f"X-Folded {returned['X-Folded']!r}")
check("not returned" not in parts[2].get_payload(), "the body is not returned")

for f in failures:
    print("FAIL", f)
print(f"{'FAILED' if failures else 'ok'}: 4 bounces parsed, {len(failures)} failures")
sys.exit(1 if failures else 0)
PYEOF

"$PY" "$tmp/check.py" "$tmp"
