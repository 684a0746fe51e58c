"""Asymmetric signing keys, checked by libraries nobody here wrote.

For each of ES256 and EdDSA, a dev stack of its own (target/debug/devstack)
runs with a key set made by ``auth-service generate-secrets --keys``, and
JWT_ISSUER set to the auth service's URL (so the RFC 8414 document is exact):

- PyJWT's ``PyJWKClient`` fetches /.well-known/jwks.json and verifies an
  access token by its kid;
- jwcrypto loads the JWK Set (public keys only) and verifies the token too;
- Authlib reads /.well-known/oauth-authorization-server, validates it, and
  logs in through the ``token_endpoint`` it names; the profile service
  accepts the token.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws
from jwcrypto import jwt as jwcrypto_jwt

from conftest import PASSWORD, TIMEOUT, signup

ROOT = Path(__file__).resolve().parent.parent
AUDIENCE = "profile-service"
ALGORITHMS = {"es256": "ES256", "eddsa": "EdDSA"}


@dataclass(frozen=True)
class SigningStack:
    """What signup() and the tests need of a stack (conftest.Stack's names)."""

    auth_url: str
    profile_url: str
    alg: str
    issuer: str
    public_set: dict

    @property
    def jwks_url(self) -> str:
        return f"{self.auth_url}/.well-known/jwks.json"

    @property
    def metadata_url(self) -> str:
        return f"{self.auth_url}/.well-known/oauth-authorization-server"


def _devstack() -> Path:
    configured = os.environ.get("DEVSTACK", "").strip()
    path = Path(configured) if configured else ROOT / "target" / "debug" / "devstack"
    if not path.is_file():
        pytest.fail(
            f"{path} is missing: run cargo build --workspace --bins --locked "
            "(scripts/client-checks does), or set DEVSTACK",
            pytrace=False,
        )
    return path


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _wait_ready(process: subprocess.Popen, urls: list[str], log: Path) -> None:
    deadline = time.monotonic() + 90
    for url in urls:
        while True:
            if process.poll() is not None:
                pytest.fail(f"devstack exited ({process.returncode}); log {log}:\n"
                            + log.read_text()[-3000:])
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"not ready after 90 s: {url}; log {log}")
            time.sleep(0.2)


