"""The mailed flows walked by a real client, as an app would: sign up,
follow the verification link the dev stack printed, log in with Authlib
and read `email_verified` with PyJWT; forget the password, follow the reset
link, and log in with the new one.

The dev stack catches the auth service's mail and prints each one (its
recipient, subject and link) in its output, which scripts/client-checks
writes to DEVSTACK_LOG.
"""

from __future__ import annotations

import os
import time
import uuid
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from conftest import PASSWORD, TIMEOUT, signup


def links_for(email: str, count: int) -> list[str]:
    """The links of the first `count` mails to `email`, waiting for them."""
    log = os.environ.get("DEVSTACK_LOG", "")
    if not log:
        pytest.skip("DEVSTACK_LOG is not set: run scripts/client-checks")
    deadline = time.monotonic() + 20
    while True:
        with open(log, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
        links = [
            lines[i + 1].strip()
            for i, line in enumerate(lines[:-1])
            if line.startswith(f"✉  mail to {email}:")
        ]
        if len(links) >= count:
            return links
        assert time.monotonic() < deadline, f"{email} got {len(links)} mails, expected {count}"
        time.sleep(0.1)


def token_of(link: str) -> str:
    fragment = urlsplit(link).fragment
    assert fragment.startswith("token="), link
    return fragment.removeprefix("token=")


def claims(access_token: str, stack) -> dict:
    return jwt.decode(
        access_token,
        stack.jwt_secret,
        algorithms=["HS256"],
        audience="profile-service",
        issuer="auth-service",
    )


def test_verify_then_log_in_with_authlib(stack):
    user = signup(stack, email=f"walk-{uuid.uuid4().hex[:12]}@example.com")
    session = OAuth2Session(client_id="client-checks")
    before = session.fetch_token(
        stack.token_url, username=user.email, password=user.password, timeout=TIMEOUT
    )
    assert claims(before["access_token"], stack)["email_verified"] is False

    (link,) = links_for(user.email, 1)
    assert urlsplit(link).path.endswith("/verify")
    response = requests.post(
        f"{stack.auth_url}/verify", json={"token": token_of(link)}, timeout=TIMEOUT
    )
    assert response.status_code == 204, response.text

    after = session.refresh_token(stack.token_url, refresh_token=before["refresh_token"], timeout=TIMEOUT)
    assert claims(after["access_token"], stack)["email_verified"] is True
    me = session.get(f"{stack.profile_url}/me", timeout=TIMEOUT)
    assert me.status_code == 200 and me.json()["email_verified"] is True


def test_recover_and_reset_then_log_in_with_the_new_password(stack):
    user = signup(stack, email=f"walk-{uuid.uuid4().hex[:12]}@example.com")
    response = requests.post(f"{stack.auth_url}/recover", json={"email": user.email}, timeout=TIMEOUT)
    assert response.status_code == 202 and response.json() == {}
    link = links_for(user.email, 2)[1]
    assert urlsplit(link).path.endswith("/reset-password")
    new = PASSWORD + " and more"
    response = requests.post(
        f"{stack.auth_url}/reset",
        json={"token": token_of(link), "password": new},
        timeout=TIMEOUT,
    )
    assert response.status_code == 204, response.text

    session = OAuth2Session(client_id="client-checks")
    with pytest.raises(OAuthError) as refused:
        session.fetch_token(stack.token_url, username=user.email, password=user.password, timeout=TIMEOUT)
    assert refused.value.error == "invalid_grant"
    token = session.fetch_token(stack.token_url, username=user.email, password=new, timeout=TIMEOUT)
    assert claims(token["access_token"], stack)["email_verified"] is True
