# SPDX-License-Identifier: MIT
"""report - the tables of bench/run.sh, in Markdown, from its measurements.

    report.py MEASUREMENTS.jsonl META.json

Every figure is "median [min-max]" over the rounds (over every run for the first boot);
a ratio is the ratio of the medians, with the range of the per-round ratios. The targets
are those of the benchmark issue; they are reported, never asserted.
"""
import json
import statistics
import sys
from collections import defaultdict


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def med(values):
    return statistics.median(values) if values else None


def fmt(value, digits=0):
    if value is None:
        return "n/a"
    if digits == 0:
        return "{:,.0f}".format(value).replace(",", " ")
    return "{:.{}f}".format(value, digits)


def spread(values, digits=0):
    """median [min-max] of values"""
    if not values:
        return "n/a"
    if len(values) == 1:
        return fmt(values[0], digits)
    return "%s [%s-%s]" % (fmt(med(values), digits), fmt(min(values), digits),
                           fmt(max(values), digits))


def ratio_text(num, den, digits=2):
    """ratio of medians, with the range of per-round ratios: num/den are {round: value}"""
    if not num or not den:
        return "n/a", None
    r = med(list(num.values())) / med(list(den.values()))
    per_round = [num[k] / den[k] for k in num if k in den and den[k]]
    text = "%s×" % fmt(r, digits)
    if len(per_round) > 1:
        text += " [%s-%s]" % (fmt(min(per_round), digits), fmt(max(per_round), digits))
    return text, r


class Data:
    def __init__(self, rows):
        self.rows = rows

    def select(self, **kw):
        return [r for r in self.rows if all(r.get(k) == v for k, v in kw.items())]

    def by_round(self, field, fn=None, **kw):
        out = {}
        for r in self.select(**kw):
            if field in r or fn:
                out[r["round"]] = fn(r) if fn else r[field]
        return out


def rate(field):
    return lambda r: r["count"] / r[field]


def verdict(value, target, higher_is_better):
    if value is None:
        return "n/a"
    ok = value >= target if higher_is_better else value <= target
    return "met" if ok else "**missed**"


