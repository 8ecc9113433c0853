"""A throwaway Sigstore on loopback: test CA, CT log, Rekor, and a GitHub-style token endpoint.

Everything sigstore-python talks to when signing is real HTTP on ``127.0.0.1``: Fulcio
(``POST /api/v2/signingCert``) verifies the bearer JWT and the CSR and issues a short-lived leaf
certificate with the GitHub extensions (``1.3.6.1.4.1.57264.1.N``) and an embedded SCT from our
CT key; Rekor (``POST /api/v1/log/entries``) checks the DSSE signature against the submitted
certificate and answers with a ``dsse/0.0.1`` entry, a signed entry timestamp and a signed
checkpoint over a one-leaf tree; ``GET /token`` plays the Actions OIDC token service.

A custom trusted root and signing config name these endpoints, so ``SigningContext`` →
``sign_dsse`` and ``Verifier(trusted_root=…).verify_dsse`` run unmodified. Nothing here is a
mock of mendbot's code; claims, keys and clocks are chosen per test to make negative cases.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

GITHUB = "https://github.com"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
SCT_OID = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.2")
_EPOCH = "2020-01-01T00:00:00Z"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _der_utf8(text: str) -> bytes:
    """DER UTF8String (tag 0x0C) with short or long length form."""
    raw = text.encode()
    if len(raw) < 0x80:
        length = bytes([len(raw)])
    elif len(raw) < 0x100:
        length = bytes([0x81, len(raw)])
    else:
        length = bytes([0x82]) + struct.pack(">H", len(raw))
    return b"\x0c" + length + raw


def _der_octets(data: bytes) -> bytes:
    if len(data) < 0x80:
        return b"\x04" + bytes([len(data)]) + data
    if len(data) < 0x100:
        return b"\x04\x81" + bytes([len(data)]) + data
    return b"\x04\x82" + struct.pack(">H", len(data)) + data


def github_claims(**overrides: Any) -> dict[str, Any]:
    """GitHub Actions OIDC claims of a scheduled analysis run on acme/infra's main branch."""
    now = int(time.time())
    workflow = "acme/infra/.github/workflows/mendbot.yml@refs/heads/main"
    claims: dict[str, Any] = {
        "iss": GITHUB_ISSUER,
        "aud": "sigstore",
        "sub": "repo:acme/infra:ref:refs/heads/main",
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
        "repository": "acme/infra",
        "repository_id": "1001",
        "repository_owner": "acme",
        "repository_owner_id": "2002",
        "repository_visibility": "private",
        "ref": "refs/heads/main",
        "ref_type": "branch",
        "sha": "0" * 40,
        "workflow": "mendbot",
        "workflow_ref": workflow,
        "workflow_sha": "0" * 40,
        "job_workflow_ref": workflow,
        "job_workflow_sha": "0" * 40,
        "event_name": "schedule",
        "run_id": "42",
        "run_number": "7",
        "run_attempt": "1",
        "runner_environment": "github-hosted",
    }
    claims.update(overrides)
    return claims


def identity_of(claims: dict[str, Any]) -> str:
    """The certificate SAN Fulcio derives from ``claims``."""
    return f"{GITHUB}/{claims['job_workflow_ref']}"


def _extensions(claims: dict[str, Any]) -> list[tuple[str, bytes]]:
    """Fulcio's GitHub mapping: (OID suffix, extension value bytes)."""
    raw = {  # deprecated 1-6: raw strings
        "1": claims["iss"],
        "2": claims["event_name"],
        "3": claims["sha"],
        "4": claims["workflow"],
        "5": claims["repository"],
        "6": claims["ref"],
    }
    der = {
        "8": claims["iss"],
        "9": f"{GITHUB}/{claims['job_workflow_ref']}",
        "10": claims["job_workflow_sha"],
        "11": claims["runner_environment"],
        "12": f"{GITHUB}/{claims['repository']}",
        "13": claims["sha"],
        "14": claims["ref"],
        "15": claims["repository_id"],
        "16": f"{GITHUB}/{claims['repository_owner']}",
        "17": claims["repository_owner_id"],
        "18": f"{GITHUB}/{claims['workflow_ref']}",
        "19": claims["workflow_sha"],
        "20": claims["event_name"],
        "21": f"{GITHUB}/{claims['repository']}/actions/runs/{claims['run_id']}"
        f"/attempts/{claims['run_attempt']}",
        "22": claims["repository_visibility"],
    }
    values = [(n, str(v).encode()) for n, v in raw.items()]
    values += [(n, _der_utf8(str(v))) for n, v in der.items()]
    return values


