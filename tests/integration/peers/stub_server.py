# SPDX-License-Identifier: MIT
"""stub_server - the scaffolding the test stand-ins share (Python 3.11 standard library only).

A stand-in runs one threaded HTTP server bound to loopback on a port the OS hands out (or a
UDP/TCP server of its own), announces that port in --port-file once it listens, appends one
JSON line per request to --log, reads its JSON configuration again when the file changes,
injects faults from the configuration's "faults" rules, and stops on SIGTERM or SIGINT.
"""

import argparse
import http.server
import json
import os
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time


class ConfigError(Exception):
    """The configuration file is not valid for the stand-in."""


class ClientGone(Exception):
    """The client closed the connection in the middle of a request."""


# --- the process ------------------------------------------------------------------------
def write_atomically(path, text):
    """Write text to path through a synced temporary file and a rename: readers never see
    a partial file."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_port_file(path, port):
    """Announce the listening port: "PORT\\n", written atomically (tests wait for the file)."""
    write_atomically(path, f"{port}\n")


def wait_for_stop_signal():
    """Block until SIGTERM or SIGINT (for stand-ins whose servers run in threads)."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()


def argument_parser(description, tls, own=()):
    """The command line every HTTP stand-in takes: --config, --port-file, the stand-in's
    own options (own: (flag, add_argument keywords) pairs), --log, --tls-cert/--tls-key
    when it can serve HTTPS (tls), --bind and --port."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", required=True, help="configuration JSON file")
    parser.add_argument("--port-file", required=True, help="where to write the port once listening")
    for flag, keywords in own:
        parser.add_argument(flag, **keywords)
    parser.add_argument("--log", help="request log, one JSON object per line")
    if tls:
        parser.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
        parser.add_argument("--tls-key", help="the certificate's private key (PEM)")
    parser.add_argument("--bind", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    return parser


def tls_server_context(cert, key):
    """A TLS 1.2+ server context (ALPN http/1.1) with cert and key (PEM files); raises
    OSError or ssl.SSLError when they cannot be loaded."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    context.load_cert_chain(cert, key)
    return context


