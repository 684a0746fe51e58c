"""The TOTP second factor walked with pyotp and Authlib: codes come from
pyotp (not the service's Rust crate), logins from Authlib's OAuth2Session
with the extra `otp` form parameter.

Needs a stack started with MFA_ENCRYPTION_KEY (scripts/client-checks sets
one); against one without, the test is skipped, or fails under CI.
"""

from __future__ import annotations

import os
import time

import jwt
import pyotp
import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from conftest import TIMEOUT

AUDIENCE = "profile-service"


def claims(stack, access_token: str) -> dict:
    return jwt.decode(access_token, stack.jwt_secret, algorithms=["HS256"], audience=AUDIENCE)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_totp_walk_with_pyotp_and_authlib(stack, user):
    session = OAuth2Session(client_id="client-checks")
    token = session.fetch_token(
        stack.token_url, username=user.email, password=user.password, timeout=TIMEOUT
    )
    assert claims(stack, token["access_token"])["amr"] == ["pwd"]

    enrolled = requests.post(
        f"{stack.auth_url}/mfa/totp", headers=bearer(token["access_token"]), timeout=TIMEOUT
    )
    if enrolled.status_code == 403 and enrolled.json()["error"] == "feature_disabled":
        if os.environ.get("CI", "") not in ("", "0", "false"):
            pytest.fail("the stack has no MFA_ENCRYPTION_KEY")
        pytest.skip("the stack has no MFA_ENCRYPTION_KEY")
    assert enrolled.status_code == 200, (enrolled.status_code, enrolled.text)
    enrolment = enrolled.json()
    totp = pyotp.parse_uri(enrolment["otpauth_uri"])
    assert isinstance(totp, pyotp.TOTP)
    assert totp.secret == enrolment["secret"]
    assert (totp.digits, totp.interval) == (6, 30)

    confirmed = requests.post(
        f"{stack.auth_url}/mfa/totp/confirm",
        json={"code": totp.now()},
        headers=bearer(token["access_token"]),
        timeout=TIMEOUT,
    )
    assert confirmed.status_code == 200, (confirmed.status_code, confirmed.text)
    recovery = confirmed.json()["recovery_codes"]
    assert len(recovery) == 10 and all(len(code) == 10 for code in recovery)

    # Without otp: mfa_required, an OAuth 2.0 error Authlib reads.
    with pytest.raises(OAuthError) as raised:
        OAuth2Session().fetch_token(
            stack.token_url, username=user.email, password=user.password, timeout=TIMEOUT
        )
    assert raised.value.error == "mfa_required"

    # With the next step's code (the current one confirmed the enrolment).
    second = OAuth2Session(client_id="client-checks")
    token = second.fetch_token(
        stack.token_url,
        username=user.email,
        password=user.password,
        otp=totp.at(time.time() + 30),
        timeout=TIMEOUT,
    )
    assert claims(stack, token["access_token"])["amr"] == ["pwd", "otp"]
    assert claims(stack, token["access_token"])["mfa"] is True
    refreshed = second.refresh_token(
        stack.token_url, refresh_token=token["refresh_token"], timeout=TIMEOUT
    )
    assert claims(stack, refreshed["access_token"])["amr"] == ["pwd", "otp"]
    me = second.get(f"{stack.profile_url}/me", timeout=TIMEOUT)
    assert me.status_code == 200, (me.status_code, me.text)
    assert me.json()["mfa"] is True

    # A recovery code works once.
    token = OAuth2Session().fetch_token(
        stack.token_url, username=user.email, password=user.password, otp=recovery[0], timeout=TIMEOUT
    )
    with pytest.raises(OAuthError) as raised:
        OAuth2Session().fetch_token(
            stack.token_url, username=user.email, password=user.password, otp=recovery[0], timeout=TIMEOUT
        )
    assert raised.value.error == "invalid_grant"

    # Off again with another recovery code; then the password alone logs in.
    removed = requests.delete(
        f"{stack.auth_url}/mfa/totp",
        json={"code": recovery[1]},
        headers=bearer(token["access_token"]),
        timeout=TIMEOUT,
    )
    assert removed.status_code == 204, (removed.status_code, removed.text)
    token = OAuth2Session().fetch_token(
        stack.token_url, username=user.email, password=user.password, timeout=TIMEOUT
    )
    assert claims(stack, token["access_token"])["amr"] == ["pwd"]
    assert claims(stack, token["access_token"])["mfa"] is False