class MiniSigstore:
    """Keys, certificates and the loopback server of a throwaway Sigstore instance."""

    def __init__(self) -> None:
        self.secret = secrets.token_bytes(32)
        """HS256 secret of the fake OIDC issuer (Fulcio checks token signatures with it)."""
        self.request_token = secrets.token_hex(16)
        self.ca_key = ec.generate_private_key(ec.SECP384R1())
        self.ct_key = ec.generate_private_key(ec.SECP256R1())
        self.rekor_key = ec.generate_private_key(ec.SECP256R1())
        self.ct_key_id = hashlib.sha256(_spki(self.ct_key.public_key())).digest()
        self.rekor_key_id = hashlib.sha256(_spki(self.rekor_key.public_key())).digest()
        self.ca_cert = self._make_ca()
        self.claims = github_claims()
        """Claims the token endpoint issues; tests replace them per case."""
        self.entries = 0
        self.requests: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    # -- keys and documents -------------------------------------------------------------------

    def _make_ca(self) -> x509.Certificate:
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mendbot tests"),
                x509.NameAttribute(NameOID.COMMON_NAME, "mini-fulcio"),
            ]
        )
        now = dt.datetime.now(dt.UTC)
        public = self.ca_key.public_key()
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self.ca_key, hashes.SHA384())
        )

    @property
    def url(self) -> str:
        """Base URL of the running server."""
        if self._server is None:
            raise RuntimeError("MiniSigstore is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def trusted_root(self) -> dict[str, Any]:
        """The trusted root naming our CA, CT log and Rekor keys."""

        def key_entry(key: ec.EllipticCurvePrivateKey, key_id: bytes, url: str) -> dict[str, Any]:
            return {
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": _b64(_spki(key.public_key())),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": _EPOCH},
                },
                "logId": {"keyId": _b64(key_id)},
            }

        return {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [key_entry(self.rekor_key, self.rekor_key_id, self.url)],
            "ctlogs": [key_entry(self.ct_key, self.ct_key_id, self.url)],
            "certificateAuthorities": [
                {
                    "subject": {"organization": "mendbot tests", "commonName": "mini-fulcio"},
                    "uri": self.url,
                    "certChain": {
                        "certificates": [
                            {
                                "rawBytes": _b64(
                                    self.ca_cert.public_bytes(serialization.Encoding.DER)
                                )
                            }
                        ]
                    },
                    "validFor": {"start": _EPOCH},
                }
            ],
            "timestampAuthorities": [],
        }

    def client_trust_config(self) -> str:
        """Client trust config JSON (trusted root + signing config v0.2) for this instance."""
        service = {
            "url": self.url,
            "majorApiVersion": 1,
            "validFor": {"start": _EPOCH},
            "operator": "mendbot-tests",
        }
        return json.dumps(
            {
                "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
                "trustedRoot": self.trusted_root(),
                "signingConfig": {
                    "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
                    "caUrls": [service],
                    "oidcUrls": [],
                    "rekorTlogUrls": [service],
                    "tsaUrls": [],
                    "rekorTlogConfig": {"selector": "ANY"},
                    "tsaConfig": {"selector": "ANY"},
                },
            }
        )

    def write_client_trust_config(self, path: Path) -> Path:
        """Write :meth:`client_trust_config` to ``path``."""
        path.write_text(self.client_trust_config(), encoding="utf-8")
        return path

    def token(self, claims: dict[str, Any] | None = None) -> str:
        """An HS256 JWT over ``claims`` (default: :attr:`claims`)."""
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "mini"}).encode())
        body = _b64url(json.dumps(claims if claims is not None else self.claims).encode())
        signature = hmac.new(self.secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
        return f"{header}.{body}.{_b64url(signature)}"

    def verify_token(self, token: str) -> dict[str, Any]:
        """Claims of a token this issuer signed; raises ``ValueError`` otherwise."""
        header, body, signature = token.split(".")
        expected = hmac.new(self.secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(_b64url(expected), signature):
            raise ValueError("bad token signature")
        claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        if claims.get("aud") != "sigstore" or claims.get("exp", 0) < time.time():
            raise ValueError("token audience or expiry rejected")
        return claims

    def actions_environment(self) -> dict[str, str]:
        """Variables that make ``id``/sigstore detect an ambient GitHub Actions credential."""
        return {
            "GITHUB_ACTIONS": "true",
            "ACTIONS_ID_TOKEN_REQUEST_URL": f"{self.url}/token?api-version=2.0",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.request_token,
        }

    # -- Fulcio --------------------------------------------------------------------------------

    def issue(self, csr_pem: bytes, claims: dict[str, Any]) -> list[x509.Certificate]:
        """A leaf certificate for the CSR's key with the claims' extensions and an SCT."""
        csr = x509.load_pem_x509_csr(csr_pem)
        if not csr.is_signature_valid:
            raise ValueError("CSR signature invalid")
        public = csr.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey):
            raise ValueError("CSR key is not ECDSA")
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        serial = x509.random_serial_number()
        ca_public = self.ca_key.public_key()

        def builder() -> x509.CertificateBuilder:
            b = (
                x509.CertificateBuilder()
                .subject_name(x509.Name([]))
                .issuer_name(self.ca_cert.subject)
                .public_key(public)
                .serial_number(serial)
                .not_valid_before(now - dt.timedelta(minutes=1))
                .not_valid_after(now + dt.timedelta(minutes=10))
                .add_extension(
                    x509.KeyUsage(
                        digital_signature=True,
                        content_commitment=False,
                        key_encipherment=False,
                        data_encipherment=False,
                        key_agreement=False,
                        key_cert_sign=False,
                        crl_sign=False,
                        encipher_only=False,
                        decipher_only=False,
                    ),
                    critical=True,
                )
                .add_extension(
                    x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
                )
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public), critical=False
                )
                .add_extension(
                    x509.SubjectAlternativeName(
                        [x509.UniformResourceIdentifier(identity_of(claims))]
                    ),
                    critical=True,
                )
            )
            for suffix, value in _extensions(claims):
                oid = x509.ObjectIdentifier(f"1.3.6.1.4.1.57264.1.{suffix}")
                b = b.add_extension(x509.UnrecognizedExtension(oid, value), critical=False)
            return b

        precert = builder().sign(self.ca_key, hashes.SHA384())
        timestamp = int(time.time() * 1000)
        tbs = precert.tbs_certificate_bytes
        issuer_key_hash = hashlib.sha256(_spki(ca_public)).digest()
        signed = (
            struct.pack(">BBQH", 0, 0, timestamp, 1)
            + issuer_key_hash
            + struct.pack(">I", len(tbs))[1:]
            + tbs
            + struct.pack(">H", 0)
        )
        signature = self.ct_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        sct = (
            struct.pack(">B", 0)
            + self.ct_key_id
            + struct.pack(">QH", timestamp, 0)
            + struct.pack(">BBH", 4, 3, len(signature))
            + signature
        )
        sct_list = struct.pack(">H", len(sct) + 2) + struct.pack(">H", len(sct)) + sct
        leaf = (
            builder()
            .add_extension(
                x509.UnrecognizedExtension(SCT_OID, _der_octets(sct_list)), critical=False
            )
            .sign(self.ca_key, hashes.SHA384())
        )
        return [leaf, self.ca_cert]

    # -- Rekor ---------------------------------------------------------------------------------

    def log_dsse(self, proposed: dict[str, Any]) -> dict[str, Any]:
        """Record a ``dsse`` entry; returns Rekor's v1 response (one-leaf tree)."""
        content = proposed["spec"]["proposedContent"]
        envelope_text: str = content["envelope"]
        envelope = json.loads(envelope_text)
        verifier_pem = base64.b64decode(content["verifiers"][0])
        certificate = x509.load_pem_x509_certificate(verifier_pem)
        payload = base64.b64decode(envelope["payload"])
        kind = envelope["payloadType"].encode()
        pae = b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)
        signatures = []
        for entry in envelope["signatures"]:
            sig = base64.b64decode(entry["sig"])
            public = certificate.public_key()
            if not isinstance(public, ec.EllipticCurvePublicKey):
                raise ValueError("verifier key is not ECDSA")
            public.verify(sig, pae, ec.ECDSA(hashes.SHA256()))  # raises InvalidSignature
            signatures.append({"signature": _b64(sig), "verifier": content["verifiers"][0]})
        body = rfc8785.dumps(
            {
                "apiVersion": "0.0.1",
                "kind": "dsse",
                "spec": {
                    "envelopeHash": {
                        "algorithm": "sha256",
                        "value": hashlib.sha256(envelope_text.encode()).hexdigest(),
                    },
                    "payloadHash": {
                        "algorithm": "sha256",
                        "value": hashlib.sha256(payload).hexdigest(),
                    },
                    "signatures": signatures,
                },
            }
        )
        index = self.entries
        self.entries += 1
        integrated = int(time.time())
        log_id = self.rekor_key_id.hex()
        set_payload = rfc8785.dumps(
            {
                "body": _b64(body),
                "integratedTime": integrated,
                "logID": log_id,
                "logIndex": index,
            }
        )
        entry_timestamp = self.rekor_key.sign(set_payload, ec.ECDSA(hashes.SHA256()))
        root = hashlib.sha256(b"\x00" + body).digest()
        note = f"mini-rekor - 1\n1\n{_b64(root)}\n"
        note_sig = self.rekor_key.sign(note.encode(), ec.ECDSA(hashes.SHA256()))
        checkpoint = note + "\n" + f"\u2014 mini-rekor {_b64(self.rekor_key_id[:4] + note_sig)}\n"
        return {
            uuid.uuid4().hex: {
                "body": _b64(body),
                "integratedTime": integrated,
                "logID": log_id,
                "logIndex": index,
                "verification": {
                    "signedEntryTimestamp": _b64(entry_timestamp),
                    "inclusionProof": {
                        "checkpoint": checkpoint,
                        "hashes": [],
                        "logIndex": 0,
                        "rootHash": root.hex(),
                        "treeSize": 1,
                    },
                },
            }
        }

    # -- server --------------------------------------------------------------------------------

    @contextmanager
    def running(self) -> Iterator[MiniSigstore]:
        """Serve Fulcio, Rekor and the token endpoint on ``127.0.0.1`` for the block."""
        instance = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _reply(self, status: int, document: Any) -> None:
                data = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                instance.requests.append(f"GET {parts.path}")
                if parts.path != "/token":
                    self._reply(404, {"message": "not found"})
                    return
                if self.headers.get("Authorization", "").lower() != (
                    f"bearer {instance.request_token}"
                ):
                    self._reply(401, {"message": "bad request token"})
                    return
                audience = parse_qs(parts.query).get("audience", ["sigstore"])[0]
                self._reply(200, {"value": instance.token({**instance.claims, "aud": audience})})

            def do_POST(self) -> None:
                instance.requests.append(f"POST {self.path}")
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                try:
                    if self.path == "/api/v2/signingCert":
                        auth = self.headers.get("Authorization", "")
                        claims = instance.verify_token(auth.removeprefix("Bearer "))
                        csr = base64.b64decode(body["certificateSigningRequest"])
                        chain = instance.issue(csr, claims)
                        pems = [c.public_bytes(serialization.Encoding.PEM).decode() for c in chain]
                        self._reply(
                            201, {"signedCertificateEmbeddedSct": {"chain": {"certificates": pems}}}
                        )
                    elif self.path == "/api/v1/log/entries":
                        self._reply(201, instance.log_dsse(body))
                    else:
                        self._reply(404, {"message": "not found"})
                except Exception as exc:
                    self._reply(400, {"message": f"{type(exc).__name__}: {exc}"})

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server = server
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
            self._server = None
