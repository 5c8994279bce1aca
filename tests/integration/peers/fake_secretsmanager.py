#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""fake_secretsmanager - a stand-in for AWS Secrets Manager (GetSecretValue) for tests.

It speaks the real wire protocol (AWS JSON 1.1: POST / with X-Amz-Target) and checks
every request's Signature Version 4 with botocore as an independent oracle: the request
is rebuilt from exactly the headers it says it signed, and botocore's SigV4Auth computes
the canonical request, the string to sign and the signature (signing key included) for
the credential scope and the request's own X-Amz-Date. Errors look like the real
service's (JSON "__type", x-amzn-ErrorType, status codes, message texts), every answer
carries a Date header from the (optionally shifted) server clock, and faults (errors,
raw non-JSON statuses, hangs, drops, delays, huge bodies, expired tokens) are injected
from the "faults" list of the configuration. Every request is logged as one JSON line.

    fake_secretsmanager.py --config CONFIG.json --port-file FILE [--log FILE]
                           [--tls-cert CERT.pem --tls-key KEY.pem] [--bind 127.0.0.1]

The configuration file is read again when it changes (or on SIGHUP); rule counters then
start afresh. See README.md next to this file for the configuration keys.
"""

import argparse
import base64
import datetime
import email.utils
import hashlib
import hmac
import http.server
import json
import os
import re
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import uuid

try:
    from botocore.auth import SIGNED_HEADERS_BLACKLIST, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.compat import HTTPHeaders
    from botocore.credentials import Credentials
except ImportError:  # pragma: no cover - reported at start
    SigV4Auth = None

SERVICE = "secretsmanager"
TARGET_PREFIX = "secretsmanager."
CONTENT_TYPE = "application/x-amz-json-1.1"
SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"
ALGORITHM = "AWS4-HMAC-SHA256"
MAX_BODY = 16 * 1024 * 1024

# The defaults of the stand-in IMDS (fake_imds.py): used when "credentials" is absent,
# so the two stand-ins work together without configuration.
IMDS_DEFAULT_CREDENTIALS = [{
    "access_key_id": "ASIAFAKEIMDS00000001",
    "secret_access_key": "fakeSecretAccessKeyFromTheStandInImds0001",
    "session_token": "FakeSessionTokenFromTheStandInImds//////////0001=",
    "role": "mailinit-test-role",
}]

SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you "
                      "provided. Check your AWS Secret Access Key and signing method. Consult "
                      "the service documentation for details.")

# code -> (HTTP status, default message, kind). The kind decides how the error is
# serialised: "op" errors are modelled by Secrets Manager itself (namespace
# com.amazonaws.secretsmanager, member "Message"), "auth" errors come from the front end
# (plain __type, member "message"), "coral"/"validate" from the framework.
ERRORS = {
    "ResourceNotFoundException": (400, "Secrets Manager can't find the specified secret.", "op"),
    "InvalidParameterException": (400, "You provided an invalid value for a parameter.", "op"),
    "InvalidRequestException": (
        400, "You can't perform this operation on the secret because it was marked for "
        "deletion.", "op"),
    "DecryptionFailure": (
        400, "Secrets Manager can't decrypt the protected secret text using the provided KMS "
        "key.", "op"),
    "InternalServiceError": (500, "An error occurred on the server side.", "op"),
    "LimitExceededException": (400, "The request failed because it would exceed one of the "
                               "Secrets Manager quotas.", "op"),
    "AccessDeniedException": (400, "Access denied", "auth"),
    "ThrottlingException": (400, "Rate exceeded", "auth"),
    "ServiceUnavailable": (503, "Service Unavailable", "auth"),
    "InternalFailure": (500, "The request processing has failed because of an unknown error, "
                        "exception or failure.", "auth"),
    "ExpiredTokenException": (400, "The security token included in the request is expired",
                              "auth"),
    "UnrecognizedClientException": (400, "The security token included in the request is "
                                    "invalid.", "auth"),
    "InvalidSignatureException": (400, SIGNATURE_MISMATCH, "auth"),
    "IncompleteSignatureException": (400, "Incomplete signature", "auth"),
    "MissingAuthenticationTokenException": (400, "Missing Authentication Token", "auth"),
    "RequestExpired": (400, "Request has expired.", "auth"),
    "UnknownOperationException": (400, None, "coral"),
    "SerializationException": (400, "Start of structure or map found where not expected.",
                               "coral"),
    "ValidationException": (400, "1 validation error detected", "validate"),
}
NAMESPACES = {
    "op": "com.amazonaws.secretsmanager",
    "coral": "com.amazon.coral.service",
    "validate": "com.amazon.coral.validate",
    "auth": "com.amazon.coral.service",
}

CONFIG_KEYS = {
    "region", "account_id", "instance_id", "clock_offset_seconds", "clock_skew_limit_seconds",
    "namespaced_error_types", "message_key", "error_type_header", "require_signed_token",
    "status_overrides", "credentials", "secrets", "faults", "created_date",
}
CREDENTIAL_KEYS = {"access_key_id", "secret_access_key", "session_token", "expired", "role",
                   "user", "denied"}
SECRET_KEYS = {"SecretString", "SecretBinary", "VersionId", "VersionStages", "arn", "ARN",
               "Name", "CreatedDate", "Description", "error", "message", "status"}
ACTIONS = {"error", "status_raw", "hang", "drop", "slow", "big", "expired_token"}
PRE_AUTH_ACTIONS = {"hang", "drop"}
RULE_KEYS = {"times", "secret", "target", "access_key_id", "action", "type", "status",
             "message", "body", "content_type", "delay_ms", "size", "fill", "chunked",
             "max_ms", "rst", "close"}


class ConfigError(Exception):
    pass


class ClientGone(Exception):
    """The client closed the connection in the middle of a request."""


class FaultHandled(Exception):
    """A drop/hang fault ended the connection without an answer (already logged)."""


def amz_date(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(SIGV4_TIMESTAMP)


def parse_amz_date(text):
    """epoch seconds of an ISO 8601 basic timestamp (20261128T120000Z), or None."""
    try:
        when = datetime.datetime.strptime(text, SIGV4_TIMESTAMP)
    except (TypeError, ValueError):
        return None
    return when.replace(tzinfo=datetime.timezone.utc).timestamp()


def http_error_page(status):
    """The small HTML page a load balancer answers with (for "status_raw")."""
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    return (f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
            f"<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n").encode()


def default_suffix(name):
    # The six random characters Secrets Manager appends to a secret's ARN; stable per name.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    digest = hashlib.sha256(name.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:6])


class Rule:
    """One fault rule; "times" is consumed under the state lock."""

    def __init__(self, index, spec):
        where = f"faults[{index}]"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: not an object")
        unknown = set(spec) - RULE_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
        self.index = index
        self.action = spec.get("action")
        if self.action not in ACTIONS:
            raise ConfigError(f"{where}: \"action\" must be one of {sorted(ACTIONS)}")
        times = spec.get("times")
        if times is not None and (not isinstance(times, int) or times < 0):
            raise ConfigError(f"{where}: \"times\" must be a non-negative integer")
        self.remaining = times  # None: unlimited
        self.secret = spec.get("secret")
        self.target = spec.get("target")
        if self.target is not None and "." not in self.target:
            self.target = TARGET_PREFIX + self.target
        self.access_key_id = spec.get("access_key_id")
        self.type = spec.get("type")
        if self.action == "error" and not isinstance(self.type, str):
            raise ConfigError(f"{where}: action \"error\" needs \"type\" (an error code)")
        self.status = spec.get("status")
        if self.action == "status_raw" and self.status is None:
            self.status = 502
        if self.status is not None and not isinstance(self.status, int):
            raise ConfigError(f"{where}: \"status\" must be an integer")
        self.message = spec.get("message")
        body = spec.get("body")
        self.body = None if body is None else (body.encode() if isinstance(body, str)
                                               else bytes(body))
        self.content_type = spec.get("content_type", "text/html")
        self.delay_ms = int(spec.get("delay_ms", 0))
        self.size = int(spec.get("size", 2 * 1024 * 1024))
        self.fill = str(spec.get("fill", "A")) or "A"
        if any(c in self.fill for c in '"\\') or any(ord(c) < 0x20 for c in self.fill):
            raise ConfigError(f"{where}: \"fill\" must not need JSON escaping")
        self.chunked = bool(spec.get("chunked", False))
        self.max_ms = spec.get("max_ms")
        self.rst = bool(spec.get("rst", False))
        self.close = bool(spec.get("close", False))

    def matches(self, target, secret_id, access_key_id):
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.secret is not None and self.secret != secret_id:
            return False
        if self.target is not None and self.target != target:
            return False
        if self.access_key_id is not None and self.access_key_id != access_key_id:
            return False
        return True


class Secret:
    def __init__(self, key, spec, region, account):
        where = f"secrets[{key!r}]"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: not an object")
        unknown = set(spec) - SECRET_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
        arn = spec.get("arn") or spec.get("ARN")
        if key.startswith("arn:"):
            arn = arn or key
        if arn is not None:
            m = re.match(r"^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:(.+)-[A-Za-z0-9]{6}$", arn)
            if not m:
                raise ConfigError(f"{where}: \"arn\" is not a full secret ARN "
                                  "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX)")
            name = spec.get("Name") or (m.group(1) if key.startswith("arn:") else key)
        else:
            name = spec.get("Name") or key
            arn = (f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-"
                   f"{default_suffix(name)}")
        self.name = name
        self.arn = arn
        self.partial_arn = arn[:-7]  # without "-XXXXXX"
        self.string = spec.get("SecretString")
        self.binary = spec.get("SecretBinary")
        self.error = spec.get("error")
        if self.error is None and (self.string is None) == (self.binary is None):
            raise ConfigError(f"{where}: needs exactly one of \"SecretString\", "
                              "\"SecretBinary\" (base64) or \"error\"")
        if self.binary is not None:
            try:
                base64.b64decode(self.binary, validate=True)
            except ValueError:
                raise ConfigError(f"{where}: \"SecretBinary\" is not base64") from None
        self.error_message = spec.get("message")
        self.error_status = spec.get("status")
        content = json.dumps([name, self.string, self.binary], sort_keys=True)
        self.version_id = spec.get("VersionId") or str(uuid.uuid5(uuid.NAMESPACE_URL, content))
        self.stages = list(spec.get("VersionStages") or ["AWSCURRENT"])
        self.created = spec.get("CreatedDate", 1700000000.123)
        self.description = spec.get("Description")

    def ids(self):
        return {self.name, self.arn, self.partial_arn}


class Config:
    """One parsed, validated configuration file."""

    def __init__(self, raw):
        if not isinstance(raw, dict):
            raise ConfigError("the configuration must be a JSON object")
        unknown = set(raw) - CONFIG_KEYS
        if unknown:
            raise ConfigError(f"unknown configuration keys {sorted(unknown)}")
        self.region = raw.get("region", "eu-west-1")
        self.account = str(raw.get("account_id", "123456789012"))
        self.instance_id = raw.get("instance_id", "i-0123456789abcdef0")
        self.clock_offset = float(raw.get("clock_offset_seconds", 0))
        self.skew_limit = int(raw.get("clock_skew_limit_seconds", 300))
        self.namespaced = bool(raw.get("namespaced_error_types", True))
        self.message_key = raw.get("message_key", "auto")
        if self.message_key not in ("auto", "message", "Message"):
            raise ConfigError("\"message_key\" must be \"auto\", \"message\" or \"Message\"")
        self.error_type_header = bool(raw.get("error_type_header", True))
        self.require_signed_token = bool(raw.get("require_signed_token", True))
        self.status_overrides = {str(k): int(v) for k, v in
                                 (raw.get("status_overrides") or {}).items()}
        creds = raw.get("credentials", IMDS_DEFAULT_CREDENTIALS)
        if not isinstance(creds, list):
            raise ConfigError("\"credentials\" must be a list of objects")
        self.credentials = {}
        for i, cred in enumerate(creds):
            if not isinstance(cred, dict) or set(cred) - CREDENTIAL_KEYS:
                raise ConfigError(f"credentials[{i}]: keys must be among "
                                  f"{sorted(CREDENTIAL_KEYS)}")
            if not cred.get("access_key_id") or not cred.get("secret_access_key"):
                raise ConfigError(f"credentials[{i}]: needs \"access_key_id\" and "
                                  "\"secret_access_key\"")
            self.credentials[cred["access_key_id"]] = cred
        secrets = raw.get("secrets") or {}
        if not isinstance(secrets, dict):
            raise ConfigError("\"secrets\" must be an object (name or ARN -> secret)")
        self.secrets = [Secret(k, v, self.region, self.account) for k, v in secrets.items()]
        faults = raw.get("faults") or []
        if not isinstance(faults, list):
            raise ConfigError("\"faults\" must be a list")
        self.rules = [Rule(i, r) for i, r in enumerate(faults)]

    def find_secret(self, secret_id):
        for secret in self.secrets:
            if secret_id in secret.ids():
                return secret
        return None


def load_config(path):
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    return Config(raw)


class State:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.config = load_config(path)
        self.stamp = self._stamp()
        self.log_file = None
        self.connections = 0

    def _stamp(self):
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def reload(self, force=False):
        """Read the configuration again when the file changed; keep the old one if broken."""
        stamp = self._stamp()
        with self.lock:
            if not force and (stamp is None or stamp == self.stamp):
                return
            try:
                config = load_config(self.path)
            except (OSError, ValueError, ConfigError) as e:
                print(f"fake_secretsmanager: {self.path}: {e} (keeping the previous "
                      "configuration)", file=sys.stderr, flush=True)
                self.stamp = stamp
                return
            self.config = config
            self.stamp = stamp

    def now(self):
        return time.time() + self.config.clock_offset

    def next_connection(self):
        with self.lock:
            self.connections += 1
            return self.connections

    def take_rule(self, config, target, secret_id, akid, pre_auth):
        """Consume and return the first matching rule with uses left when it applies in
        this phase: drop/hang before the signature check, all others after it."""
        with self.lock:
            for rule in config.rules:
                if not rule.matches(target, secret_id, akid):
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
        line = json.dumps(record, separators=(",", ":"))
        with self.lock:
            self.log_file.write(line + "\n")
            self.log_file.flush()


class ApiError(Exception):
    def __init__(self, code, message=None, status=None, type_name=None):
        super().__init__(code)
        self.code = code
        self.message = message
        self.status = status
        self.type_name = type_name  # verbatim "__type" (e.g. "ns#Code"), else derived


if SigV4Auth is not None:
    class DeclaredHeadersSigV4Auth(SigV4Auth):
        """botocore's SigV4Auth, except that headers botocore itself never signs
        (User-Agent, Expect, X-Amzn-Trace-Id) are kept when the client declared them
        signed: the service canonicalises whatever SignedHeaders lists. Used only in that
        case; canonicalisation, hashing and the signing key are botocore's own."""

        def headers_to_sign(self, request):
            header_map = HTTPHeaders()
            for name, value in request.headers.items():
                header_map[name.lower()] = value
            return header_map


