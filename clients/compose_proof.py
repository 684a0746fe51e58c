"""The compose proof: docker-compose.yml run for real on a Docker engine.

Called by scripts/compose-proof with the compose command to use (Compose v2
`docker compose` or v1 `docker-compose`) after the stand-in images exist and
the services' images are built. Each step prints what it counted; any broken
promise raises, and the stack is torn down (`down -v`) whatever happens.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

import compose_mail
import compose_ops
import compose_support
from compose_support import (
    AUTH, PROFILE, PROXY, ROOT, compose, container, docker, expect, login, read_secret, say, signup,
    wait_healthy, wait_until_ok,
)


@dataclass
class Tally:
    """What a traffic loop saw."""

    statuses: dict[int, int] = field(default_factory=dict)
    unavailable_without_retry_after: int = 0
    connection_errors: int = 0
    acked_signups: list[str] = field(default_factory=list)
    acked_bios: list[str] = field(default_factory=list)

    def count(self, response: requests.Response) -> None:
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        if response.status_code == 503 and not response.headers.get("Retry-After"):
            self.unavailable_without_retry_after += 1

    def server_errors_other_than_503(self) -> int:
        return sum(n for s, n in self.statuses.items() if s >= 500 and s != 503)


def traffic(stop: threading.Event, tally: Tally, token: str) -> None:
    """Signs up, logs in and writes /me in a loop until `stop`."""
    while not stop.is_set():
        try:
            response, email = signup(AUTH)
            tally.count(response)
            if response.status_code == 201:
                tally.acked_signups.append(email)
            bio = uuid.uuid4().hex
            patched = requests.patch(
                f"{PROFILE}/me", json={"bio": bio}, headers={"Authorization": f"Bearer {token}"}, timeout=15
            )
            tally.count(patched)
            if patched.status_code == 200:
                tally.acked_bios.append(bio)
            tally.count(requests.get(f"{PROFILE}/me", headers={"Authorization": f"Bearer {token}"}, timeout=15))
        except requests.RequestException:
            tally.connection_errors += 1
            time.sleep(0.2)
        time.sleep(0.05)


def with_traffic(token: str, action) -> Tally:
    tally = Tally()
    stop = threading.Event()
    worker = threading.Thread(target=traffic, args=(stop, tally, token))
    worker.start()
    try:
        time.sleep(1)
        action()
        time.sleep(1)
    finally:
        stop.set()
        worker.join()
    return tally


def check_nothing_acked_was_lost(tally: Tally, token: str, what: str) -> None:
    if tally.server_errors_other_than_503():
        raise SystemExit(f"{what}: 5xx other than 503: {tally.statuses}")
    if tally.unavailable_without_retry_after:
        raise SystemExit(f"{what}: {tally.unavailable_without_retry_after} 503 without Retry-After")
    lost = [email for email in tally.acked_signups if login(AUTH, email).status_code != 200]
    if lost:
        raise SystemExit(f"{what}: {len(lost)} acknowledged signups cannot log in: {lost[:3]}")
    me = expect(requests.get(f"{PROFILE}/me", headers={"Authorization": f"Bearer {token}"}, timeout=15), 200, "me")
    if tally.acked_bios and me["bio"] != tally.acked_bios[-1]:
        raise SystemExit(f"{what}: the last acknowledged PATCH is lost: {me['bio']} != {tally.acked_bios[-1]}")
    say(
        f"{what}: statuses {dict(sorted(tally.statuses.items()))}, connection errors "
        f"{tally.connection_errors}, {len(tally.acked_signups)} acknowledged signups all log in, "
        f"last of {len(tally.acked_bios)} acknowledged PATCHes stored; lost writes = 0"
    )


def client_checks(python: str) -> None:
    env = {
        **os.environ,
        "AUTH_URL": AUTH,
        "PROFILE_URL": PROFILE,
        "JWT_SECRET_KEY": read_secret("jwt_secret_key"),
        "JWT_REFRESH_SECRET_KEY": read_secret("jwt_refresh_secret_key"),
    }
    env.pop("JWT_KEYS", None)
    tests = ["clients/test_oauth2_client.py", "clients/test_jwt_interop.py"]
    subprocess.run([str(ROOT / python), "-m", "pytest", "-q", *tests], cwd=ROOT, env=env, check=True)
    token = access_token()
    # Every route, /recover too: the proof's stack sends mail (the `mail`
    # profile and SMTP_URL), so no route answers the 503 of a stack without.
    for name, url, extra in [
        ("auth", AUTH, []),
        ("profile", PROFILE, ["--header", f"Authorization: Bearer {token}"]),
    ]:
        subprocess.run(
            [
                str((ROOT / python).parent / "schemathesis"), "--no-color",
                "--config-file", str(ROOT / "clients" / "schemathesis.toml"),
                "run", f"{url}/openapi.json", "--max-examples",
                os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "50"), "--request-timeout", "10", *extra,
            ],
            cwd=os.environ.get("PROOF_ARTIFACTS", "/tmp"),
            check=True,
        )
    say("client checks (Authlib, PyJWT, schemathesis) passed against the published ports")


def access_token(base: str = AUTH) -> str:
    response, email = signup(base)
    expect(response, 201, "signup")
    return expect(login(base, email), 200, "login")["access_token"]


def logout_reaches_the_profile_service() -> None:
    """The compose file's events: a logout's access token is refused by
    the profile container within seconds (not at exp)."""
    response, email = signup(AUTH)
    expect(response, 201, "signup")
    tokens = expect(login(AUTH, email), 200, "login")
    me = lambda: requests.get(f"{PROFILE}/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=15)
    expect(me(), 200, "GET /me before logout")
    response = requests.post(f"{AUTH}/logout", json={"refresh_token": tokens["refresh_token"]}, timeout=15)
    expect(response, 204, "logout")
    started = time.monotonic()
    while (status := me().status_code) != 401:
        if status != 200 or time.monotonic() - started > 10:
            raise SystemExit(f"GET /me after logout: {status} after {time.monotonic() - started:.1f} s")
        time.sleep(0.02)
    say(f"events: a logout's access token was refused by the profile container {time.monotonic() - started:.2f} s after the 204")


def database_restart_under_traffic(token: str) -> None:
    before = {s: container(s) for s in ("auth", "profile")}

    def restart() -> None:
        compose("stop", "db")
        time.sleep(3)
        compose("start", "db")
        wait_healthy("db")

    tally = with_traffic(token, restart)
    wait_until_ok(f"{AUTH}/readyz")
    wait_until_ok(f"{PROFILE}/readyz")
    if tally.statuses.get(503, 0) == 0:
        raise SystemExit(f"no 503 while the database was down: {tally.statuses}")
    after = {s: container(s) for s in ("auth", "profile")}
    if before != after:
        raise SystemExit("a service container was replaced during the database restart")
    restarts = docker("inspect", "-f", "{{.RestartCount}}", after["auth"]).strip()
    check_nothing_acked_was_lost(tally, token, f"database restart (service restarts: {restarts})")


def down_and_up_keeps_data() -> None:
    response, email = signup(AUTH)
    expect(response, 201, "signup before down")
    session = expect(login(AUTH, email), 200, "login before down")
    compose("down")
    compose("up", "-d")
    wait_healthy("db", "auth", "profile")
    expect(login(AUTH, email), 200, "login after down/up")
    refreshed = requests.post(f"{AUTH}/refresh", json={"refresh_token": session["refresh_token"]}, timeout=15)
    expect(refreshed, 200, "refresh of a session from before down/up")
    say("down + up: the user and the session are still there (the db-data volume)")


def upgrade_under_traffic(token: str) -> None:
    old = container("auth")

    def replace() -> None:
        compose("up", "-d", "--no-deps", "--force-recreate", "auth")
        wait_healthy("auth")

    tally = with_traffic(token, replace)
    if container("auth") == old:
        raise SystemExit("the auth container was not replaced")
    check_nothing_acked_was_lost(tally, token, "auth-service replaced under traffic")


def replicas() -> None:
    compose("up", "-d", replicas=True, env={"RATE_LIMIT_PER_MINUTE": "6"})
    wait_healthy("auth", "auth-2", "profile", "profile-2")
    wait_until_ok(f"{PROXY}/auth/readyz")
    # The limit counts across both replicas: 6 a minute in all, not each.
    statuses = [signup(PROXY)[0].status_code for _ in range(10)]
    if statuses.count(201) != 6 or statuses.count(429) != 4:
        raise SystemExit(f"10 signups through the proxy: {statuses}")
    served = {
        service: compose("logs", "--no-color", service, replicas=True, capture=True).count('"path":"/signup"')
        for service in ("auth", "auth-2")
    }
    if min(served.values()) == 0:
        raise SystemExit(f"the proxy did not spread signups over both replicas: {served}")
    say(f"replicas: 10 signups through the proxy: 6 x 201, 4 x 429; signup lines per replica {served}")
    # One replica of each stopped: the others keep serving.
    compose("stop", "auth-2", "profile-2", replicas=True)
    ok = 0
    for _ in range(10):
        ok += requests.get(f"{PROXY}/auth/readyz", timeout=15).status_code == 200
        ok += requests.get(f"{PROXY}/profile/readyz", timeout=15).status_code == 200
    if ok != 20:
        raise SystemExit(f"with one replica of each stopped, {20 - ok} of 20 requests failed")
    say("replicas: with auth-2 and profile-2 stopped, 20 of 20 requests through the proxy answered 200")


def security_checks() -> None:
    secrets = [read_secret(n) for n in ("jwt_secret_key", "jwt_refresh_secret_key", "event_secret", "mfa_encryption_key", "postgres_password")]
    for service in ("auth", "profile", "db"):
        inspected = docker("inspect", container(service))
        if any(secret in inspected for secret in secrets):
            raise SystemExit(f"a secret is in `docker inspect` of {service}")
    for service in ("auth", "profile"):
        pid = docker("inspect", "-f", "{{.State.Pid}}", container(service)).strip()
        uid = next(line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("Uid:"))
        if uid == "0":
            raise SystemExit(f"{service} runs as root")
        health = json.loads(docker("inspect", "-f", "{{json .State.Health}}", container(service)))
        image = docker("inspect", "-f", "{{.Config.Image}}", container(service)).strip()
        no_curl = subprocess.run(
            ["docker", "run", "--rm", "--entrypoint", "curl", image, "--version"], capture_output=True
        ).returncode != 0
        if health["Status"] != "healthy" or not no_curl:
            raise SystemExit(f"{service}: health {health['Status']}, image without curl: {no_curl}")
        size = int(docker("image", "inspect", "-f", "{{.Size}}", image).strip())
        say(f"{service}: runs as uid {uid}, healthy by its own `healthcheck` (the image has no curl), image {image} {size / 1e6:.1f} MB")
    say("no secret in `docker inspect` of auth, profile or db")


def main() -> None:
    python, compose_support.COMPOSE[:] = sys.argv[1], sys.argv[2:]
    try:
        compose("up", "-d")
        wait_healthy("db", "auth", "profile")
        compose_mail.verify_and_recover()
        logout_reaches_the_profile_service()
        client_checks(python)
        token = access_token()
        database_restart_under_traffic(token)
        down_and_up_keeps_data()
        compose_ops.backup_and_restore()
        token = access_token()
        upgrade_under_traffic(token)
        security_checks()
        compose_ops.container_settings()
        replicas()
        compose_ops.proxy_address_and_swagger()
        say("all compose checks passed")
    finally:
        compose("down", "-v", "--remove-orphans", replicas=True)


if __name__ == "__main__":
    main()
