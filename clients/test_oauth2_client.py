"""Authlib's OAuth2Session (the requests client) against POST /login.

POST /login is an OAuth 2.0 token endpoint (RFC 6749 §4.3 password grant and
§6 refresh grant, form-encoded); an off-the-shelf OAuth 2.0 client must be
able to log in, refresh and call the profile service with no custom code.
"""

from __future__ import annotations

import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from conftest import TIMEOUT, signup


def check_token_response(token: dict) -> None:
    assert token["token_type"] == "bearer"
    assert isinstance(token["access_token"], str) and token["access_token"].count(".") == 2
    assert isinstance(token["refresh_token"], str) and token["refresh_token"].count(".") == 2
    assert isinstance(token["expires_in"], int) and token["expires_in"] > 0
    # Authlib turns expires_in into an absolute expires_at.
    assert "expires_at" in token


def test_password_grant_refresh_grant_and_me(stack, user):
    # A public client: no client secret, so Authlib sends no client
    # authentication; the client_id it puts in the form must be ignored.
    session = OAuth2Session(client_id="client-checks")
    token = session.fetch_token(
        stack.token_url, username=user.email, password=user.password, timeout=TIMEOUT
    )
    check_token_response(token)
    assert session.token["access_token"] == token["access_token"]

    refreshed = session.refresh_token(
        stack.token_url, refresh_token=token["refresh_token"], timeout=TIMEOUT
    )
    check_token_response(refreshed)
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] != token["refresh_token"]
    # The session now carries the new pair.
    assert session.token["access_token"] == refreshed["access_token"]

    me = session.get(f"{stack.profile_url}/me", timeout=TIMEOUT)
    assert me.status_code == 200, (me.status_code, me.text)
    assert me.headers["Content-Type"].startswith("application/json")
    body = me.json()
    assert body["email"] == user.email
    assert body["id"] == user.id
    assert me.request.headers["Authorization"] == f"Bearer {refreshed['access_token']}"


def test_login_normalises_the_email_like_signup(stack):
    user = signup(stack)
    session = OAuth2Session()
    token = session.fetch_token(
        stack.token_url,
        username=f"  {user.email.upper()} ",
        password=user.password,
        timeout=TIMEOUT,
    )
    check_token_response(token)


def test_wrong_password_is_an_oauth_error_authlib_understands(stack, user):
    session = OAuth2Session()
    with pytest.raises(OAuthError) as raised:
        session.fetch_token(
            stack.token_url, username=user.email, password="not the password", timeout=TIMEOUT
        )
    assert raised.value.error == "invalid_grant"
    assert raised.value.description  # read from error_description


def test_access_token_is_no_refresh_token(stack, user):
    """An access token offered to the refresh grant is an invalid_grant that
    Authlib reports, not a success, a crash or a 5xx."""
    session = OAuth2Session()
    token = session.fetch_token(
        stack.token_url, username=user.email, password=user.password, timeout=TIMEOUT
    )
    with pytest.raises(OAuthError) as raised:
        session.refresh_token(stack.token_url, refresh_token=token["access_token"], timeout=TIMEOUT)
    assert raised.value.error == "invalid_grant"


def test_token_response_is_not_cached(stack, user):
    response = requests.post(
        stack.token_url,
        data={"grant_type": "password", "username": user.email, "password": user.password},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"


def test_unsupported_grant_type_is_reported_in_oauth_terms(stack):
    session = OAuth2Session()
    with pytest.raises(OAuthError) as raised:
        session.fetch_token(stack.token_url, grant_type="client_credentials", timeout=TIMEOUT)
    assert raised.value.error == "unsupported_grant_type"


@pytest.mark.parametrize(
    "client_auth",
    [
        {},  # public client: no client authentication
        {"client_id": "app", "client_secret": "s3cret"},  # HTTP Basic (Authlib's default)
        {
            "client_id": "app",
            "client_secret": "s3cret",
            "token_endpoint_auth_method": "client_secret_post",
        },
    ],
    ids=["none", "client_secret_basic", "client_secret_post"],
)
def test_client_authentication_is_ignored(stack, user, client_auth):
    """A public client's token endpoint: client credentials that a configured
    OAuth 2.0 client sends anyway (Basic header or form fields) are ignored."""
    session = OAuth2Session(**client_auth)
    token = session.fetch_token(
        stack.token_url, username=user.email, password=user.password, timeout=TIMEOUT
    )
    check_token_response(token)
