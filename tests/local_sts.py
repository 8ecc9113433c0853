"""LocalSTS: moto's IAM and STS on loopback, behind a front that checks what moto does not.

moto accepts any web-identity token for any role, any duration and any session-policy size, and
it ignores session policies (measured: ``deploy-and-nhi.md`` §7). The code under test uses this
front as its AWS endpoint (``AWS_ENDPOINT_URL``), and the front does what AWS does before it
forwards a request to moto:

* ``AssumeRoleWithWebIdentity``: the issuer must be an IAM OIDC provider of the account; the
  token's signature is verified against the issuer's JWKS (fetched over HTTP, PyJWT), with
  ``exp`` and ``aud`` (the provider's client ids); the role's trust policy, read from moto, must
  allow the token's claims (``StringEquals``/``StringLike`` on ``<issuer host>:<claim>``);
  ``DurationSeconds`` must lie in 900..MaxSessionDuration, the session name must be valid and the
  session policy at most 2,048 characters. Only then is the call forwarded (signed by the
  front's administrator, because moto crashes on unsigned calls once it enforces IAM) and the
  session's access key id remembered with its policy and expiry.
* Every other call signed with such a key is refused with ``ExpiredToken`` after the expiry,
  and with ``AccessDenied`` unless the session policy allows the action on the IAM user named in
  the request (``aws:CurrentTime`` conditions included). moto itself still enforces the role's
  identity policy at action level (its resource matching for IAM users is wrong, so roles in
  tests allow their actions on ``*``; the session policy is where user scope is checked).

Faults can be injected per action (:meth:`LocalSts.fail`) for the deploy tests.
"""

from __future__ import annotations

import fnmatch
import http.client
import json
import logging
import re
import socket
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import jwt
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from moto import settings as moto_settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.server import ThreadedMotoServer

for _name in ("werkzeug", "moto"):
    # NOTE(tests): AWS's side of the wire; moto logs request headers (session tokens) at DEBUG.
    logging.getLogger(_name).setLevel(logging.ERROR)

ACCOUNT = "123456789012"
REGION = "us-east-1"
MAX_SESSION_POLICY_CHARS = 2048
IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/[^/]+/[^/]+/([a-z0-9-]+)/")
#: Actions AWS allows every caller, whatever its policies say.
_ALWAYS_ALLOWED = {"sts:GetCallerIdentity"}


