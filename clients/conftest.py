"""Shared fixtures for the client checks.

The tests talk to a running stack (scripts/client-checks starts one with
target/debug/devstack). They read where it is from the environment:

- AUTH_URL          e.g. http://127.0.0.1:8001
- PROFILE_URL       e.g. http://127.0.0.1:8002
- JWT_SECRET_KEY    the access-token secret the stack was started with
- JWT_REFRESH_SECRET_KEY   (optional) the refresh-token secret
- CLIENT_ARTIFACTS  (optional) where screenshots go; a new temp dir otherwise
"""

from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

PASSWORD = "correct horse battery staple"
TIMEOUT = 10


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        pytest.fail(
            f"{name} is not set: run scripts/client-checks, or start "
            "target/debug/devstack and set AUTH_URL, PROFILE_URL and JWT_SECRET_KEY",
            pytrace=False,
        )
    return value


@dataclass(frozen=True)
class Stack:
    auth_url: str
    profile_url: str
    jwt_secret: str
    jwt_refresh_secret: str | None

    @property
    def token_url(self) -> str:
        return f"{self.auth_url}/login"


@dataclass(frozen=True)
class User:
    id: str
    email: str
    password: str


@pytest.fixture(scope="session")
def stack() -> Stack:
    return Stack(
        auth_url=_required("AUTH_URL").rstrip("/"),
        profile_url=_required("PROFILE_URL").rstrip("/"),
        jwt_secret=_required("JWT_SECRET_KEY"),
        jwt_refresh_secret=os.environ.get("JWT_REFRESH_SECRET_KEY") or None,
    )


def signup(stack: Stack, email: str | None = None, password: str = PASSWORD) -> User:
    """Creates a fresh account with a plain JSON POST /signup."""
    email = email or f"client-{uuid.uuid4().hex[:12]}@example.com"
    response = requests.post(
        f"{stack.auth_url}/signup",
        json={"email": email, "password": password},
        timeout=TIMEOUT,
    )
    assert response.status_code == 201, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["email"] == email.strip().lower()
    return User(id=body["id"], email=body["email"], password=password)


@pytest.fixture
def user(stack: Stack) -> User:
    return signup(stack)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots and browser logs go (printed by scripts/client-checks)."""
    configured = os.environ.get("CLIENT_ARTIFACTS", "").strip()
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
    else:
        path = Path(tempfile.mkdtemp(prefix="client-artifacts-"))
    print(f"\nclient artifacts: {path}")
    return path


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the item, so fixtures can tell in their
    teardown whether the test failed (the browser fixture saves more then)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