@pytest.fixture(scope="module", params=sorted(ALGORITHMS))
def signing_stack(request, artifacts: Path):
    kind = request.param
    devstack = _devstack()
    workdir = Path(tempfile.mkdtemp(prefix=f"signing-{kind}-"))
    secrets_dir = workdir / "secrets"
    generated = subprocess.run(
        [str(devstack.parent / "auth-service"), "generate-secrets", "--keys", kind,
         str(secrets_dir)],
        capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "POSTGRES_"))},
    )
    assert generated.returncode == 0, generated.stderr
    assert "jwt_keys, jwt_public_keys: generated" in generated.stdout, generated.stdout
    private_set = (secrets_dir / "jwt_keys").read_text()
    public_set = json.loads((secrets_dir / "jwt_public_keys").read_text())
    assert '"d"' not in json.dumps(public_set)

    auth_port, profile_port = _free_ports(2)
    auth_url = f"http://127.0.0.1:{auth_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWT_")}
    env.update({
        "AUTH_BIND_ADDR": f"127.0.0.1:{auth_port}",
        "PROFILE_BIND_ADDR": f"127.0.0.1:{profile_port}",
        "JWT_KEYS": private_set,
        # RFC 8414: the issuer is the URL the metadata is served under.
        "JWT_ISSUER": auth_url,
        "RATE_LIMIT_PER_MINUTE": "0",
        "BCRYPT_COST": "4",
        "METRICS_BIND_ADDR": "",
        "LOG_FORMAT": "json",
    })
    env.pop("AUTH_PUBLIC_URL", None)
    env.pop("DEVSTACK_LOG", None)
    log = artifacts / f"devstack-{kind}.log"
    with open(log, "w") as out:
        # Its own working directory: no .env of the checkout applies.
        process = subprocess.Popen([str(devstack)], cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        profile_url = f"http://127.0.0.1:{profile_port}"
        _wait_ready(process, [f"{auth_url}/readyz", f"{profile_url}/readyz"], log)
        yield SigningStack(auth_url=auth_url, profile_url=profile_url, alg=ALGORITHMS[kind],
                           issuer=auth_url, public_set=public_set)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _access_token(stack: SigningStack) -> tuple[str, str]:
    user = signup(stack)
    response = requests.post(f"{stack.auth_url}/login",
                             data={"username": user.email, "password": PASSWORD}, timeout=TIMEOUT)
    assert response.status_code == 200, (response.status_code, response.text)
    return user.id, response.json()["access_token"]


def test_pyjwt_jwk_client_verifies_an_access_token_from_the_published_set(signing_stack):
    user_id, token = _access_token(signing_stack)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == signing_stack.alg
    client = jwt.PyJWKClient(signing_stack.jwks_url, cache_keys=False)
    key = client.get_signing_key_from_jwt(token)
    assert key.key_id == header["kid"]
    claims = jwt.decode(token, key, algorithms=[signing_stack.alg], audience=AUDIENCE,
                        issuer=signing_stack.issuer)
    assert claims["sub"] == user_id and claims["typ"] == "access"
    # One byte of the payload changed: the published key refuses it.
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    with pytest.raises(jwt.PyJWTError):
        jwt.decode(forged, key, algorithms=[signing_stack.alg], audience=AUDIENCE,
                   issuer=signing_stack.issuer)


def test_the_jwk_set_is_public_keys_only_and_cacheable(signing_stack):
    response = requests.get(signing_stack.jwks_url, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == signing_stack.public_set
    keyset = jwcrypto_jwk.JWKSet.from_json(response.text)
    keys = list(keyset)
    assert len(keys) == 1
    assert not any(key.has_private for key in keys)
    assert keys[0].get("use") == "sig" and keys[0].get("alg") == signing_stack.alg


def test_jwcrypto_verifies_an_access_token_with_the_published_set(signing_stack):
    user_id, token = _access_token(signing_stack)
    keyset = jwcrypto_jwk.JWKSet.from_json(requests.get(signing_stack.jwks_url,
                                                        timeout=TIMEOUT).text)
    verified = jwcrypto_jwt.JWT(
        jwt=token, key=keyset, algs=[signing_stack.alg],
        check_claims={"iss": signing_stack.issuer, "aud": AUDIENCE, "exp": None},
    )
    claims = json.loads(verified.claims)
    assert claims["sub"] == user_id
    # Another key of the same type, under the same kid, verifies nothing.
    kid = jwt.get_unverified_header(token)["kid"]
    if signing_stack.alg == "ES256":
        stranger = jwcrypto_jwk.JWK.generate(kty="EC", crv="P-256", kid=kid)
    else:
        stranger = jwcrypto_jwk.JWK.generate(kty="OKP", crv="Ed25519", kid=kid)
    with pytest.raises(jwcrypto_jws.InvalidJWSSignature):
        jwcrypto_jwt.JWT(jwt=token, key=stranger, algs=[signing_stack.alg])


def test_authlib_reads_the_metadata_and_logs_in_through_its_token_endpoint(signing_stack):
    document = requests.get(signing_stack.metadata_url, timeout=TIMEOUT)
    assert document.status_code == 200
    metadata = AuthorizationServerMetadata(document.json())
    # Every member Authlib knows is valid, but response_types_supported:
    # there is no authorization endpoint, so the array is empty, which
    # Authlib takes for a missing member.
    for key in AuthorizationServerMetadata.REGISTRY_KEYS:
        if key != "response_types_supported":
            getattr(metadata, f"validate_{key}")()
    assert metadata["response_types_supported"] == []
    assert metadata["issuer"] == signing_stack.issuer
    assert metadata.token_endpoint_auth_methods_supported == ["none"]
    assert set(metadata.grant_types_supported) == {"password", "refresh_token"}
    assert "revocation_endpoint" not in metadata
    assert metadata["token_endpoint"] == f"{signing_stack.auth_url}/login"

    user = signup(signing_stack, email=f"authlib-{uuid.uuid4().hex[:12]}@example.com")
    session = OAuth2Session(client_id="client-checks", token_endpoint_auth_method="none")
    token = session.fetch_token(metadata["token_endpoint"], username=user.email,
                                password=user.password, timeout=TIMEOUT)
    assert jwt.get_unverified_header(token["access_token"])["alg"] == signing_stack.alg
    key = jwt.PyJWKClient(metadata["jwks_uri"]).get_signing_key_from_jwt(token["access_token"])
    jwt.decode(token["access_token"], key, algorithms=[signing_stack.alg], audience=AUDIENCE,
               issuer=metadata["issuer"])
    me = session.get(f"{signing_stack.profile_url}/me", timeout=TIMEOUT)
    assert me.status_code == 200, (me.status_code, me.text)
    assert me.json()["id"] == user.id
    refreshed = session.refresh_token(metadata["token_endpoint"],
                                      refresh_token=token["refresh_token"], timeout=TIMEOUT)
    assert refreshed["access_token"] != token["access_token"]
