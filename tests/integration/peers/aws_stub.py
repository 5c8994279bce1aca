# SPDX-License-Identifier: MIT
"""aws_stub - what the botocore-checked AWS API stand-ins (fake_secretsmanager.py,
fake_sesv2.py) share besides the signature checks of aws_sigv4.py: the state kept between
requests (the watched configuration and its shifted clock), the request handler's reading
and writing (a Date header from that clock, x-amzn-RequestId), the faults that end a
connection before the signature check, and the process's start (the command line, exit
codes 2 and 3, TLS, SIGTERM/SIGINT and optionally SIGHUP).
"""

import email.utils
import http
import json
import ssl
import sys
import threading
import time

from aws_sigv4 import botocore_missing
from stub_server import (ClientGone, ConfigError, FaultRule, JsonLog, StubHTTPServer,
                         StubRequestHandler, WatchedConfig, serve, take_rule,
                         tls_server_context)

# The defaults of the stand-in IMDS (fake_imds.py): used when "credentials" is absent,
# so the stand-ins work together without configuration.
IMDS_DEFAULT_CREDENTIALS = [{
    "access_key_id": "ASIAFAKEIMDS00000001",
    "secret_access_key": "fakeSecretAccessKeyFromTheStandInImds0001",
    "session_token": "FakeSessionTokenFromTheStandInImds//////////0001=",
    "role": "mailinit-test-role",
}]


class FaultHandled(Exception):
    """A drop/hang fault ended the connection without an answer (already logged)."""


def json_or_none(body):
    """The JSON value of a request body, or None when it is empty or not JSON."""
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


class AwsConfig:
    """What every AWS stand-in's configuration has: "region" (eu-west-1), "account_id",
    "clock_offset_seconds" (shifts the server clock) and "clock_skew_limit_seconds" (300).
    A subclass checks the keys first and reads its own."""

    def __init__(self, raw):
        self.region = raw.get("region", "eu-west-1")
        self.account = str(raw.get("account_id", "123456789012"))
        self.clock_offset = float(raw.get("clock_offset_seconds", 0))
        self.skew_limit = int(raw.get("clock_skew_limit_seconds", 300))


class AwsFaultRule(FaultRule):
    """A fault rule of an AWS API stand-in: FaultRule's keys and "access_key_id" (the
    signing key it matches), "type" (the error code of "error"; the stand-in checks it is
    there), "status" (502 for "status_raw" without one) and "message"."""

    def __init__(self, index, spec, keys, actions):
        super().__init__(index, spec, keys, actions)
        self.access_key_id = spec.get("access_key_id")
        self.type = spec.get("type")
        self.status = spec.get("status")
        if self.action == "status_raw" and self.status is None:
            self.status = 502
        self.message = spec.get("message")


def http_error_page(status):
    """The small HTML page a load balancer answers with (for "status_raw")."""
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    return (f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
            f"<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n").encode()


class AwsState:
    """What a stand-in keeps between requests: the configuration file (parsed by parse, read
    again when it changes; parse's result has clock_offset), the count of connections and
    the request log."""

    def __init__(self, path, parse, prog):
        self.watched = WatchedConfig(path, parse, prog)
        self.log = JsonLog()
        self.lock = threading.Lock()
        self.connections = 0

    @property
    def config(self):
        """The current configuration."""
        return self.watched.current

    def reload(self, force=False):
        """Read the configuration again if the file changed (or when force)."""
        self.watched.reload(force)

    def now(self):
        """The server clock: the real one shifted by clock_offset_seconds."""
        return time.time() + self.config.clock_offset

    def next_connection(self):
        """The number of a new connection (1, 2, ...)."""
        with self.lock:
            self.connections += 1
            return self.connections


