#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tcp_blackhole - a loopback TCP port on which connects time out, as on a filtered port (EC2's
outbound port 25): it listens with a backlog of 0 and fills its own accept queue, so the kernel
drops every further SYN (no RST: the client waits until its own timeout).

    tcp_blackhole.py --port-file FILE [--bind 127.0.0.1]

Runs until SIGTERM. Standard library only; Linux semantics (net.ipv4.tcp_abort_on_overflow = 0).
"""

import argparse
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stub_server import wait_for_stop_signal, write_port_file  # noqa: E402


def main():
    """Listen, fill the accept queue, announce the port, wait for SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description="a TCP port whose connects time out")
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--bind", default="127.0.0.1")
    args = parser.parse_args()

    listener = socket.socket()
    listener.bind((args.bind, 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):  # the accept queue (1 with backlog 0) and a margin; never accepted
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect((args.bind, port))
        except BlockingIOError:
            pass
        fillers.append(c)

    write_port_file(args.port_file, port)
    wait_for_stop_signal()


if __name__ == "__main__":
    main()
