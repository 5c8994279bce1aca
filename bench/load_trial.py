# SPDX-License-Identifier: MIT
"""load_trial - one relay load trial: Postfix's smtp-source into PORT, the sink counted.

    load_trial.py --port P --sessions S --count N --size BYTES --sink-dir DIR
                  [--memory pid:N|pgrp:N] [--timeout SECONDS]

Measures, and prints as one JSON object:
  accept_s     from the first connection until smtp-source has had its last 250
  e2e_s        from the same start until DIR (the sink's dumps: one file per message)
               holds N files
  pss_*_kb     with --memory: PSS summed over the processes (procmem.py) before the load
               (idle), its maximum during the load (sampled every 100 ms: peak), and 1 s
               after the last message reached the sink (after)
Exit 1 when smtp-source fails or the sink does not get N messages within the timeout.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import procmem  # noqa: E402


def count_files(directory):
    with os.scandir(directory) as it:
        return sum(1 for _ in it)


class Sampler(threading.Thread):
    """Samples the PSS of a process set until stopped; keeps the maximum."""

    def __init__(self, spec, interval=0.1):
        super().__init__(daemon=True)
        self.spec, self.interval = spec, interval
        self.peak = self.peak_procs = 0
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            kb, procs = procmem.pss_of(self.spec)
            if kb > self.peak:
                self.peak, self.peak_procs = kb, procs
            self.stopping.wait(self.interval)

    def stop(self):
        self.stopping.set()
        self.join()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--sink-dir", required=True)
    ap.add_argument("--memory")
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args()

    result = {"count": args.count, "sessions": args.sessions}
    base = count_files(args.sink_dir)
    if args.memory:
        samples = []
        for _ in range(5):
            samples.append(procmem.pss_of(args.memory)[0])
            time.sleep(0.1)
        result["pss_idle_kb"] = sorted(samples)[len(samples) // 2]
        sampler = Sampler(args.memory)
        sampler.start()
    cmd = ["smtp-source", "-s", str(args.sessions), "-m", str(args.count), "-l", str(args.size),
           "-f", "load@example.com", "-t", "sink@example.net", "127.0.0.1:%d" % args.port]
    start = time.monotonic()
    src = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                         timeout=args.timeout)
    accepted = time.monotonic()
    result["accept_s"] = accepted - start
    if src.returncode != 0:
        result["error"] = "smtp-source exited %d: %s" % (src.returncode, src.stderr.strip()[-300:])
    delivered = base
    deadline = start + args.timeout
    while "error" not in result:
        delivered = count_files(args.sink_dir)
        if delivered - base >= args.count:
            result["e2e_s"] = time.monotonic() - start
            break
        if time.monotonic() > deadline:
            result["error"] = "the sink has %d of %d messages after %.0f s" % (
                delivered - base, args.count, args.timeout)
            break
        time.sleep(0.05)
    result["delivered"] = delivered - base
    if args.memory:
        sampler.stop()
        result["pss_peak_kb"] = sampler.peak
        result["procs_peak"] = sampler.peak_procs
        time.sleep(1)
        result["pss_after_kb"] = procmem.pss_of(args.memory)[0]
    print(json.dumps(result))
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
