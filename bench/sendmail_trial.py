# SPDX-License-Identifier: MIT
"""sendmail_trial - N sequential `sendmail -t -i` invocations, each with a small message, then
wait until the sink holds them all.

    sendmail_trial.py --count N --sink-dir DIR [--timeout S] -- SENDMAIL-COMMAND...

Prints one JSON object: latency_ms (median of the N invocations, from exec to exit),
latency_p90_ms, submit_s (all N invocations), all_at_sink_s (from the first invocation until
the sink holds N more messages). Exit 1 when an invocation fails or the sink does not get
them all within the timeout.
"""
import argparse
import json
import os
import subprocess
import sys
import time

MESSAGE = (b"From: cron@bench.test\nTo: sink@example.net\nSubject: bench %d\n\n"
           b"A small message, as cron or a script sends it.\n.\nA lone dot above (-i).\n")


def count_files(directory):
    with os.scandir(directory) as it:
        return sum(1 for _ in it)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--sink-dir", required=True)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("command", nargs="+")
    args = ap.parse_args()

    base = count_files(args.sink_dir)
    latencies = []
    result = {"count": args.count}
    start = time.monotonic()
    for i in range(args.count):
        t = time.monotonic()
        p = subprocess.run(args.command, input=MESSAGE % i, capture_output=True)
        latencies.append(time.monotonic() - t)
        if p.returncode != 0:
            result["error"] = "invocation %d exited %d: %s" % (
                i, p.returncode, p.stderr.decode(errors="replace").strip()[-300:])
            break
    result["submit_s"] = time.monotonic() - start
    while "error" not in result:
        got = count_files(args.sink_dir) - base
        if got >= args.count:
            result["all_at_sink_s"] = time.monotonic() - start
            break
        if time.monotonic() - start > args.timeout:
            result["error"] = "the sink has %d of %d messages after %.0f s" % (
                got, args.count, args.timeout)
            break
        time.sleep(0.02)
    latencies.sort()
    if latencies:
        result["latency_ms"] = 1000 * latencies[len(latencies) // 2]
        result["latency_p90_ms"] = 1000 * latencies[int(len(latencies) * 0.9)]
    print(json.dumps(result))
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