def serve(server, port_file, on_hangup=None, exit_at_once=False):
    """Announce server's port in port_file and serve until SIGTERM or SIGINT; returns 0.
    on_hangup runs in a thread of its own on SIGHUP (without it SIGHUP keeps its default).
    exit_at_once: leave with os._exit(0) at the signal, not waiting for connections that
    hang on purpose (the log is flushed per line)."""
    def stop(signum, frame):
        server.stopping.set()
        if exit_at_once:
            os._exit(0)
        threading.Thread(target=server.shutdown, daemon=True).start()

    def hangup(signum, frame):
        threading.Thread(target=on_hangup, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if on_hangup is not None:
        signal.signal(signal.SIGHUP, hangup)
    write_port_file(port_file, server.server_address[1])
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.stopping.set()
        server.server_close()
    return 0


# --- the request log and the configuration ----------------------------------------------
class JsonLog:
    """A request log: one compact JSON object per line, flushed per line, safe to share
    between threads. Without a path it drops the records."""

    def __init__(self, path=None):
        self.lock = threading.Lock()
        self.file = open(path, "a", encoding="utf-8") if path else None

    def write(self, record):
        """Append record (a dict) as one line."""
        if self.file is None:
            return
        line = json.dumps(record, separators=(",", ":"))
        with self.lock:
            self.file.write(line + "\n")
            self.file.flush()


class WatchedConfig:
    """A JSON configuration file, parsed by parse(raw) (which raises ConfigError), read again
    when the file changes (mtime, size or inode) or when forced. A broken new version is
    reported on stderr as "PROG: PATH: problem" and the previous one kept."""

    def __init__(self, path, parse, prog):
        self.path = path
        self.parse = parse
        self.prog = prog
        self.lock = threading.Lock()
        self.current = self._load()  # OSError, ValueError, ConfigError: the caller reports
        self.stamp = self._stamp()

    def _load(self):
        """The parsed file."""
        with open(self.path, encoding="utf-8") as f:
            return self.parse(json.load(f))

    def _stamp(self):
        """What tells versions of the file apart (None: the file is gone)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def reload(self, force=False):
        """Read the file again when it changed (or when force); keep the old one if broken."""
        stamp = self._stamp()
        with self.lock:
            if not force and (stamp is None or stamp == self.stamp):
                return
            try:
                self.current = self._load()
            except (OSError, ValueError, ConfigError) as e:
                print(f"{self.prog}: {self.path}: {e} (keeping the previous configuration)",
                      file=sys.stderr, flush=True)
            self.stamp = stamp


def check_keys(where, spec, keys):
    """ConfigError unless spec is a JSON object whose keys are among keys."""
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: not an object")
    unknown = set(spec) - keys
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")


# --- fault rules ------------------------------------------------------------------------
PRE_AUTH_ACTIONS = {"hang", "drop"}
_rules_lock = threading.Lock()


class FaultRule:
    """What every fault rule of a configuration's "faults" list has: an "action" among the
    stand-in's, "times" (uses left, None: unlimited; consumed by take_rule), "delay_ms",
    "max_ms" (a hang gives up after it), "rst" and "close". A subclass adds what the rule
    matches on (a matches() method) and what its actions need."""

    def __init__(self, index, spec, keys, actions):
        where = f"faults[{index}]"
        check_keys(where, spec, keys)
        self.index = index
        self.action = spec.get("action")
        if self.action not in actions:
            raise ConfigError(f"{where}: \"action\" must be one of {sorted(actions)}")
        times = spec.get("times")
        if times is not None and (not isinstance(times, int) or times < 0):
            raise ConfigError(f"{where}: \"times\" must be a non-negative integer")
        self.remaining = times  # None: unlimited
        self.delay_ms = int(spec.get("delay_ms", 0))
        self.max_ms = spec.get("max_ms")
        self.rst = bool(spec.get("rst", False))
        self.close = bool(spec.get("close", False))


def take_rule(rules, request, pre_auth=None):
    """Consume one use of the first rule with uses left that matches the request
    (rule.matches(*request)) and return it, or None. With pre_auth (True or False), the
    rules act in two phases: drop and hang before the signature check, all others after
    it; when the first matching rule belongs to the other phase, there is none now."""
    with _rules_lock:
        for rule in rules:
            if rule.remaining is not None and rule.remaining <= 0:
                continue
            if not rule.matches(*request):
                continue
            if pre_auth is not None and (rule.action in PRE_AUTH_ACTIONS) != pre_auth:
                return None
            if rule.remaining is not None:
                rule.remaining -= 1
            return rule
    return None


def filler(fill, size):
    """size bytes of fill (bytes) repeated, in pieces of up to 64 KiB (for huge answers)."""
    block = (fill * (65536 // len(fill) + 1))[:65536]
    left = size
    while left > 0:
        piece = block[:min(left, len(block))]
        yield piece
        left -= len(piece)


# --- the HTTP server --------------------------------------------------------------------
class StubHTTPServer(http.server.ThreadingHTTPServer):
    """A threaded HTTP server for a stand-in: IPv4 or IPv6 after the bind address, a thread
    per connection, no Nagle, optional TLS with the handshake in the connection's thread
    (a stalled handshake blocks no other connection; a failed one is logged), quiet about
    clients that go away, and a `stopping` event that hanging requests watch."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, handler, tls_context=None, log=None):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.stopping = threading.Event()
        self.tls_context = tls_context
        self.log = log or JsonLog()
        super().__init__(address, handler)

    def finish_request(self, request, client_address):
        """Serve one connection (in its own thread)."""
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if self.tls_context is None:
            self.RequestHandlerClass(request, client_address, self)
            return
        request.settimeout(10)
        try:
            conn = self.tls_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.log.write({"target": None, "status": None, "action": "tls_handshake_failed",
                            "error": str(e), "time": round(time.time(), 3)})
            return
        try:
            conn.settimeout(None)
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        """Print the traceback, except for clients that went away."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, TimeoutError, ssl.SSLError,
                            ClientGone)):
            return
        super().handle_error(request, client_address)


class StubRequestHandler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, no access log on stderr, and the connection-level faults."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's API
        """No access log: the stand-ins write their own request log."""

    def drop(self, rst=False):
        """Close the connection without answering (with a TCP RST when rst)."""
        self.close_connection = True
        sock = self.connection
        try:
            if rst:
                raw = socket.socket(fileno=os.dup(sock.fileno()))
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                raw.close()
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def hang(self, max_ms=None):
        """Never answer; return when the client closes, after max_ms, or at shutdown."""
        self.close_connection = True
        deadline = None if max_ms is None else time.monotonic() + max_ms / 1000.0
        sock = self.connection
        sock.settimeout(0)
        while not self.server.stopping.is_set():
            wait = 0.2
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    break
            readable, _, _ = select.select([sock], [], [], wait)
            if readable:
                try:
                    if not sock.recv(65536):
                        break  # the client went away
                except (ssl.SSLWantReadError, BlockingIOError):
                    continue
                except OSError:
                    break
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