class AwsHandler(StubRequestHandler):
    """A request handler answering like an AWS front end: no Server header, a Date header
    from the server clock, x-amzn-RequestId (self.request_id, set per request)."""

    timeout = 120  # idle keep-alive connections
    max_body = 16 * 1024 * 1024
    bad_body_error_type = None  # "error_type" logged for a malformed body
    log_elapsed = False  # log "elapsed_ms" once the body has been read

    state: AwsState  # set on the class by run()

    def setup(self):
        """Number the connection."""
        super().setup()
        self.conn_id = self.state.next_connection()

    def send_response(self, code, message=None):
        """The status line and the Date header (no Server header)."""
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def date_time_string(self, timestamp=None):
        """An HTTP date of the server clock (or of timestamp)."""
        return email.utils.formatdate(self.state.now() if timestamp is None else timestamp,
                                      usegmt=True)

    # --- reading -------------------------------------------------------------------------
    def read_exact(self, n):
        """n bytes of the body; ClientGone when the client hangs up before."""
        data = self.rfile.read(n)
        if data is None or len(data) < n:
            raise ClientGone()
        return data

    def read_body(self):
        """The request body (Content-Length or chunked); ValueError when it is malformed
        or larger than max_body."""
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise ClientGone()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > self.max_body:
                    raise ValueError("body too large")
                chunks.append(self.read_exact(size))
                self.rfile.readline(1024)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        n = int(length.strip())
        if n < 0 or n > self.max_body:
            raise ValueError("bad Content-Length")
        return self.read_exact(n) if n else b""

    def serve_request(self, record, handle_api):
        """Read the body, then handle_api(body) answers and fills record, which is logged
        however the request ends (a drop/hang logs it itself): a malformed body gets a bare
        400 and the connection closes; a client that goes away is action "client_gone"."""
        started = time.monotonic()
        try:
            try:
                body = self.read_body()
            except ValueError:
                record["status"] = 400
                record["error_type"] = self.bad_body_error_type
                self.state.log.write(record)
                self.send_bytes(400, b"", "text/plain", close=True)
                return
            handle_api(body)
        except FaultHandled:
            self.close_connection = True
            return
        except ClientGone:
            self.close_connection = True
            record["action"] = record["action"] or "client_gone"
            self.state.log.write(record)
            return
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            self.close_connection = True
            record["action"] = record["action"] or "client_gone"
        if self.log_elapsed:
            record["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
        self.state.log.write(record)

    # --- writing -------------------------------------------------------------------------
    def send_bytes(self, status, body, content_type, extra=None, close=False):
        """A whole answer: status, body of content_type, extra headers; close: then close
        the connection."""
        self.send_response(status)
        self.send_header("x-amzn-RequestId", self.request_id)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    # --- faults --------------------------------------------------------------------------
    @staticmethod
    def start_fault(record, rule):
        """Note the rule's action in record and wait its delay_ms."""
        record["action"] = rule.action
        if rule.delay_ms:
            time.sleep(rule.delay_ms / 1000.0)

    def fault_before_auth(self, record, rules, request_keys):
        """Carry out the first of rules that matches request_keys if it is a drop or hang
        (take_rule): after its delay, log record, then end the connection without an
        answer, raising FaultHandled. Returns when there is none."""
        rule = take_rule(rules, request_keys, pre_auth=True)
        if rule is None:
            return
        self.start_fault(record, rule)
        self.state.log.write(record)
        if rule.action == "drop":
            self.drop(rule.rst)
        else:
            self.hang(rule.max_ms)
        raise FaultHandled()


def run(prog, parser, make_state, handler, reload_on_hangup=False):
    """The main program of a stand-in: parse the command line (parser from
    stub_server.argument_parser, with TLS), make its state (make_state(args)), then serve
    with handler until SIGTERM or SIGINT (SIGHUP: read the configuration again, when
    reload_on_hangup). Returns the exit code: 0, 2 for a bad configuration or certificate,
    3 without botocore (argparse exits 2 for a bad command line)."""
    args = parser.parse_args()
    if botocore_missing(prog):
        return 3
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    try:
        state = make_state(args)
    except (OSError, ValueError, ConfigError) as e:
        print(f"{prog}: {args.config}: {e}", file=sys.stderr)
        return 2
    context = None
    if args.tls_cert:
        try:
            context = tls_server_context(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as e:
            print(f"{prog}: {args.tls_cert}: {e}", file=sys.stderr)
            return 2
    state.log = JsonLog(args.log)
    handler.state = state
    server = StubHTTPServer((args.bind, args.port), handler, context, state.log)
    on_hangup = (lambda: state.reload(force=True)) if reload_on_hangup else None
    return serve(server, args.port_file, on_hangup=on_hangup)
