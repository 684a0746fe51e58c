"""PyJWT against the token format of API.md ("Tokens").

Any standard JWT library given the secret can verify an access token, and the
profile service accepts a well-formed token minted by such a library; tokens
of the wrong type, algorithm or signature are refused with 401.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
import requests

from conftest import TIMEOUT

ISSUER = "auth-service"
AUDIENCE = "profile-service"
CLAIMS = {"sub", "email", "iat", "exp", "iss", "aud", "jti", "sid", "typ"}


def login(stack, user) -> dict:
    response = requests.post(
        stack.token_url,
        data={"username": user.email, "password": user.password},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json()


def get_me(stack, token: str) -> requests.Response:
    return requests.get(
        f"{stack.profile_url}/me",
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )


def claims(**overrides) -> dict:
    now = int(time.time())
    base = {
        "sub": str(uuid.uuid4()),
        "email": f"minted-{uuid.uuid4().hex[:12]}@example.com",
        "iat": now,
        "exp": now + 300,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "jti": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "typ": "access",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assert_invalid_token(response: requests.Response) -> None:
    assert response.status_code == 401, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"] == "invalid_token"
    challenge = response.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer"), challenge
    assert 'error="invalid_token"' in challenge, challenge


def test_pyjwt_verifies_an_issued_access_token(stack, user):
    token = login(stack, user)
    header = jwt.get_unverified_header(token["access_token"])
    assert header["alg"] == "HS256"

    decoded = jwt.decode(
        token["access_token"],
        stack.jwt_secret,
        algorithms=["HS256"],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"require": sorted(CLAIMS - {"email", "typ"})},
    )
    assert CLAIMS <= decoded.keys(), decoded.keys()
    assert decoded["typ"] == "access"
    assert decoded["sub"] == user.id
    assert decoded["email"] == user.email
    assert decoded["iss"] == ISSUER
    assert decoded["aud"] == AUDIENCE
    uuid.UUID(decoded["sub"])
    uuid.UUID(decoded["jti"])
    uuid.UUID(decoded["sid"])
    assert isinstance(decoded["iat"], int) and isinstance(decoded["exp"], int)
    assert decoded["exp"] - decoded["iat"] == token["expires_in"]
    assert abs(decoded["iat"] - time.time()) < 60


def test_refresh_token_is_signed_with_the_other_secret(stack, user):
    token = login(stack, user)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token["refresh_token"],
            stack.jwt_secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
        )
    if stack.jwt_refresh_secret is None:
        return
    decoded = jwt.decode(
        token["refresh_token"],
        stack.jwt_refresh_secret,
        algorithms=["HS256"],
        audience=AUDIENCE,
        issuer=ISSUER,
    )
    assert decoded["typ"] == "refresh"
    assert "email" not in decoded
    access = jwt.decode(
        token["access_token"], stack.jwt_secret, algorithms=["HS256"], audience=AUDIENCE
    )
    assert decoded["sid"] == access["sid"]
    assert decoded["sub"] == access["sub"]
    assert decoded["jti"] != access["jti"]


def test_profile_service_accepts_a_token_minted_by_pyjwt(stack):
    payload = claims()
    token = jwt.encode(payload, stack.jwt_secret, algorithm="HS256")
    response = get_me(stack, token)
    assert response.status_code == 200, (response.status_code, response.text)
    body = response.json()
    assert body["id"] == payload["sub"]
    assert body["email"] == payload["email"]


def test_issued_refresh_token_is_no_access_token(stack, user):
    token = login(stack, user)
    assert_invalid_token(get_me(stack, token["refresh_token"]))


def _none_alg_with_hs256_signature(secret: str) -> str:
    """alg "none" in the header, yet a valid HS256 MAC: must still be refused."""
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims()).encode())
    signing_input = f"{header}.{body}".encode()
    mac = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{body}.{b64url(mac)}"


REFUSED = {
    "typ refresh": lambda s: jwt.encode(claims(typ="refresh"), s, algorithm="HS256"),
    "alg HS512": lambda s: jwt.encode(claims(), s, algorithm="HS512"),
    "alg HS384": lambda s: jwt.encode(claims(), s, algorithm="HS384"),
    "alg none": lambda s: jwt.encode(claims(), None, algorithm="none"),
    "alg none with a MAC": _none_alg_with_hs256_signature,
    "wrong secret": lambda s: jwt.encode(claims(), s + "-not-it", algorithm="HS256"),
    "expired": lambda s: jwt.encode(
        claims(iat=int(time.time()) - 3600, exp=int(time.time()) - 600), s, algorithm="HS256"
    ),
    "iat in the future": lambda s: jwt.encode(
        claims(iat=int(time.time()) + 600, exp=int(time.time()) + 900), s, algorithm="HS256"
    ),
    "wrong audience": lambda s: jwt.encode(claims(aud="someone-else"), s, algorithm="HS256"),
    "wrong issuer": lambda s: jwt.encode(claims(iss="someone-else"), s, algorithm="HS256"),
    "sub not a uuid": lambda s: jwt.encode(claims(sub="alice"), s, algorithm="HS256"),
    "no sid": lambda s: jwt.encode(claims(sid=None), s, algorithm="HS256"),
    "no jti": lambda s: jwt.encode(claims(jti=None), s, algorithm="HS256"),
    "no typ": lambda s: jwt.encode(claims(typ=None), s, algorithm="HS256"),
    "no exp": lambda s: jwt.encode(claims(exp=None), s, algorithm="HS256"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_profile_service_refuses_bad_tokens(stack, case):
    token = REFUSED[case](stack.jwt_secret)
    assert_invalid_token(get_me(stack, token))


def test_no_credentials_is_a_bare_bearer_challenge(stack):
    response = requests.get(f"{stack.profile_url}/me", timeout=TIMEOUT)
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_token"
    # RFC 6750 §3.1: no error attribute when the request had no credentials.
    assert response.headers.get("WWW-Authenticate") == "Bearer"


def test_a_third_service_verifies_an_access_token_by_its_kid_from_the_jwk_set(stack, user):
    """What a third service does with JWT_KEYS: pick the key by the token's
    kid from the JWK Set (PyJWT's PyJWKSet), never try every key."""
    import os

    if not os.environ.get("JWT_KEYS"):
        pytest.skip("the stack under test was started without JWT_KEYS")
    jwks = jwt.PyJWKSet.from_json(os.environ["JWT_KEYS"])
    token = login(stack, user)["access_token"]
    kid = jwt.get_unverified_header(token)["kid"]
    assert kid == "client-checks-1"
    key = jwks[kid]
    decoded = jwt.decode(
        token, key=key.key, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER
    )
    assert decoded["typ"] == "access"
    # A verify-only key of the set does not verify it.
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token,
            key=jwks["client-checks-0"].key,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
        )