@dataclass
class Session:
    """One web-identity session the front issued (what it needs to police later calls)."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    role_arn: str
    assumed_role_arn: str
    session_name: str
    policy: dict[str, Any] | None
    expires_at: datetime
    subject: str


@dataclass
class Fault:
    """A failure the front injects for calls of ``action`` made with a session's credentials.

    ``mode``: ``error`` answers the error without forwarding; ``lost-answer`` forwards (the
    change happens) and then answers the error; ``swallow`` answers success without forwarding
    (the change silently does not happen); ``expire`` ends the caller's session first.
    ``skip`` matching calls pass before the fault applies, then it applies ``times`` times."""

    action: str
    mode: str = "error"
    code: str = "ConcurrentModification"
    message: str = "The request was rejected because multiple requests were submitted at once."
    status: int = 409
    skip: int = 0
    times: int = 1


@dataclass(frozen=True)
class Call:
    """One request the front saw: the action, who made it, and how it ended."""

    action: str
    caller: str
    """``session`` (a web-identity session), ``admin`` (the test's setup) or ``anonymous``."""
    outcome: str
    """``forwarded``, ``injected:<mode>`` or the error code the front answered."""
    user: str | None = None


@dataclass
class _Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class LocalSts:
    """moto on loopback plus the checking front; :attr:`url` is the endpoint to give boto3."""

    def __init__(self) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self.moto_url = ""
        self.sessions: dict[str, Session] = {}
        self.faults: list[Fault] = []
        self.calls: list[Call] = []
        self.offset = timedelta()
        self._admin: Credentials | None = None
        self._lock = threading.Lock()
        self._jwks: dict[str, jwt.PyJWKClient] = {}

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> LocalSts:
        """Start moto and the front; create the administrator the tests set things up with,
        then turn on moto's IAM enforcement (every later call must be signed by a known key)."""
        self.moto_url = _shared_moto()
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
        _post(f"{self.moto_url}/moto-api/reset")
        iam = boto3.client(
            "iam",
            endpoint_url=self.moto_url,
            region_name=REGION,
            aws_access_key_id="bootstrap",
            aws_secret_access_key="bootstrap",
        )
        iam.create_user(UserName="moto-admin")
        iam.put_user_policy(
            UserName="moto-admin",
            PolicyName="all",
            PolicyDocument=json.dumps(_allow(["*"], ["*"])),
        )
        key = iam.create_access_key(UserName="moto-admin")["AccessKey"]
        self._admin = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
        ActionAuthenticatorMixin.request_count = 0
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
        return self

    def stop(self) -> None:
        """Stop the front and give moto back its defaults (no enforcement, no state)."""
        self._httpd.shutdown()
        self._httpd.server_close()
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
        _post(f"{self.moto_url}/moto-api/reset")

    # --- what tests use ------------------------------------------------------------------

    def admin(self, service: str, *, direct: bool = False) -> Any:
        """A boto3 client signed by the administrator, through the front (or straight to moto)."""
        assert self._admin is not None
        return boto3.client(
            service,
            endpoint_url=self.moto_url if direct else self.url,
            region_name=REGION,
            aws_access_key_id=self._admin.access_key,
            aws_secret_access_key=self._admin.secret_key,
            config=Config(retries={"max_attempts": 1}),
        )

    def session_client(self, session: Session, service: str = "iam") -> Any:
        """A boto3 client holding a session's credentials (to act as the deploy job would)."""
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=session.access_key_id,
            aws_secret_access_key=session.secret_access_key,
            aws_session_token=session.session_token,
            config=Config(retries={"max_attempts": 1}),
        )

    def fail(self, action: str, **options: Any) -> Fault:
        """Inject a :class:`Fault` for session calls of ``action``."""
        fault = Fault(action, **options)
        self.faults.append(fault)
        return fault

    def refuse_sts(self, code: str = "AccessDenied", message: str = "STS is refusing") -> Fault:
        """Make the next ``AssumeRoleWithWebIdentity`` fail before it is checked."""
        return self.fail("AssumeRoleWithWebIdentity", code=code, message=message, status=403)

    def advance(self, seconds: float) -> None:
        """Move the front's clock (expiry and ``aws:CurrentTime``) forward."""
        self.offset += timedelta(seconds=seconds)

    def now(self) -> datetime:
        """The front's clock."""
        return datetime.now(UTC) + self.offset

    def session_actions(self, action: str) -> list[Call]:
        """The calls of ``action`` made with session credentials."""
        return [call for call in self.calls if call.caller == "session" and call.action == action]

    def secrets(self) -> list[str]:
        """Every token secret the front handed out (tests assert none leaks)."""
        return [s for session in self.sessions.values() for s in session_secrets(session)]

    # --- the front -----------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self._serve()

            def do_GET(self) -> None:
                self._serve()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = dict(self.headers.items())
                answer = front._handle(self.command, self.path, headers, body)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    if name.lower() not in {"content-length", "transfer-encoding", "connection"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler

    def _handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> _Answer:
        params = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        params.update({k: v[0] for k, v in parse_qs(urlsplit(path).query).items()})
        action = params.get("Action", "")
        if action == "AssumeRoleWithWebIdentity":
            return self._web_identity(method, path, headers, body, params)
        match = _CREDENTIAL.search(headers.get("Authorization", ""))
        key_id, service = (match.group(1), match.group(2)) if match else ("", "")
        session = self.sessions.get(key_id)
        if session is None:
            caller = "admin" if self._admin and key_id == self._admin.access_key else "anonymous"
            self.calls.append(Call(action, caller, "forwarded", params.get("UserName")))
            return self._forward(method, path, headers, body)
        return self._session_call(session, service, action, params, (method, path, headers, body))

    def _session_call(
        self,
        session: Session,
        service: str,
        action: str,
        params: dict[str, str],
        request: tuple[str, str, dict[str, str], bytes],
    ) -> _Answer:
        fault = self._take_fault(action)
        if fault is not None and fault.mode == "expire":
            session.expires_at = self.now() - timedelta(seconds=1)
            fault = None
        user = params.get("UserName")
        if self.now() >= session.expires_at:
            self.calls.append(Call(action, "session", "ExpiredToken", user))
            return _error(
                IAM_NS, 403, "ExpiredToken", "The security token included in the request is expired"
            )
        full_action = f"{service}:{action}"
        resource = self._resource(service, action, params)
        if not self._session_allows(session, full_action, resource):
            self.calls.append(Call(action, "session", "AccessDenied", user))
            return _error(
                IAM_NS,
                403,
                "AccessDenied",
                f"User: {session.assumed_role_arn} is not authorized to perform: {full_action} "
                f"on resource: {resource} because no session policy allows the {full_action} "
                "action",
            )
        if fault is None:
            self.calls.append(Call(action, "session", "forwarded", user))
            return self._forward(*request)
        self.calls.append(Call(action, "session", f"injected:{fault.mode}", user))
        if fault.mode == "swallow":
            return _success(action)
        if fault.mode == "lost-answer":
            self._forward(*request)
        return _error(IAM_NS, fault.status, fault.code, fault.message)

    def _take_fault(self, action: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.action != action or fault.times <= 0:
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                fault.times -= 1
                return fault
        return None

    # --- AssumeRoleWithWebIdentity -------------------------------------------------------

    def _web_identity(
        self, method: str, path: str, headers: dict[str, str], body: bytes, params: dict[str, str]
    ) -> _Answer:
        fault = self._take_fault("AssumeRoleWithWebIdentity")
        if fault is not None:
            self.calls.append(Call("AssumeRoleWithWebIdentity", "anonymous", fault.code))
            return _error(STS_NS, fault.status, fault.code, fault.message)
        try:
            session = self._check_web_identity(params)
        except _Refused as refused:
            self.calls.append(Call("AssumeRoleWithWebIdentity", "anonymous", refused.code))
            return _error(STS_NS, refused.status, refused.code, refused.message)
        answer = self._forward_signed("sts", body)
        if answer.status == 200:
            found = _credentials(answer.body)
            session.access_key_id, session.secret_access_key, session.session_token = found[:3]
            session.assumed_role_arn = found[3]
            session.expires_at = datetime.fromisoformat(found[4].replace("Z", "+00:00"))
            self.sessions[session.access_key_id] = session
        self.calls.append(Call("AssumeRoleWithWebIdentity", "anonymous", "forwarded"))
        return answer

    def _check_web_identity(self, params: dict[str, str]) -> Session:
        token = params.get("WebIdentityToken", "")
        role_arn = params.get("RoleArn", "")
        claims = self._verify_token(token)
        issuer_host = re.sub(r"^https?://", "", claims["iss"])
        provider_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer_host}"
        role = self._role(role_arn)
        if not trust_allows(role["AssumeRolePolicyDocument"], provider_arn, issuer_host, claims):
            raise _Refused(
                403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"
            )
        duration = int(params.get("DurationSeconds", "3600"))
        if duration < 900:
            raise _Refused(
                400,
                "ValidationError",
                f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed "
                "to satisfy constraint: Member must have value greater than or equal to 900",
            )
        if duration > int(role.get("MaxSessionDuration", 3600)):
            raise _Refused(
                400,
                "ValidationError",
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            )
        name = params.get("RoleSessionName", "")
        if not _SESSION_NAME.match(name):
            raise _Refused(
                400,
                "ValidationError",
                "1 validation error detected: Value at 'roleSessionName' failed to satisfy "
                r"constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*",
            )
        policy_text = params.get("Policy")
        policy = None
        if policy_text is not None:
            if len(policy_text) > MAX_SESSION_POLICY_CHARS:
                raise _Refused(
                    400,
                    "ValidationError",
                    "1 validation error detected: Value at 'policy' failed to satisfy "
                    "constraint: Member must have length less than or equal to 2048",
                )
            try:
                policy = json.loads(policy_text)
            except ValueError:
                raise _Refused(
                    400, "MalformedPolicyDocument", "The session policy is not valid JSON"
                ) from None
        return Session("", "", "", role_arn, "", name, policy, self.now(), claims["sub"])

    def _verify_token(self, token: str) -> dict[str, Any]:
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _Refused(400, "InvalidIdentityToken", "The token is not a JWT") from None
        issuer = str(unverified.get("iss", ""))
        host = re.sub(r"^https?://", "", issuer)
        provider = self._provider(f"arn:aws:iam::{ACCOUNT}:oidc-provider/{host}")
        if provider is None:
            raise _Refused(
                400,
                "InvalidIdentityToken",
                f"No OpenIDConnect provider found in your account for {issuer}",
            )
        try:
            jwks = self._jwks.setdefault(issuer, jwt.PyJWKClient(_jwks_uri(issuer)))
            signing_key = jwks.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                signing_key.key,
                algorithms=["RS256"],
                audience=provider["ClientIDList"],
                issuer=issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise _Refused(400, "ExpiredTokenException", "Token expired") from None
        except jwt.InvalidAudienceError:
            raise _Refused(400, "InvalidIdentityToken", "Incorrect token audience") from None
        except (jwt.PyJWTError, jwt.PyJWKClientError):
            raise _Refused(
                400, "InvalidIdentityToken", "The token's signature could not be verified"
            ) from None
        return claims

    def _provider(self, arn: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self.admin("iam", direct=True).get_open_id_connect_provider(
                OpenIDConnectProviderArn=arn
            )
        except ClientError:
            return None
        return found

    def _role(self, role_arn: str) -> dict[str, Any]:
        name = role_arn.rsplit("/", 1)[-1]
        if not role_arn.startswith(f"arn:aws:iam::{ACCOUNT}:role/"):
            raise _Refused(
                403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"
            )
        try:
            role: dict[str, Any] = self.admin("iam", direct=True).get_role(RoleName=name)["Role"]
        except ClientError:
            raise _Refused(
                403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"
            ) from None
        return role

    # --- session policies ----------------------------------------------------------------

    def _resource(self, service: str, action: str, params: dict[str, str]) -> str:
        user = params.get("UserName")
        if service == "iam" and action == "GetAccessKeyLastUsed":
            try:
                user = self.admin("iam", direct=True).get_access_key_last_used(
                    AccessKeyId=params.get("AccessKeyId", "")
                )["UserName"]
            except ClientError:
                user = None
        if service == "iam" and user:
            # The user's real ARN, path included (``user/ci/etl``), as IAM evaluates it.
            try:
                return str(self.admin("iam", direct=True).get_user(UserName=user)["User"]["Arn"])
            except ClientError:
                return f"arn:aws:iam::{ACCOUNT}:user/{user}"
        return "*"

    def _session_allows(self, session: Session, action: str, resource: str) -> bool:
        if session.policy is None or action in _ALWAYS_ALLOWED:
            return True
        statements = session.policy.get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        allowed = False
        for statement in statements:
            if not _statement_matches(statement, action, resource, self.now()):
                continue
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
        return allowed

    # --- forwarding ----------------------------------------------------------------------

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> _Answer:
        target = urlsplit(self.moto_url)
        connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return _Answer(response.status, response.read(), dict(response.getheaders()))
        finally:
            connection.close()

    def _forward_signed(self, service: str, body: bytes) -> _Answer:
        assert self._admin is not None
        request = AWSRequest(
            method="POST",
            url=self.moto_url + "/",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        SigV4Auth(self._admin, service, REGION).add_auth(request)
        prepared = request.prepare()
        return self._forward("POST", "/", dict(prepared.headers.items()), body)


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def trust_allows(
    document: dict[str, Any] | str, provider_arn: str, issuer_host: str, claims: dict[str, Any]
) -> bool:
    """Whether a role trust policy lets a token with ``claims`` from the provider assume it:
    an Allow statement for ``sts:AssumeRoleWithWebIdentity`` whose federated principal is the
    provider and all of whose conditions hold, and no such Deny. Unknown operators and keys of
    another issuer fail closed; ``ForAllValues:``/``ForAnyValue:`` are not supported (closed)."""
    policy = json.loads(document) if isinstance(document, str) else document
    statements = policy.get("Statement", [])
    allowed = False
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = _as_list(statement.get("Action"))
        federated = _as_list((statement.get("Principal") or {}).get("Federated"))
        if "sts:AssumeRoleWithWebIdentity" not in actions or provider_arn not in federated:
            continue
        if not _conditions_hold(statement.get("Condition", {}), issuer_host, claims):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _conditions_hold(conditions: dict[str, Any], issuer_host: str, claims: dict[str, Any]) -> bool:
    for operator, pairs in conditions.items():
        for key, wanted in pairs.items():
            prefix, _, claim = key.rpartition(":")
            if prefix != issuer_host or claim not in claims:
                return False
            have = [str(value) for value in _as_list(claims[claim])]
            patterns = [str(value) for value in _as_list(wanted)]
            if operator == "StringEquals":
                matched = any(value in patterns for value in have)
            elif operator == "StringLike":
                matched = any(fnmatch.fnmatchcase(v, p) for v in have for p in patterns)
            else:
                return False
            if not matched:
                return False
    return True


def _statement_matches(
    statement: dict[str, Any], action: str, resource: str, now: datetime
) -> bool:
    actions = [a.lower() for a in _as_list(statement.get("Action"))]
    if not any(fnmatch.fnmatchcase(action.lower(), pattern) for pattern in actions):
        return False
    resources = _as_list(statement.get("Resource"))
    if not any(fnmatch.fnmatchcase(resource, pattern) for pattern in resources):
        return False
    for operator, pairs in statement.get("Condition", {}).items():
        for key, value in pairs.items():
            if operator != "DateLessThan" or key != "aws:CurrentTime":
                return False
            if not now < datetime.fromisoformat(str(value).replace("Z", "+00:00")):
                return False
    return True


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _credentials(body: bytes) -> tuple[str, str, str, str, str]:
    root = ET.fromstring(body)  # noqa: S314 - moto's own answer on loopback

    def text(name: str) -> str:
        node = root.find(f".//{{*}}{name}")
        return node.text or "" if node is not None else ""

    return (
        text("AccessKeyId"),
        text("SecretAccessKey"),
        text("SessionToken"),
        text("Arn"),
        text("Expiration"),
    )


def _error(namespace: str, status: int, code: str, message: str) -> _Answer:
    root = ET.Element("ErrorResponse", xmlns=namespace)
    error = ET.SubElement(root, "Error")
    ET.SubElement(error, "Type").text = "Sender"
    ET.SubElement(error, "Code").text = code
    ET.SubElement(error, "Message").text = message
    ET.SubElement(root, "RequestId").text = str(uuid.uuid4())
    return _Answer(status, ET.tostring(root), {"Content-Type": "text/xml"})


def _success(action: str) -> _Answer:
    root = ET.Element(f"{action}Response", xmlns=IAM_NS)
    metadata = ET.SubElement(root, "ResponseMetadata")
    ET.SubElement(metadata, "RequestId").text = str(uuid.uuid4())
    return _Answer(200, ET.tostring(root), {"Content-Type": "text/xml"})


def _allow(actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}],
    }


def _jwks_uri(issuer: str) -> str:
    import urllib.request

    with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=5) as r:  # noqa: S310 - loopback issuer
        return str(json.load(r)["jwks_uri"])


_MOTO: list[str] = []


def _shared_moto() -> str:
    """The URL of moto's server, started once per test process (its state is reset by every
    :class:`LocalSts`; starting and stopping one per test costs a second each)."""
    if not _MOTO:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        _MOTO.append(f"http://{host}:{port}")
    return _MOTO[0]


def _post(url: str) -> None:
    import urllib.request

    with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=10):  # noqa: S310 - loopback moto
        pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def session_secrets(session: Session) -> tuple[str, str]:
    """The two values of a session that must never appear anywhere."""
    return (session.secret_access_key, session.session_token)


@contextmanager
def running() -> Iterator[LocalSts]:
    """moto and the front, serving for the duration of the block."""
    sts = LocalSts().start()
    try:
        yield sts
    finally:
        sts.stop()
