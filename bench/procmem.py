# SPDX-License-Identifier: MIT
"""procmem - the memory of a set of processes, from /proc.

PSS (proportional set size, /proc/PID/smaps_rollup) summed over processes: shared pages
(libraries, the same binary run by several Postfix daemons) count once in total, so the sum
is what the set costs the machine. Threads share their process's memory and are not
counted again.
"""
import os


def pss_kb(pid):
    """PSS of one process in KiB, 0 when it is gone or unreadable."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _stat_fields(pid):
    """(ppid, pgid, state) of a process, None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            text = f.read()
    except OSError:
        return None
    rest = text[text.rindex(")") + 2:].split()
    return int(rest[1]), int(rest[2]), rest[0]


def group_pids(pgid):
    """Live processes of process group pgid (a Postfix master and every daemon it started:
    the master runs setsid, its children inherit the group)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = _stat_fields(int(name))
        if fields and fields[1] == pgid and fields[2] != "Z":
            pids.append(int(name))
    return pids


def pss_of(spec):
    """PSS in KiB of spec: "pid:N" (one process) or "pgrp:N" (a process group);
    and how many processes were counted."""
    kind, _, number = spec.partition(":")
    number = int(number)
    pids = [number] if kind == "pid" else group_pids(number)
    total = sum(pss_kb(p) for p in pids)
    return total, len(pids)
