# SPDX-License-Identifier: MIT
"""aws_sigv4 - Signature Version 4 checks for the AWS stand-ins, with botocore as an
independent oracle.

The request is rebuilt from exactly the headers it says it signed, and botocore's SigV4Auth
computes the canonical request, the string to sign and the signature (signing key included)
for the credential scope and the request's own X-Amz-Date. The checks raise ApiError with
the code (and where the service gives one, the message) the real service answers with; the
stand-ins run them in their service's order.
"""

import datetime
import hashlib
import hmac
import ssl
import sys

try:
    from botocore.auth import SIGNED_HEADERS_BLACKLIST, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.compat import HTTPHeaders
    from botocore.credentials import Credentials
except ImportError:  # pragma: no cover - reported at start (botocore_missing)
    SigV4Auth = None

ALGORITHM = "AWS4-HMAC-SHA256"
SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"
SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you "
                      "provided. Check your AWS Secret Access Key and signing method. Consult "
                      "the service documentation for details.")


class ApiError(Exception):
    """An AWS error answer: the error code, and optionally the message, the HTTP status and
    a verbatim "__type" (e.g. "ns#Code"); what is not given comes from the service's table."""

    def __init__(self, code, message=None, status=None, type_name=None):
        super().__init__(code)
        self.code = code
        self.message = message
        self.status = status
        self.type_name = type_name


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


if SigV4Auth is not None:
    class DeclaredHeadersSigV4Auth(SigV4Auth):
        """botocore's SigV4Auth, except that headers botocore itself never signs
        (User-Agent, Expect, X-Amzn-Trace-Id) are kept when the client declared them
        signed: the service canonicalises whatever SignedHeaders lists. Used only in that
        case; canonicalisation, hashing and the signing key are botocore's own."""

        def headers_to_sign(self, request):
            """All the request's headers (it holds only the declared ones)."""
            header_map = HTTPHeaders()
            for name, value in request.headers.items():
                header_map[name.lower()] = value
            return header_map


def botocore_missing(prog):
    """True (after saying so on stderr) when botocore cannot be imported."""
    if SigV4Auth is not None:
        return False
    print(f"{prog}: botocore is missing (Debian: apt install python3-botocore)",
          file=sys.stderr)
    return True


def amz_date(epoch):
    """The ISO 8601 basic timestamp (20261128T120000Z) of epoch seconds."""
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(SIGV4_TIMESTAMP)


def parse_amz_date(text):
    """Epoch seconds of an ISO 8601 basic timestamp (20261128T120000Z), or None."""
    try:
        when = datetime.datetime.strptime(text, SIGV4_TIMESTAMP)
    except (TypeError, ValueError):
        return None
    return when.replace(tzinfo=datetime.timezone.utc).timestamp()


def parse_authorization(headers, auth):
    """Fill auth from the Authorization header (leniently: also to match fault rules and to
    log); return the list of missing parameters (None when there is no header at all)."""
    header = headers.get("Authorization")
    auth.token_present = headers.get("X-Amz-Security-Token") is not None
    if header is None:
        return None
    algorithm, _, rest = header.strip().partition(" ")
    auth.algorithm = algorithm
    params = {}
    for part in rest.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            params[key.strip()] = value.strip()
    credential = params.get("Credential")
    if credential is not None:
        parts = credential.split("/")
        auth.credential_parts = parts
        auth.access_key_id = parts[0]
        if len(parts) == 5:
            auth.scope_date, auth.region, auth.service = parts[1], parts[2], parts[3]
    if "SignedHeaders" in params:
        auth.signed_headers = [h for h in params["SignedHeaders"].split(";") if h]
        auth.token_signed = "x-amz-security-token" in [h.lower() for h in auth.signed_headers]
    auth.signature = params.get("Signature")
    return [p for p in ("Credential", "Signature", "SignedHeaders") if p not in params]


def signed_header_names(auth):
    """The declared signed headers in lower case; Host must be among them."""
    signed = [h.lower() for h in auth.signed_headers]
    if "host" not in signed:
        raise ApiError("IncompleteSignatureException",
                       "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                       "Authorization.")
    return signed


def check_service_and_region(auth, service, region):
    """The credential scope names this service and the configured region."""
    if auth.service != service:
        raise ApiError("InvalidSignatureException",
                       f"Credential should be scoped to correct service: '{service}'. ")
    if auth.region != region:
        raise ApiError("InvalidSignatureException",
                       "Credential should be scoped to a valid region.")


def find_credential(headers, auth, credentials, require_signed_token=True):
    """The configured credential (a dict, by access key id) the request is signed with,
    with its session token, signed unless not require_signed_token; else
    UnrecognizedClientException. A credential without a token wants none."""
    cred = credentials.get(auth.access_key_id)
    if cred is None:
        raise ApiError("UnrecognizedClientException")
    auth.credential = cred
    tokens = headers.get_all("X-Amz-Security-Token") or []
    want = cred.get("session_token")
    if want:
        if tokens != [want]:
            raise ApiError("UnrecognizedClientException")
        if require_signed_token and not auth.token_signed:
            raise ApiError("UnrecognizedClientException")
    elif tokens:
        raise ApiError("UnrecognizedClientException")
    return cred


def check_clock_skew(timestamp, signed_at, now, limit, window):
    """The signing time is within limit seconds of now (the server clock); window is how
    the message names the limit ("5 min.")."""
    if signed_at < now - limit:
        raise ApiError("InvalidSignatureException",
                       f"Signature expired: {timestamp} is now earlier than "
                       f"{amz_date(now - limit)} ({amz_date(now)} - {window})")
    if signed_at > now + limit:
        raise ApiError("InvalidSignatureException",
                       f"Signature not yet current: {timestamp} is still later than "
                       f"{amz_date(now + limit)} ({amz_date(now)} + {window})")


def check_signature(handler, auth, cred, timestamp, signed, body):
    """The request's signature is botocore's for it, and a signed X-Amz-Content-SHA256 is
    the body's (botocore trusts a declared payload hash; the service hashes the payload).
    Sets auth.signature_valid (and auth.problem); else InvalidSignatureException."""
    expected = botocore_signature(handler, auth, cred, timestamp, signed, body)
    provided = (auth.signature or "").lower()
    auth.signature_valid = hmac.compare_digest(expected.encode(), provided.encode())
    if auth.signature_valid:
        declared_sha = handler.headers.get("X-Amz-Content-SHA256")
        if ("x-amz-content-sha256" in signed and declared_sha is not None
                and declared_sha.strip() != hashlib.sha256(body).hexdigest()):
            auth.signature_valid = False
            auth.problem = "the signed X-Amz-Content-SHA256 is not the body's SHA-256"
    if not auth.signature_valid:
        raise ApiError("InvalidSignatureException", SIGNATURE_MISMATCH)


def botocore_signature(handler, auth, cred, timestamp, signed, body):
    """botocore's SigV4 signature of handler's request as the client declared it signed:
    an AWSRequest with the method, URL path (and query), body and exactly the signed
    headers (their received values, repeated ones in order), signed by SigV4Auth for the
    credential scope's region and service at the request's own timestamp. Leaves the
    canonical request and the string to sign in auth (for the log)."""
    scheme = "https" if isinstance(handler.connection, ssl.SSLSocket) else "http"
    host = handler.headers.get("Host") or "%s:%d" % handler.server.server_address[:2]
    request = AWSRequest(method=handler.command, url=f"{scheme}://{host}{handler.path}",
                         data=body)
    for name in signed:
        for value in handler.headers.get_all(name) or []:
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
