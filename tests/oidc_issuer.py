"""A loopback OIDC issuer shaped like GitHub Actions' (``token.actions.githubusercontent.com``).

It serves OpenID discovery and a JWKS on 127.0.0.1 and signs RS256 tokens with the claims a
GitHub Actions job gets, so the code under test and the STS front (``local_sts.py``) verify real
signatures fetched over HTTP. Helpers mint the three identities mendbot cares about: the deploy
job (under an environment), the analysis job (another workflow, no environment) and a pull
request's job; ``immutable=True`` gives the ``repo:OWNER@ID/REPO@ID:…`` subject form.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

OWNER = "octo-org"
OWNER_ID = "65"
REPOSITORY = "octo-org/octo-repo"
REPOSITORY_ID = "74"
DEPLOY_WORKFLOW = ".github/workflows/mendbot-deploy.yml"
ANALYSIS_WORKFLOW = ".github/workflows/mendbot-analyze.yml"
STS_AUDIENCE = "sts.amazonaws.com"


def new_key() -> rsa.RSAPrivateKey:
    """A fresh RSA signing key (also used to forge tokens from "another issuer key")."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class OidcIssuer:
    """Discovery + JWKS on loopback; :meth:`mint` signs GitHub-shaped ID tokens."""

    def __init__(self, kid: str = "mendbot-test-1") -> None:
        self.key = new_key()
        self.kid = kid
        self.hits: list[str] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        """The ``iss`` of every token."""
        self.host = f"127.0.0.1:{self.port}"
        """The issuer without its scheme: the IAM OIDC provider name and condition-key prefix."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> OidcIssuer:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def jwks(self) -> dict[str, Any]:
        """The public key set served at ``/.well-known/jwks``."""
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update(kid=self.kid, use="sig", alg="RS256")
        return {"keys": [public]}

    def discovery(self) -> dict[str, Any]:
        """The document served at ``/.well-known/openid-configuration``."""
        return {
            "issuer": self.url,
            "jwks_uri": f"{self.url}/.well-known/jwks",
            "subject_types_supported": ["public", "pairwise"],
            "response_types_supported": ["id_token"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "environment"],
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.hits.append(self.path)
                documents = {
                    "/.well-known/openid-configuration": issuer.discovery,
                    "/.well-known/jwks": issuer.jwks,
                }
                document = documents.get(self.path)
                body = json.dumps(document() if document else {"error": "not found"}).encode()
                self.send_response(200 if document else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler

    def mint(self, *, signing_key: rsa.RSAPrivateKey | None = None, **claims: Any) -> str:
        """A signed token with GitHub's claims of a push to main in ``octo-org/octo-repo``,
        overridden by ``claims`` (a claim given as None is left out)."""
        now = int(time.time())
        base: dict[str, Any] = {
            "iss": self.url,
            "aud": STS_AUDIENCE,
            "sub": f"repo:{REPOSITORY}:ref:refs/heads/main",
            "repository": REPOSITORY,
            "repository_id": REPOSITORY_ID,
            "repository_owner": OWNER,
            "repository_owner_id": OWNER_ID,
            "ref": "refs/heads/main",
            "ref_type": "branch",
            "sha": "a" * 40,
            "event_name": "push",
            "run_id": "4242",
            "run_attempt": "1",
            "runner_environment": "github-hosted",
            "job_workflow_ref": f"{REPOSITORY}/{ANALYSIS_WORKFLOW}@refs/heads/main",
            "workflow_ref": f"{REPOSITORY}/{ANALYSIS_WORKFLOW}@refs/heads/main",
            "iat": now,
            "nbf": now - 5,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
        }
        base.update(claims)
        payload = {name: value for name, value in base.items() if value is not None}
        return jwt.encode(
            payload, signing_key or self.key, algorithm="RS256", headers={"kid": self.kid}
        )

    def deploy_token(
        self,
        *,
        environment: str = "production",
        repository: str = REPOSITORY,
        immutable: bool = False,
        **claims: Any,
    ) -> str:
        """The deploy job's token: ``environment:`` set, the deploy workflow on main."""
        workflow = f"{repository}/{DEPLOY_WORKFLOW}@refs/heads/main"
        values: dict[str, Any] = {
            "sub": f"{subject_repo(repository, immutable)}:environment:{environment}",
            "environment": environment,
            "repository": repository,
            "repository_owner": repository.split("/")[0],
            "job_workflow_ref": workflow,
            "workflow_ref": workflow,
        }
        values.update(claims)
        return self.mint(**values)

    def analysis_token(self, **claims: Any) -> str:
        """The analysis job's token: another workflow, no environment (it holds
        ``id-token: write`` to sign, so it can ask for any audience)."""
        return self.mint(**claims)

    def pull_request_token(self, **claims: Any) -> str:
        """A pull request job's token (``sub`` ``repo:O/R:pull_request``)."""
        values: dict[str, Any] = {
            "sub": f"repo:{REPOSITORY}:pull_request",
            "event_name": "pull_request",
            "ref": "refs/pull/7/merge",
            "job_workflow_ref": f"{REPOSITORY}/.github/workflows/ci.yml@refs/pull/7/merge",
            "workflow_ref": f"{REPOSITORY}/.github/workflows/ci.yml@refs/pull/7/merge",
        }
        values.update(claims)
        return self.mint(**values)


def subject_repo(repository: str, immutable: bool = False) -> str:
    """``repo:O/R`` or, for repositories with immutable subject claims, ``repo:O@ID/R@ID``."""
    if not immutable:
        return f"repo:{repository}"
    owner, name = repository.split("/")
    return f"repo:{owner}@{OWNER_ID}/{name}@{REPOSITORY_ID}"


@contextmanager
def running() -> Iterator[OidcIssuer]:
    """An issuer serving for the duration of the block."""
    issuer = OidcIssuer().start()
    try:
        yield issuer
    finally:
        issuer.stop()