class Auth:
    """What the request's Authorization header says, and what the checks found."""

    def __init__(self):
        self.algorithm = None
        self.credential_parts = []
        self.access_key_id = None
        self.region = None
        self.service = None
        self.scope_date = None
        self.signed_headers = []
        self.signature = None
        self.signature_valid = None
        self.token_present = False
        self.token_signed = False
        self.credential = None
        self.expected_creq = None
        self.expected_sts = None
        self.problem = None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # idle keep-alive connections

    state: State  # set on the class by main()

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler's API
        pass

    def setup(self):
        super().setup()
        self.conn_id = self.state.next_connection()
        self.conn_requests = 0

    def handle(self):
        try:
            super().handle()
        finally:
            if self.conn_requests == 0:
                # e.g. a client that verifies the host name after the TLS handshake and
                # then hangs up because the certificate is for another host
                self.state.log({"target": None, "status": None, "action": "no_request",
                                "connection": self.conn_id,
                                "tls": isinstance(self.connection, ssl.SSLSocket),
                                "time": round(time.time(), 3)})

    # The real service sends no Server header; Date comes from the (shifted) server clock.
    def send_response(self, code, message=None):
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def date_time_string(self, timestamp=None):
        return email.utils.formatdate(self.state.now() if timestamp is None else timestamp,
                                      usegmt=True)

    def do_POST(self):
        self.dispatch()

    do_GET = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_POST

    # --- reading -------------------------------------------------------------------------
    def read_exact(self, n):
        data = self.rfile.read(n)
        if data is None or len(data) < n:
            raise ClientGone()
        return data

    def read_body(self):
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
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.read_exact(size))
                self.rfile.readline(1024)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        n = int(length.strip())
        if n < 0 or n > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.read_exact(n) if n else b""

    # --- writing -------------------------------------------------------------------------
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
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def send_json(self, status, obj, close=False):
        body = json.dumps(obj, separators=(",", ":")).encode()
        self.send_bytes(status, body, CONTENT_TYPE, close=close)

    def send_error_json(self, config, err, close=False):
        """Answer an ApiError the way the service serialises it; returns (status, code)."""
        code = err.code
        if err.type_name and "#" in err.type_name:
            code = err.type_name.rsplit("#", 1)[1]
        status_default, message_default, kind = ERRORS.get(code, (400, None, "op"))
        status = err.status or config.status_overrides.get(code) or status_default
        message = err.message if err.message is not None else message_default
        if err.type_name:
            type_name = err.type_name
        elif config.namespaced and kind in ("op", "coral", "validate"):
            type_name = f"{NAMESPACES[kind]}#{code}"
        else:
            type_name = code
        body = {"__type": type_name}
        if message is not None:
            key = config.message_key
            if key == "auto":
                key = "Message" if kind == "op" else "message"
            body[key] = message
        extra = {}
        if config.error_type_header:
            ns = type_name.rsplit("#", 1)[0] if "#" in type_name else NAMESPACES[kind]
            extra["x-amzn-ErrorType"] = f"{code}:http://internal.amazon.com/coral/{ns}/"
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_bytes(status, data, CONTENT_TYPE, extra=extra, close=close)
        return status, code

    # --- the request ---------------------------------------------------------------------
    def dispatch(self):
        self.state.reload()
        config = self.state.config
        self.conn_requests += 1
        self.request_id = str(uuid.uuid4())
        started = time.monotonic()
        record = {
            "target": self.headers.get("X-Amz-Target"),
            "secret_id": None,
            "access_key_id": None,
            "session_token_present": self.headers.get("X-Amz-Security-Token") is not None,
            "session_token_signed": False,
            "signature_valid": None,
            "region": None,
            "status": None,
            "error_type": None,
            "action": None,
            "x_amz_date": self.headers.get("X-Amz-Date"),
            "method": self.command,
            "path": self.path,
            "connection": self.conn_id,
            "connection_request": self.conn_requests,
            "tls": isinstance(self.connection, ssl.SSLSocket),
            "request_id": self.request_id,
            "signed_headers": None,
            "user_agent": self.headers.get("User-Agent"),
            "time": round(time.time(), 3),
        }
        try:
            try:
                body = self.read_body()
            except ValueError:
                record["status"] = 400
                record["error_type"] = "BadRequest"
                self.state.log(record)
                self.send_bytes(400, b"", "text/plain", close=True)
                return
            self.handle_api(config, record, body)
        except FaultHandled:
            self.close_connection = True
            return
        except ClientGone:
            record["action"] = record["action"] or "client_gone"
            self.close_connection = True
            self.state.log(record)
            return
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            self.close_connection = True
            record["action"] = record["action"] or "client_gone"
        record["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
        self.state.log(record)

    def handle_api(self, config, record, body):
        request = None
        try:
            request = json.loads(body) if body else None
        except ValueError:
            pass
        secret_id = request.get("SecretId") if isinstance(request, dict) else None
        if isinstance(secret_id, str):
            record["secret_id"] = secret_id
        target = record["target"]
        auth = Auth()
        self.parse_authorization(auth)  # lenient: only to match and log
        self.fill_auth(record, auth)

        # drop/hang: before the signature check
        rule = self.state.take_rule(config, target, record["secret_id"], auth.access_key_id,
                                    pre_auth=True)
        if rule is not None:
            record["action"] = rule.action
            if rule.delay_ms:
                time.sleep(rule.delay_ms / 1000.0)
            self.state.log(record)
            if rule.action == "drop":
                self.drop(rule)
            else:
                self.hang(rule)
            raise FaultHandled()

        try:
            self.authenticate(config, auth, body)
        except ApiError as err:
            self.fill_auth(record, auth)
            record["status"], record["error_type"] = self.send_error_json(config, err)
            return
        self.fill_auth(record, auth)

        rule = self.state.take_rule(config, target, record["secret_id"], auth.access_key_id,
                                    pre_auth=False)
        if rule is not None:
            record["action"] = rule.action
            if rule.delay_ms:
                time.sleep(rule.delay_ms / 1000.0)
            if rule.action != "slow":
                self.fault(config, rule, record, request)
                return
        try:
            result = self.operation(config, auth, target, request)
        except ApiError as err:
            record["status"], record["error_type"] = self.send_error_json(
                config, err, close=bool(rule and rule.close))
            return
        self.send_json(200, result, close=bool(rule and rule.close))
        record["status"] = 200

    @staticmethod
    def fill_auth(record, auth):
        record["access_key_id"] = auth.access_key_id
        record["region"] = auth.region
        record["session_token_signed"] = auth.token_signed
        record["signature_valid"] = auth.signature_valid
        record["signed_headers"] = ";".join(auth.signed_headers) if auth.signed_headers else None
        if auth.signature_valid is False and auth.expected_creq is not None:
            record["expected_canonical_request"] = auth.expected_creq
            record["expected_string_to_sign"] = auth.expected_sts
        if auth.problem:
            record["signature_problem"] = auth.problem

    # --- Signature Version 4 ---------------------------------------------------------------
    def parse_authorization(self, auth):
        """Fill auth from the Authorization header; return the list of missing parameters
        (None when there is no usable header at all)."""
        header = self.headers.get("Authorization")
        auth.token_present = self.headers.get("X-Amz-Security-Token") is not None
        if header is None:
            return None
        header = header.strip()
        algorithm, _, rest = header.partition(" ")
        auth.algorithm = algorithm
        params = {}
        for part in rest.split(","):
            key, sep, value = part.strip().partition("=")
            if sep:
                params[key.strip()] = value.strip()
        missing = [p for p in ("Credential", "Signature", "SignedHeaders") if p not in params]
        credential = params.get("Credential")
        if credential is not None:
            parts = credential.split("/")
            auth.credential_parts = parts
            auth.access_key_id = parts[0]
            if len(parts) == 5:
                auth.scope_date, auth.region, auth.service = parts[1], parts[2], parts[3]
        if "SignedHeaders" in params:
            auth.signed_headers = [h for h in params["SignedHeaders"].split(";") if h]
            auth.token_signed = "x-amz-security-token" in [h.lower() for h in
                                                           auth.signed_headers]
        auth.signature = params.get("Signature")
        return missing

    def authenticate(self, config, auth, body):
        header = self.headers.get("Authorization")
        missing = self.parse_authorization(auth)
        if header is None:
            raise ApiError("MissingAuthenticationTokenException")
        if auth.algorithm != ALGORITHM:
            raise ApiError("IncompleteSignatureException",
                           f"Unsupported AWS 'algorithm': '{auth.algorithm}'")
        if missing:
            msg = " ".join(f"Authorization header requires '{p}' parameter." for p in missing)
            raise ApiError("IncompleteSignatureException", f"{msg} Authorization={header}")
        parts = auth.credential_parts
        if len(parts) != 5:
            raise ApiError("IncompleteSignatureException",
                           "Credential must have exactly 5 slash-delimited elements, e.g. "
                           f"keyid/date/region/service/term, got '{'/'.join(parts)}'")
        signed = [h.lower() for h in auth.signed_headers]
        if "host" not in signed:
            raise ApiError("IncompleteSignatureException",
                           "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                           "Authorization.")
        # the time the request was signed at
        x_amz_date = self.headers.get("X-Amz-Date")
        if x_amz_date is not None:
            timestamp = x_amz_date.strip()
            signed_at = parse_amz_date(timestamp)
            if signed_at is None:
                raise ApiError("IncompleteSignatureException",
                               f"Date must be in ISO-8601 'basic format'. Got '{timestamp}'. "
                               "See http://en.wikipedia.org/wiki/ISO_8601")
        elif self.headers.get("Date") is not None:
            try:
                signed_at = email.utils.parsedate_to_datetime(self.headers["Date"]).timestamp()
            except (TypeError, ValueError):
                raise ApiError("IncompleteSignatureException",
                               f"Date must be in RFC 1123 format. Got '{self.headers['Date']}'"
                               ) from None
            timestamp = amz_date(signed_at)
        else:
            raise ApiError("IncompleteSignatureException",
                           "Authorization header requires existence of either a 'X-Amz-Date' "
                           f"or a 'Date' header. Authorization={header}")
        # the credential scope
        if parts[4] != "aws4_request":
            raise ApiError("InvalidSignatureException",
                           "Credential should be scoped with a valid terminator: "
                           f"'aws4_request', not '{parts[4]}'.")
        if auth.service != SERVICE:
            raise ApiError("InvalidSignatureException",
                           f"Credential should be scoped to correct service: '{SERVICE}'. ")
        if auth.region != config.region:
            raise ApiError("InvalidSignatureException",
                           "Credential should be scoped to a valid region.")
        if auth.scope_date != timestamp[:8]:
            raise ApiError("InvalidSignatureException",
                           "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                           f"version of date from HTTP: '{auth.scope_date}' != "
                           f"'{timestamp[:8]}', from '{timestamp}'.")
        # the access key and its session token
        cred = config.credentials.get(auth.access_key_id)
        if cred is None:
            raise ApiError("UnrecognizedClientException")
        auth.credential = cred
        tokens = self.headers.get_all("X-Amz-Security-Token") or []
        want = cred.get("session_token")
        if want:
            if tokens != [want]:
                raise ApiError("UnrecognizedClientException")
            if config.require_signed_token and not auth.token_signed:
                raise ApiError("UnrecognizedClientException")
        elif tokens:
            raise ApiError("UnrecognizedClientException")
        if cred.get("expired"):
            raise ApiError("ExpiredTokenException")
        # clock skew
        now = self.state.now()
        limit = config.skew_limit
        minutes = f"{limit // 60} min." if limit % 60 == 0 else f"{limit} sec."
        if signed_at < now - limit:
            raise ApiError("InvalidSignatureException",
                           f"Signature expired: {timestamp} is now earlier than "
                           f"{amz_date(now - limit)} ({amz_date(now)} - {minutes})")
        if signed_at > now + limit:
            raise ApiError("InvalidSignatureException",
                           f"Signature not yet current: {timestamp} is still later than "
                           f"{amz_date(now + limit)} ({amz_date(now)} + {minutes})")
        # the signature, computed by botocore
        expected = self.botocore_signature(auth, cred, timestamp, signed, body)
        provided = (auth.signature or "").lower()
        auth.signature_valid = hmac.compare_digest(expected.encode(), provided.encode())
        if auth.signature_valid:
            declared_sha = self.headers.get("X-Amz-Content-SHA256")
            if ("x-amz-content-sha256" in signed and declared_sha is not None
                    and declared_sha.strip() != hashlib.sha256(body).hexdigest()):
                # botocore trusts a declared payload hash; the service hashes the payload.
                auth.signature_valid = False
                auth.problem = "the signed X-Amz-Content-SHA256 is not the body's SHA-256"
        if not auth.signature_valid:
            raise ApiError("InvalidSignatureException", SIGNATURE_MISMATCH)

    def botocore_signature(self, auth, cred, timestamp, signed, body):
        """botocore's SigV4 signature of this request as the client declared it signed:
        an AWSRequest with the method, URL path (and query), body and exactly the signed
        headers (their received values, repeated ones in order), signed by SigV4Auth for
        the credential scope's region and service at the request's own timestamp."""
        scheme = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"
        host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
        request = AWSRequest(method=self.command, url=f"{scheme}://{host}{self.path}",
                             data=body)
        for name in signed:
            for value in self.headers.get_all(name) or []:
                request.headers[name] = value  # HTTPHeaders: appends, keeps repeats
        # botocore takes the signing time from here (add_auth would set it from utcnow()).
        request.context["timestamp"] = timestamp
        credentials = Credentials(cred["access_key_id"], cred["secret_access_key"],
                                  cred.get("session_token"))
        signer_class = SigV4Auth
        if any(name in SIGNED_HEADERS_BLACKLIST for name in signed):
            signer_class = DeclaredHeadersSigV4Auth
        signer = signer_class(credentials, auth.service, auth.region)
        canonical_request = signer.canonical_request(request)
        string_to_sign = signer.string_to_sign(request, canonical_request)
        auth.expected_creq = canonical_request
        auth.expected_sts = string_to_sign
        return signer.signature(string_to_sign, request)

    # --- the operations --------------------------------------------------------------------
    def operation(self, config, auth, target, request):
        if self.command != "POST" or self.path != "/":
            raise ApiError("UnknownOperationException")
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != CONTENT_TYPE:
            raise ApiError("SerializationException",
                           f"Unsupported Content-Type: '{self.headers.get('Content-Type')}'; "
                           f"want '{CONTENT_TYPE}'")
        if target not in ("secretsmanager.GetSecretValue", "secretsmanager.DescribeSecret"):
            raise ApiError("UnknownOperationException")
        if not isinstance(request, dict):
            raise ApiError("SerializationException")
        secret_id = request.get("SecretId")
        if secret_id is None:
            raise ApiError("ValidationException",
                           "1 validation error detected: Value null at 'secretId' failed to "
                           "satisfy constraint: Member must not be null")
        if not isinstance(secret_id, str):
            raise ApiError("SerializationException",
                           "STRING_VALUE can not be converted to a String")
        if not 1 <= len(secret_id) <= 2048:
            raise ApiError("ValidationException",
                           f"1 validation error detected: Value '{secret_id}' at 'secretId' "
                           "failed to satisfy constraint: Member must have length less than "
                           "or equal to 2048" if secret_id else
                           "1 validation error detected: Value '' at 'secretId' failed to "
                           "satisfy constraint: Member must have length greater than or "
                           "equal to 1")
        action = target.split(".", 1)[1]
        self.authorize(config, auth, action, secret_id)
        secret = config.find_secret(secret_id)
        if secret is None:
            raise ApiError("ResourceNotFoundException")
        if action == "DescribeSecret":
            return self.describe(secret)
        version_id = request.get("VersionId")
        stage = request.get("VersionStage")
        if version_id is not None and version_id != secret.version_id:
            raise ApiError("ResourceNotFoundException",
                           "Secrets Manager can't find the specified secret value for "
                           f"VersionId: {version_id}")
        if stage is not None and stage not in secret.stages:
            raise ApiError("ResourceNotFoundException",
                           "Secrets Manager can't find the specified secret value for staging "
                           f"label: {stage}")
        if secret.error:
            raise ApiError(secret.error, secret.error_message, secret.error_status,
                           secret.error if "#" in secret.error else None)
        return self.secret_value(secret)

    def authorize(self, config, auth, action, secret_id):
        cred = auth.credential
        denied = cred.get("denied")
        if denied is True or (isinstance(denied, list) and (
                secret_id in denied or any(secret_id in s.ids() and s.name in denied
                                           for s in config.secrets))):
            if cred.get("role"):
                who = (f"arn:aws:sts::{config.account}:assumed-role/{cred['role']}/"
                       f"{config.instance_id}")
            else:
                who = f"arn:aws:iam::{config.account}:user/{cred.get('user', 'mailinit-test')}"
            raise ApiError("AccessDeniedException",
                           f"User: {who} is not authorized to perform: secretsmanager:{action} "
                           f"on resource: {secret_id} because no identity-based policy allows "
                           f"the secretsmanager:{action} action")

    @staticmethod
    def secret_value(secret):
        result = {"ARN": secret.arn, "CreatedDate": secret.created, "Name": secret.name}
        if secret.binary is not None:
            result["SecretBinary"] = secret.binary
        else:
            result["SecretString"] = secret.string
        result["VersionId"] = secret.version_id
        result["VersionStages"] = secret.stages
        return result

    @staticmethod
    def describe(secret):
        result = {"ARN": secret.arn, "Name": secret.name}
        if secret.description is not None:
            result["Description"] = secret.description
        result.update({
            "LastChangedDate": secret.created,
            "LastAccessedDate": float(int(time.time()) // 86400 * 86400),
            "VersionIdsToStages": {secret.version_id: secret.stages},
            "CreatedDate": secret.created,
        })
        return result

    # --- faults ----------------------------------------------------------------------------
    def fault(self, config, rule, record, request):
        action = rule.action
        if action == "error":
            err = ApiError(rule.type.rsplit("#", 1)[-1], rule.message, rule.status,
                           rule.type if "#" in rule.type else None)
            record["status"], record["error_type"] = self.send_error_json(config, err,
                                                                          close=rule.close)
        elif action == "expired_token":
            record["status"], record["error_type"] = self.send_error_json(
                config, ApiError("ExpiredTokenException", rule.message, rule.status),
                close=rule.close)
        elif action == "status_raw":
            body = rule.body if rule.body is not None else http_error_page(rule.status)
            self.send_bytes(rule.status, body, rule.content_type, close=rule.close)
            record["status"] = rule.status
        elif action == "big":
            self.stream_big(config, rule, request)
            record["status"] = 200

    def stream_big(self, config, rule, request):
        secret_id = request.get("SecretId") if isinstance(request, dict) else None
        secret = config.find_secret(secret_id) if isinstance(secret_id, str) else None
        name = secret.name if secret else (secret_id or "big")
        arn = secret.arn if secret else (f"arn:aws:secretsmanager:{config.region}:"
                                         f"{config.account}:secret:{name}-{default_suffix(name)}")
        version = secret.version_id if secret else str(uuid.uuid5(uuid.NAMESPACE_URL, name))
        head = json.dumps({"ARN": arn, "CreatedDate": 1700000000.123, "Name": name,
                           "VersionId": version, "VersionStages": ["AWSCURRENT"]},
                          separators=(",", ":"))[:-1].encode() + b',"SecretString":"'
        tail = b'"}'
        fill_size = max(0, rule.size - len(head) - len(tail))
        total = len(head) + fill_size + len(tail)
        self.send_response(200)
        self.send_header("x-amzn-RequestId", self.request_id)
        self.send_header("Content-Type", CONTENT_TYPE)
        if rule.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(total))
        if rule.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        block = (rule.fill * (65536 // len(rule.fill) + 1)).encode()[:65536]

        def write(data):
            if rule.chunked:
                self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
            else:
                self.wfile.write(data)

        write(head)
        left = fill_size
        while left > 0:
            piece = block[:min(left, len(block))]
            write(piece)
            left -= len(piece)
        write(tail)
        if rule.chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def drop(self, rule):
        """Close the connection without answering (with a TCP RST when "rst")."""
        self.close_connection = True
        sock = self.connection
        try:
            if rule.rst:
                raw = socket.socket(fileno=os.dup(sock.fileno()))
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                raw.close()
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def hang(self, rule):
        """Never answer; return when the client closes (or after max_ms, or at shutdown)."""
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
                        break  # the client went away
                except (ssl.SSLWantReadError, BlockingIOError):
                    continue
                except OSError:
                    break
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, handler, tls_context=None):
        self.stopping = threading.Event()
        self.tls_context = tls_context
        super().__init__(address, handler)

    def finish_request(self, request, client_address):
        # Per connection, in its own thread: no Nagle, and the TLS handshake here (not in
        # accept()) so a stalled or refused handshake never blocks other connections.
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
            self.RequestHandlerClass.state.log({
                "target": None, "status": None, "action": "tls_handshake_failed",
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
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, TimeoutError, ssl.SSLError,
                            ClientGone)):
            return
        super().handle_error(request, client_address)


def write_atomically(path, text):
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description="Stand-in AWS Secrets Manager (GetSecretValue)")
    parser.add_argument("--config", required=True, help="configuration JSON file")
    parser.add_argument("--port-file", required=True, help="where to write the port once listening")
    parser.add_argument("--log", help="request log, one JSON object per line")
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", help="the certificate's private key (PEM)")
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    args = parser.parse_args()

    if SigV4Auth is None:
        print("fake_secretsmanager: botocore is missing (Debian: apt install python3-botocore)",
              file=sys.stderr)
        return 3
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    try:
        state = State(args.config)
    except (OSError, ValueError, ConfigError) as e:
        print(f"fake_secretsmanager: {args.config}: {e}", file=sys.stderr)
        return 2

    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["http/1.1"])
        try:
            context.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as e:
            print(f"fake_secretsmanager: {args.tls_cert}: {e}", file=sys.stderr)
            return 2

    if args.log:
        state.log_file = open(args.log, "a", encoding="utf-8")
    Handler.state = state
    Server.address_family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    server = Server((args.bind, args.port), Handler, context)

    def stop(signum, frame):
        server.stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    def hup(signum, frame):
        threading.Thread(target=state.reload, kwargs={"force": True}, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, hup)

    write_atomically(args.port_file, f"{server.server_address[1]}\n")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.stopping.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