def main():
    rows = load(sys.argv[1])
    meta = json.load(open(sys.argv[2]))
    d = Data(rows)
    out = []
    w = out.append
    relay = dict(part="relay", sessions=meta["sessions"], deferred=0)

    # ---- the targets --------------------------------------------------------------------
    w("| measure | mailinit | peer | mailinit / peer | target | |")
    w("|---|---|---|---|---|---|")
    for variant, label in (("plain", "no TLS"), ("tls", "STARTTLS + AUTH")):
        if not d.select(variant=variant, **relay):
            continue
        m = d.by_round(None, rate("e2e_s"), contender="mailinit", variant=variant, **relay)
        p = d.by_round(None, rate("e2e_s"), contender="postfix", variant=variant, **relay)
        text, r = ratio_text(m, p)
        w("| relay end-to-end msg/s, %s | %s | Postfix %s | %s | ≥ 2.0× | %s |" % (
            label, spread(list(m.values())), spread(list(p.values())), text,
            verdict(r, 2.0, True)))
    m = d.by_round("pss_peak_kb", contender="mailinit", variant="plain", **relay)
    p = d.by_round("pss_peak_kb", contender="postfix", variant="plain", **relay)
    text, r = ratio_text(m, p)
    if m or p:
        w("| relay peak memory (PSS, MB), no TLS | %s | Postfix %s | %s | ≤ 0.2× | %s |" % (
            spread([v / 1024 for v in m.values()], 1), spread([v / 1024 for v in p.values()], 1),
            text, verdict(r, 0.2, False)))
    m = d.by_round("latency_ms", part="sendmail", contender="mailinit")
    p = d.by_round("latency_ms", part="sendmail", contender="postfix")
    if d.select(part="sendmail", contender="mailinit") and not m:
        w("| `sendmail -t -i` median latency (ms) | not available in this build | Postfix %s | n/a | ≤ 0.5× | n/a |" % (
            spread(list(p.values()), 1)))
    elif m or p:
        text, r = ratio_text(m, p)
        w("| `sendmail -t -i` median latency (ms) | %s | Postfix %s | %s | ≤ 0.5× | %s |" % (
            spread(list(m.values()), 1), spread(list(p.values()), 1), text,
            verdict(r, 0.5, False)))
    fb = defaultdict(list)
    for r_ in d.select(part="firstboot"):
        fb[r_["contender"]].append(r_["wall_s"] * 1000)
    fb_rounds = defaultdict(dict)
    for r_ in d.select(part="firstboot"):
        fb_rounds[r_["contender"]].setdefault(r_["round"], []).append(r_["wall_s"])
    rounds_med = {c: {k: med(v) for k, v in rs.items()} for c, rs in fb_rounds.items()}
    for mode, target in (("builtin", 0.05), ("postfix", 0.25)):
        c = "mailinit-" + mode
        if c in fb:
            text, r = ratio_text(rounds_med[c], rounds_med.get("awscli-script", {}), 3)
            w("| firstboot wall time (ms), %s mode | %s | aws-CLI script %s | %s | ≤ %s× | %s |" % (
                mode, spread(fb[c]), spread(fb["awscli-script"]), text, target,
                verdict(r, target, False)))
    w("")

    # ---- part 1 + 2 detail --------------------------------------------------------------
    if d.select(**relay):
        w("Relay, smtp-source -s %d, %d messages of 4 KB, into the relay, to smtp-sink:" % (
            meta["sessions"], meta["count"]))
        w("")
        w("| variant | contender | accepted msg/s | delivered msg/s | PSS peak MB | PSS idle MB | processes |")
        w("|---|---|---|---|---|---|---|")
        names = {"mailinit": "mailinit relay", "postfix": "Postfix",
                 "direct": "smtp-source → smtp-sink (ceiling)"}
        for variant in ("plain", "tls"):
            for c in ("mailinit", "postfix", "direct"):
                sel = d.select(contender=c, variant=variant, **relay)
                if not sel:
                    continue
                acc = [r_["count"] / r_["accept_s"] for r_ in sel]
                e2e = [r_["count"] / r_["e2e_s"] for r_ in sel]
                peak = [r_["pss_peak_kb"] / 1024 for r_ in sel if "pss_peak_kb" in r_]
                idle = [r_["pss_idle_kb"] / 1024 for r_ in sel if "pss_idle_kb" in r_]
                procs = [r_["procs_peak"] for r_ in sel if "procs_peak" in r_]
                w("| %s | %s | %s | %s | %s | %s | %s |" % (
                    "no TLS" if variant == "plain" else "STARTTLS + AUTH", names[c],
                    spread(acc), spread(e2e), spread(peak, 1) if peak else "",
                    spread(idle, 1) if idle else "", spread(procs) if procs else ""))
        m = d.by_round(None, rate("e2e_s"), contender="mailinit", variant="plain", **relay)
        c_ = d.by_round(None, rate("e2e_s"), contender="direct", variant="plain", **relay)
        ma = d.by_round(None, rate("accept_s"), contender="mailinit", variant="plain", **relay)
        pa = d.by_round(None, rate("accept_s"), contender="postfix", variant="plain", **relay)
        w("")
        w("mailinit against the ceiling (no TLS, delivered): %s; accepted msg/s mailinit/Postfix: %s." % (
            ratio_text(m, c_)[0], ratio_text(ma, pa)[0]))
        w("")

    # ---- part 3 -------------------------------------------------------------------------
    sm = d.select(part="sendmail")
    if sm:
        w("`sendmail -t -i`, %d sequential invocations (small message, as root):" % meta["sendmail_count"])
        w("")
        w("| contender | median latency ms | p90 ms | all %d at the sink, s |" % meta["sendmail_count"])
        w("|---|---|---|---|")
        for c, name in (("mailinit", "mailinit sendmail → maildrop → relay"),
                        ("postfix", "Postfix sendmail → postdrop → pickup")):
            sel = [r_ for r_ in sm if r_["contender"] == c]
            if sel and "unavailable" in sel[0]:
                w("| %s | not available: %s | | |" % (name, sel[0]["unavailable"]))
            elif sel:
                w("| %s | %s | %s | %s |" % (
                    name, spread([r_["latency_ms"] for r_ in sel], 1),
                    spread([r_["latency_p90_ms"] for r_ in sel], 1),
                    spread([r_["all_at_sink_s"] for r_ in sel], 2)))
        w("")

    # ---- part 4 -------------------------------------------------------------------------
    if fb:
        cpu = defaultdict(list)
        for r_ in d.select(part="firstboot-cpu"):
            cpu[r_["contender"]].append(r_["cpu_s"] * 1000)
        w("First boot on the stand-ins (IMDSv2, Secrets Manager over HTTPS), hyperfine, "
          "--no-restart --no-mail:")
        w("")
        w("| contender | wall ms | CPU ms (user+sys, mean per round) |")
        w("|---|---|---|")
        for c, name in (("mailinit-builtin", "`mailinit firstboot`, builtin mode"),
                        ("mailinit-postfix", "`mailinit firstboot`, postfix mode (postmap included)"),
                        ("awscli-script", "curl + `aws secretsmanager get-secret-value` + jq + postmap + postconf")):
            if c in fb:
                w("| %s | %s | %s |" % (name, spread(fb[c]), spread(cpu.get(c, []))))
        w("")

    # ---- part 5 -------------------------------------------------------------------------
    growth = d.select(part="growth")
    if growth:
        w("Cost growth, %d messages of 4 KB per trial, no TLS:" % meta["growth_count"])
        w("")
        w("| sessions | mailinit delivered msg/s | Postfix delivered msg/s | mailinit/Postfix | mailinit PSS peak MB | Postfix PSS peak MB |")
        w("|---|---|---|---|---|---|")
        for s in sorted({r_["sessions"] for r_ in growth}):
            m = d.by_round(None, rate("e2e_s"), part="growth", contender="mailinit", sessions=s)
            p = d.by_round(None, rate("e2e_s"), part="growth", contender="postfix", sessions=s)
            mp = [r_["pss_peak_kb"] / 1024 for r_ in d.select(part="growth", contender="mailinit", sessions=s)]
            pp = [r_["pss_peak_kb"] / 1024 for r_ in d.select(part="growth", contender="postfix", sessions=s)]
            w("| %d | %s | %s | %s | %s | %s |" % (
                s, spread(list(m.values())), spread(list(p.values())), ratio_text(m, p)[0],
                spread(mp, 1), spread(pp, 1)))
        w("")
    queue = d.select(part="growth-queue")
    if queue:
        w("mailinit with messages already deferred in its queue (20 sessions):")
        w("")
        w("| deferred | greeting after s | queue read after s | accepted msg/s | delivered msg/s | PSS idle MB | PSS peak MB |")
        w("|---|---|---|---|---|---|---|")
        for q in sorted({r_["deferred"] for r_ in queue}):
            sel = [r_ for r_ in queue if r_["deferred"] == q]
            read = [r_["queue_read_s"] for r_ in sel if r_.get("queue_read_s")]
            w("| %s | %s | %s | %s | %s | %s | %s |" % (
                fmt(q), spread([r_["startup_s"] for r_ in sel], 2),
                spread(read, 2) if read else "-",
                spread([r_["count"] / r_["accept_s"] for r_ in sel]),
                spread([r_["count"] / r_["e2e_s"] for r_ in sel]),
                spread([r_["pss_idle_kb"] / 1024 for r_ in sel], 1),
                spread([r_["pss_peak_kb"] / 1024 for r_ in sel], 1)))
        w("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
