#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""fake_sesv2 - a stand-in for the Amazon SES API v2 SendEmail operation, for tests.

It speaks the real wire protocol (REST-JSON: POST /v2/email/outbound-emails, JSON body with
Content.Raw.Data in base64, errors named by x-amzn-ErrorType with {"message": ...}) and checks
every request's Signature Version 4 for the signing name "ses" with botocore as an
independent oracle (the scaffolding of fake_secretsmanager.py: the request is rebuilt from
exactly the headers it says it signed, and botocore computes the signature). Each accepted
message is written to --messages-dir as MESSAGEID.eml (the decoded raw bytes) and
MESSAGEID.json (envelope, signer). Faults (errors, raw statuses, hangs, drops, delays,
expired tokens) come from the "faults" list; every request is logged as one JSON line.

    fake_sesv2.py --config CONFIG.json --port-file FILE --messages-dir DIR [--log FILE]
                  [--tls-cert CERT.pem --tls-key KEY.pem] [--bind 127.0.0.1] [--port 0]

Configuration (JSON object; read again when the file changes):
  region                  "eu-west-1"; requests must be signed for it
  credentials             [{access_key_id, secret_access_key, session_token, role, user,
                            expired, not_after (epoch seconds: ExpiredToken afterwards),
                            expires_after_first_use (seconds after the key's first request),
                            denied}] (default: the stand-in IMDS's role credentials)
  clock_offset_seconds    0 (shifts the server clock: Date header and skew check)
  clock_skew_limit_seconds 300
  verified_identities     null (all allowed) or a list of addresses and domains: another
                          FromEmailAddress is MessageRejected, as in the SES sandbox
  faults                  [{action, times, recipient, sender, access_key_id, type, status,
                            message, body, delay_ms, max_ms, close}]
     action: "error" (type: an SES error code; status defaults to the model's),
             "status_raw" (status with a non-JSON body), "hang" (no answer; closes after
             max_ms), "drop" (closes at once), "slow" (delay_ms, then normal),
             "expired_token" (403 ExpiredTokenException)
"""

import argparse
import base64
import email.utils
import hashlib
import hmac
import http.server
import json
import os
import select
import signal
import socket
import ssl
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_secretsmanager as scaffold  # noqa: E402 - the shared SigV4 oracle and server

SERVICE = "ses"
SEND_PATH = "/v2/email/outbound-emails"
ALGORITHM = "AWS4-HMAC-SHA256"
RAW_MAX = 40 * 1000 * 1000  # after base64
MAX_BODY = 64 * 1024 * 1024
NAMESPACE = "com.amazonaws.sesv2"

# code -> (HTTP status, default message), after botocore's sesv2 model and the front end
ERRORS = {
    "TooManyRequestsException": (429, "Too many requests have been made to the operation."),
    "LimitExceededException": (400, "Maximum sending rate exceeded."),
    "AccountSuspendedException": (400, "The message can't be sent because the account's "
                                  "ability to send email has been permanently restricted."),
    "SendingPausedException": (400, "The message can't be sent because the account's ability "
                               "to send email is currently paused."),
    "MessageRejected": (400, "Email address is not verified."),
    "MailFromDomainNotVerifiedException": (400, "The message can't be sent because the "
                                           "sending domain isn't verified."),
    "NotFoundException": (404, "The resource you attempted to access doesn't exist."),
    "BadRequestException": (400, "The input you provided is invalid."),
    "InternalFailure": (500, "The request processing has failed because of an unknown error, "
                        "exception or failure."),
    "ServiceUnavailable": (503, "Service Unavailable"),
    "ExpiredTokenException": (403, "The security token included in the request is expired"),
    "UnrecognizedClientException": (403, "The security token included in the request is "
                                    "invalid."),
    "InvalidSignatureException": (403, scaffold.SIGNATURE_MISMATCH),
    "IncompleteSignatureException": (403, "Incomplete signature"),
    "MissingAuthenticationTokenException": (403, "Missing Authentication Token"),
    "AccessDeniedException": (403, "Access denied"),
    "SerializationException": (400, "Start of structure or map found where not expected."),
}

CONFIG_KEYS = {"region", "account_id", "credentials", "clock_offset_seconds",
               "clock_skew_limit_seconds", "verified_identities", "faults"}
CREDENTIAL_KEYS = {"access_key_id", "secret_access_key", "session_token", "role", "user",
                   "expired", "not_after", "expires_after_first_use", "denied"}
ACTIONS = {"error", "status_raw", "hang", "drop", "slow", "expired_token"}
PRE_AUTH_ACTIONS = {"hang", "drop"}
RULE_KEYS = {"action", "times", "recipient", "sender", "access_key_id", "type", "status",
             "message", "body", "delay_ms", "max_ms", "close"}


class ConfigError(Exception):
    pass


class Rule:
    def __init__(self, index, spec):
        where = f"faults[{index}]"
        if not isinstance(spec, dict) or set(spec) - RULE_KEYS:
            raise ConfigError(f"{where}: an object with keys among {sorted(RULE_KEYS)}")
        self.action = spec.get("action")
        if self.action not in ACTIONS:
            raise ConfigError(f"{where}: \"action\" must be one of {sorted(ACTIONS)}")
        times = spec.get("times")
        if times is not None and (not isinstance(times, int) or times < 0):
            raise ConfigError(f"{where}: \"times\" must be a non-negative integer")
        self.remaining = times
        self.recipient = spec.get("recipient")
        self.sender = spec.get("sender")
        self.access_key_id = spec.get("access_key_id")
        self.type = spec.get("type")
        if self.action == "error" and not isinstance(self.type, str):
            raise ConfigError(f"{where}: action \"error\" needs \"type\"")
        self.status = spec.get("status")
        if self.action == "status_raw" and self.status is None:
            self.status = 502
        self.message = spec.get("message")
        body = spec.get("body")
        self.body = None if body is None else body.encode()
        self.delay_ms = int(spec.get("delay_ms", 0))
        self.max_ms = spec.get("max_ms")
        self.close = bool(spec.get("close", False))

    def matches(self, sender, recipients, akid):
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.recipient is not None and self.recipient not in (recipients or []):
            return False
        if self.sender is not None and self.sender != sender:
            return False
        if self.access_key_id is not None and self.access_key_id != akid:
            return False
        return True


class Config:
    def __init__(self, raw):
        if not isinstance(raw, dict) or set(raw) - CONFIG_KEYS:
            raise ConfigError(f"the configuration is an object with keys among "
                              f"{sorted(CONFIG_KEYS)}")
        self.region = raw.get("region", "eu-west-1")
        self.account = str(raw.get("account_id", "123456789012"))
        self.clock_offset = float(raw.get("clock_offset_seconds", 0))
        self.skew_limit = int(raw.get("clock_skew_limit_seconds", 300))
        self.verified = raw.get("verified_identities")
        creds = raw.get("credentials", scaffold.IMDS_DEFAULT_CREDENTIALS)
        self.credentials = {}
        for i, cred in enumerate(creds):
            if not isinstance(cred, dict) or set(cred) - CREDENTIAL_KEYS or \
                    not cred.get("access_key_id") or not cred.get("secret_access_key"):
                raise ConfigError(f"credentials[{i}]: needs access_key_id and "
                                  f"secret_access_key; keys among {sorted(CREDENTIAL_KEYS)}")
            self.credentials[cred["access_key_id"]] = cred
        self.rules = [Rule(i, r) for i, r in enumerate(raw.get("faults") or [])]


class State:
    def __init__(self, path, messages_dir):
        self.path = path
        self.messages_dir = messages_dir
        self.lock = threading.Lock()
        self.config = self._load()
        self.stamp = self._stamp()
        self.log_file = None
        self.connections = 0
        self.first_use = {}  # access key id -> time of its first accepted signature

    def expired(self, cred):
        """not_after passed, or expires_after_first_use seconds since the key's first use."""
        now = time.time()
        if cred.get("not_after") is not None and now >= float(cred["not_after"]):
            return True
        ttl = cred.get("expires_after_first_use")
        if ttl is None:
            return False
        with self.lock:
            first = self.first_use.setdefault(cred["access_key_id"], now)
        return now >= first + float(ttl)

    def _load(self):
        with open(self.path, encoding="utf-8") as f:
            return Config(json.load(f))

    def _stamp(self):
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def reload(self):
        stamp = self._stamp()
        with self.lock:
            if stamp is None or stamp == self.stamp:
                return
            try:
                self.config = self._load()
            except (OSError, ValueError, ConfigError) as e:
                print(f"fake_sesv2: {self.path}: {e} (keeping the previous configuration)",
                      file=sys.stderr, flush=True)
            self.stamp = stamp

    def now(self):
        return time.time() + self.config.clock_offset

    def next_connection(self):
        with self.lock:
            self.connections += 1
            return self.connections

    def take_rule(self, config, sender, recipients, akid, pre_auth):
        with self.lock:
            for rule in config.rules:
                if not rule.matches(sender, recipients, akid):
                    continue
                if (rule.action in PRE_AUTH_ACTIONS) != pre_auth:
                    return None
                if rule.remaining is not None:
                    rule.remaining -= 1
                return rule
        return None

    def log(self, record):
        if self.log_file is None:
            return
        with self.lock:
            self.log_file.write(json.dumps(record, separators=(",", ":")) + "\n")
            self.log_file.flush()


class ApiError(Exception):
    def __init__(self, code, message=None, status=None):
        super().__init__(code)
        self.code = code
        self.message = message
        self.status = status


def message_id():
    """SES's shape: 0102 + 12 hex of the time in ms, a UUID, and the 6-digit suffix."""
    return f"0102{int(time.time() * 1000):012x}-{uuid.uuid4()}-000000"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120
    state: State

    def log_message(self, format, *args):  # noqa: A002
        pass

    def setup(self):
        super().setup()
        self.conn_id = self.state.next_connection()

    def send_response(self, code, message=None):
        self.send_response_only(code, message)
        self.send_header("Date", email.utils.formatdate(self.state.now(), usegmt=True))

    def read_body(self):
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        n = int(length.strip())
        if n < 0 or n > MAX_BODY:
            raise ValueError("bad Content-Length")
        data = self.rfile.read(n) if n else b""
        if len(data) < n:
            raise scaffold.ClientGone()
        return data

    def send_bytes(self, status, body, content_type, extra=None, close=False):
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
        self.wfile.write(body)
        self.wfile.flush()

    def send_error_json(self, err, close=False):
        status_default, message_default = ERRORS.get(err.code, (400, None))
        status = err.status or status_default
        message = err.message if err.message is not None else message_default
        body = json.dumps({"message": message} if message is not None else {},
                          separators=(",", ":")).encode()
        extra = {"x-amzn-ErrorType": f"{err.code}:http://internal.amazon.com/coral/{NAMESPACE}/"}
        self.send_bytes(status, body, "application/json", extra=extra, close=close)
        return status, err.code

    def do_POST(self):
        self.dispatch()

    do_GET = do_PUT = do_DELETE = do_HEAD = do_POST

    def dispatch(self):
        self.state.reload()
        config = self.state.config
        self.request_id = str(uuid.uuid4())
        record = {
            "method": self.command, "path": self.path, "status": None, "error_type": None,
            "action": None, "access_key_id": None, "region": None, "service": None,
            "signature_valid": None, "session_token_signed": False, "sender": None,
            "recipients": None, "size": None, "message_id": None,
            "x_amz_date": self.headers.get("X-Amz-Date"), "connection": self.conn_id,
            "tls": isinstance(self.connection, ssl.SSLSocket),
            "user_agent": self.headers.get("User-Agent"), "time": round(time.time(), 3),
        }
        try:
            try:
                body = self.read_body()
            except ValueError:
                record["status"] = 400
                self.state.log(record)
                self.send_bytes(400, b"", "text/plain", close=True)
                return
            self.handle_api(config, record, body)
        except FaultHandled:
            self.close_connection = True
            return
        except (scaffold.ClientGone, BrokenPipeError, ConnectionResetError, ssl.SSLError,
                TimeoutError):
            self.close_connection = True
            record["action"] = record["action"] or "client_gone"
        self.state.log(record)

    def handle_api(self, config, record, body):
        request = None
        try:
            request = json.loads(body) if body else None
        except ValueError:
            pass
        sender = recipients = None
        if isinstance(request, dict):
            sender = request.get("FromEmailAddress")
            dest = request.get("Destination")
            if isinstance(dest, dict):
                recipients = dest.get("ToAddresses")
        record["sender"], record["recipients"] = sender, recipients
        auth = scaffold.Auth()
        self.parse_authorization(auth)
        record["access_key_id"] = auth.access_key_id
        record["region"], record["service"] = auth.region, auth.service

        rule = self.state.take_rule(config, sender, recipients, auth.access_key_id, True)
        if rule is not None:
            record["action"] = rule.action
            if rule.delay_ms:
                time.sleep(rule.delay_ms / 1000.0)
            self.state.log(record)
            if rule.action == "drop":
                self.drop()
            else:
                self.hang(rule)
            raise FaultHandled()

        try:
            self.authenticate(config, auth, body)
        except ApiError as err:
            record["signature_valid"] = auth.signature_valid
            if auth.signature_valid is False and auth.expected_creq is not None:
                record["expected_canonical_request"] = auth.expected_creq
            record["status"], record["error_type"] = self.send_error_json(err)
            return
        record["signature_valid"] = auth.signature_valid
        record["session_token_signed"] = auth.token_signed

        rule = self.state.take_rule(config, sender, recipients, auth.access_key_id, False)
        if rule is not None:
            record["action"] = rule.action
            if rule.delay_ms:
                time.sleep(rule.delay_ms / 1000.0)
            if rule.action == "error":
                record["status"], record["error_type"] = self.send_error_json(
                    ApiError(rule.type, rule.message, rule.status), close=rule.close)
                return
            if rule.action == "expired_token":
                record["status"], record["error_type"] = self.send_error_json(
                    ApiError("ExpiredTokenException", rule.message, rule.status))
                return
            if rule.action == "status_raw":
                body = rule.body if rule.body is not None else scaffold.http_error_page(
                    rule.status)
                self.send_bytes(rule.status, body, "text/html", close=rule.close)
                record["status"] = rule.status
                return
        try:
            result = self.send_email(config, record, request)
        except ApiError as err:
            record["status"], record["error_type"] = self.send_error_json(err)
            return
        self.send_bytes(200, json.dumps(result).encode(), "application/json",
                        close=bool(rule and rule.close))
        record["status"] = 200

    # --- Signature Version 4, checked by botocore ------------------------------------------
    def parse_authorization(self, auth):
        header = self.headers.get("Authorization")
        auth.token_present = self.headers.get("X-Amz-Security-Token") is not None
        if header is None:
            return None
        algorithm, _, rest = header.strip().partition(" ")
        auth.algorithm = algorithm
        params = {}
        for part in rest.split(","):
            key, sep, value = part.strip().partition("=")
            if sep:
                params[key.strip()] = value.strip()
        if "Credential" in params:
            parts = params["Credential"].split("/")
            auth.credential_parts = parts
            auth.access_key_id = parts[0]
            if len(parts) == 5:
                auth.scope_date, auth.region, auth.service = parts[1], parts[2], parts[3]
        if "SignedHeaders" in params:
            auth.signed_headers = [h for h in params["SignedHeaders"].split(";") if h]
            auth.token_signed = "x-amz-security-token" in [h.lower() for h in
                                                           auth.signed_headers]
        auth.signature = params.get("Signature")
        return [p for p in ("Credential", "Signature", "SignedHeaders") if p not in params]

    def authenticate(self, config, auth, body):
        missing = self.parse_authorization(auth)
        if missing is None:
            raise ApiError("MissingAuthenticationTokenException")
        if auth.algorithm != ALGORITHM or missing or len(auth.credential_parts) != 5:
            raise ApiError("IncompleteSignatureException")
        signed = [h.lower() for h in auth.signed_headers]
        if "host" not in signed:
            raise ApiError("IncompleteSignatureException",
                           "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                           "Authorization.")
        timestamp = (self.headers.get("X-Amz-Date") or "").strip()
        signed_at = scaffold.parse_amz_date(timestamp)
        if signed_at is None:
            raise ApiError("IncompleteSignatureException",
                           f"Date must be in ISO-8601 'basic format'. Got '{timestamp}'.")
        if auth.credential_parts[4] != "aws4_request":
            raise ApiError("InvalidSignatureException", "Credential should be scoped with a "
                           "valid terminator: 'aws4_request'")
        if auth.service != SERVICE:
            raise ApiError("InvalidSignatureException",
                           f"Credential should be scoped to correct service: '{SERVICE}'. ")
        if auth.region != config.region:
            raise ApiError("InvalidSignatureException",
                           "Credential should be scoped to a valid region.")
        if auth.scope_date != timestamp[:8]:
            raise ApiError("InvalidSignatureException",
                           "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                           "version of date from HTTP.")
        cred = config.credentials.get(auth.access_key_id)
        if cred is None:
            raise ApiError("UnrecognizedClientException")
        auth.credential = cred
        tokens = self.headers.get_all("X-Amz-Security-Token") or []
        want = cred.get("session_token")
        if want and (tokens != [want] or not auth.token_signed):
            raise ApiError("UnrecognizedClientException")
        if not want and tokens:
            raise ApiError("UnrecognizedClientException")
        if cred.get("expired") or self.state.expired(cred):
            raise ApiError("ExpiredTokenException")
        now = self.state.now()
        limit = config.skew_limit
        if signed_at < now - limit:
            raise ApiError("InvalidSignatureException",
                           f"Signature expired: {timestamp} is now earlier than "
                           f"{scaffold.amz_date(now - limit)} ({scaffold.amz_date(now)} - "
                           f"{limit // 60} min.)")
        if signed_at > now + limit:
            raise ApiError("InvalidSignatureException",
                           f"Signature not yet current: {timestamp} is still later than "
                           f"{scaffold.amz_date(now + limit)} ({scaffold.amz_date(now)} + "
                           f"{limit // 60} min.)")
        expected = self.botocore_signature(auth, cred, timestamp, signed, body)
        auth.signature_valid = hmac.compare_digest(expected.encode(),
                                                   (auth.signature or "").lower().encode())
        declared = self.headers.get("X-Amz-Content-SHA256")
        if auth.signature_valid and "x-amz-content-sha256" in signed and declared is not None \
                and declared.strip() != hashlib.sha256(body).hexdigest():
            auth.signature_valid = False
        if not auth.signature_valid:
            raise ApiError("InvalidSignatureException")

    def botocore_signature(self, auth, cred, timestamp, signed, body):
        scheme = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"
        host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
        request = scaffold.AWSRequest(method=self.command, url=f"{scheme}://{host}{self.path}",
                                      data=body)
        for name in signed:
            for value in self.headers.get_all(name) or []:
                request.headers[name] = value
        request.context["timestamp"] = timestamp
        credentials = scaffold.Credentials(cred["access_key_id"], cred["secret_access_key"],
                                           cred.get("session_token"))
        signer_class = scaffold.SigV4Auth
        if any(name in scaffold.SIGNED_HEADERS_BLACKLIST for name in signed):
            signer_class = scaffold.DeclaredHeadersSigV4Auth
        signer = signer_class(credentials, auth.service, auth.region)
        canonical_request = signer.canonical_request(request)
        string_to_sign = signer.string_to_sign(request, canonical_request)
        auth.expected_creq = canonical_request
        return signer.signature(string_to_sign, request)

    # --- the operation --------------------------------------------------------------------
    def send_email(self, config, record, request):
        if self.command != "POST" or self.path.split("?")[0] != SEND_PATH:
            raise ApiError("NotFoundException", "Unknown operation")
        if not isinstance(request, dict):
            raise ApiError("SerializationException")
        content = request.get("Content")
        raw = content.get("Raw") if isinstance(content, dict) else None
        data = raw.get("Data") if isinstance(raw, dict) else None
        if not isinstance(data, str):
            raise ApiError("BadRequestException", "Content.Raw.Data is required")
        if len(data) > RAW_MAX:
            raise ApiError("MessageRejected", "Message length is more than 40 megabytes")
        try:
            message = base64.b64decode(data, validate=True)
        except ValueError:
            raise ApiError("SerializationException", "Content.Raw.Data is not base64") from None
        recipients = record["recipients"]
        if not isinstance(recipients, list) or not recipients or \
                not all(isinstance(r, str) and "@" in r for r in recipients):
            raise ApiError("BadRequestException", "Missing final '@domain'")
        if len(recipients) > 50:
            raise ApiError("MessageRejected", "Recipient count exceeds 50.")
        if b"\r\n\r\n" not in message and b"\n\n" not in message:
            raise ApiError("MessageRejected", "Message must contain a header and a body")
        sender = record["sender"]
        if config.verified is not None:
            identity = sender or ""
            domain = identity.rsplit("@", 1)[-1]
            if identity not in config.verified and domain not in config.verified:
                raise ApiError("MessageRejected",
                               "Email address is not verified. The following identities failed "
                               f"the check in region {config.region.upper()}: {identity}")
        mid = message_id()
        record["message_id"], record["size"] = mid, len(message)
        os.makedirs(self.state.messages_dir, exist_ok=True)
        base = os.path.join(self.state.messages_dir, mid)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(message)
        meta = {"message_id": mid, "from": sender, "to": recipients, "size": len(message),
                "access_key_id": record["access_key_id"], "time": round(time.time(), 3)}
        with open(base + ".json.tmp", "w", encoding="utf-8") as f:
            json.dump(meta, f)
        os.replace(base + ".eml.tmp", base + ".eml")
        os.replace(base + ".json.tmp", base + ".json")
        return {"MessageId": mid}

    # --- faults ---------------------------------------------------------------------------
    def drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def hang(self, rule):
        self.close_connection = True
        deadline = None if rule.max_ms is None else time.monotonic() + rule.max_ms / 1000.0
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
                        break
                except (ssl.SSLWantReadError, BlockingIOError):
                    continue
                except OSError:
                    break
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class FaultHandled(Exception):
    pass


def main():
    parser = argparse.ArgumentParser(description="Stand-in Amazon SES API v2 (SendEmail)")
    parser.add_argument("--config", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--messages-dir", required=True, help="where accepted messages go")
    parser.add_argument("--log", help="request log, one JSON object per line")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    if scaffold.SigV4Auth is None:
        print("fake_sesv2: botocore is missing (Debian: apt install python3-botocore)",
              file=sys.stderr)
        return 3
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    try:
        state = State(args.config, args.messages_dir)
    except (OSError, ValueError, ConfigError) as e:
        print(f"fake_sesv2: {args.config}: {e}", file=sys.stderr)
        return 2
    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["http/1.1"])
        context.load_cert_chain(args.tls_cert, args.tls_key)
    if args.log:
        state.log_file = open(args.log, "a", encoding="utf-8")
    Handler.state = state
    scaffold.Server.address_family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    server = scaffold.Server((args.bind, args.port), Handler, context)

    def stop(signum, frame):
        server.stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scaffold.write_atomically(args.port_file, f"{server.server_address[1]}\n")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.stopping.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
