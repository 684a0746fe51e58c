"""The compose proof's checks of what an operator relies on: the backup and
restore of docs/operations.md (both databases and the secrets volume),
every container's limits and log rotation, the replicas proxy's address
and health, and Swagger UI behind the proxy's prefix.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urljoin

import requests

from compose_support import (
    AUTH, PROFILE, PROXY, ROOT, COMPOSE, FILES, compose, container, docker, expect, login, say, signup,
    wait_healthy,
)


def run_to_file(command: list[str], path: Path) -> None:
    with path.open("wb") as out:
        subprocess.run(command, cwd=ROOT, stdout=out, check=True)


def run_from_file(command: list[str], path: Path) -> None:
    with path.open("rb") as source:
        subprocess.run(command, cwd=ROOT, stdin=source, check=True)


def backup_and_restore() -> None:
    """operations.md's Backups, step by step: dump both databases and the
    secrets volume, `down -v` (which deletes both volumes), restore onto
    the empty stack; the old session must still refresh (the JWT keys came
    back) and the services must reach the database (its password did)."""
    response, email = signup(AUTH)
    expect(response, 201, "signup before the backup")
    session = expect(login(AUTH, email), 200, "login before the backup")
    cli = [*COMPOSE, *FILES]
    with tempfile.TemporaryDirectory() as folder:
        backup = Path(folder)
        for database in ("auth", "profile"):
            run_to_file([*cli, "exec", "-T", "db", "pg_dump", "-U", "postgres", "-Fc", database],
                        backup / f"{database}.dump")
        run_to_file([*cli, "run", "--rm", "--no-deps", "-T", "--entrypoint", "tar", "db",
                     "-C", "/run/secrets", "-cf", "-", "."], backup / "secrets.tar")
        compose("down", "-v")
        run_from_file([*cli, "run", "--rm", "-T", "secrets-restore"], backup / "secrets.tar")
        compose("up", "-d", "db")
        wait_healthy("db")
        for database in ("auth", "profile"):
            run_from_file([*cli, "exec", "-T", "db", "pg_restore", "-U", "postgres", "-d", database],
                          backup / f"{database}.dump")
        compose("up", "-d")
        wait_healthy("db", "auth", "profile")
    expect(login(AUTH, email), 200, "login after the restore")
    refreshed = requests.post(f"{AUTH}/refresh", json={"refresh_token": session["refresh_token"]}, timeout=15)
    expect(refreshed, 200, "refresh of a session from before the backup, after the restore")
    headers = {"Authorization": f"Bearer {session['access_token']}"}
    expect(requests.get(f"{PROFILE}/me", headers=headers, timeout=15), 200, "/me with an old access token")
    say("backup (pg_dump of both databases, tar of the secrets volume), down -v, restore: "
        "the user logs in, the old session refreshes, the old access token reads /me")


def container_settings() -> None:
    """Every container rotates its logs, has a memory limit and a CPU
    weight; PostgreSQL's weight is the largest."""
    shares = {}
    ids = {service: container(service) for service in ("db", "auth", "profile", "mail")}
    secrets = compose("ps", "-a", "-q", "secrets", capture=True).split()
    ids["secrets"] = secrets[0]
    for service, ident in ids.items():
        host = json.loads(docker("inspect", "-f", "{{json .HostConfig}}", ident))
        log = host["LogConfig"]
        if log["Type"] != "json-file" or log["Config"].get("max-size") != "10m" or not host["Memory"]:
            raise SystemExit(f"{service}: logging {log}, memory limit {host['Memory']}")
        shares[service] = host["CpuShares"]
    if shares["db"] <= max(shares["auth"], shares["profile"]):
        raise SystemExit(f"PostgreSQL's CPU weight is not the largest: {shares}")
    say(f"every container rotates its logs (json-file, 10m x 3) and has a memory limit; CPU weights {shares}")


def swagger_behind(prefix: str, route: str) -> None:
    """The page under `prefix` loads the document under `prefix` too."""
    redirect = requests.get(f"{PROXY}{prefix}/docs", allow_redirects=False, timeout=15)
    page_url = urljoin(f"{PROXY}{prefix}/docs", redirect.headers.get("Location", ""))
    if page_url != f"{PROXY}{prefix}/docs/":
        raise SystemExit(f"{prefix}/docs redirects to {redirect.headers.get('Location')}")
    if "swagger-ui" not in requests.get(page_url, timeout=15).text:
        raise SystemExit(f"{page_url} is not Swagger UI")
    script = requests.get(urljoin(page_url, "swagger-initializer.js"), timeout=15).text
    found = re.search(r'"url": "([^"]+)"', script)
    if not found:
        raise SystemExit(f"no document URL in {prefix}'s swagger-initializer.js")
    document_url = urljoin(page_url, found.group(1))
    document = requests.get(document_url, timeout=15)
    if document.status_code != 200 or route not in document.json()["paths"]:
        raise SystemExit(f"Swagger UI at {page_url} loads {document_url}: {document.status_code}")
    say(f"Swagger UI behind the proxy: {page_url} loads {document_url} (200, with {route})")


def proxy_address_and_swagger() -> None:
    """The proxy has PROXY_ADDRESS in NETWORK_SUBNET (the proof sets both
    away from the defaults), the services trust exactly it, nginx reports
    healthy, and Swagger UI works under both prefixes."""
    wait_healthy("proxy")
    proxy = container("proxy")
    networks = json.loads(docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", proxy))
    address = next(iter(networks.values()))["IPAddress"]
    environment = docker("inspect", "-f", "{{json .Config.Env}}", container("auth"))
    expected = os.environ.get("PROXY_ADDRESS", "172.30.248.10")
    if address != expected or f"TRUSTED_PROXIES={expected}" not in environment:
        raise SystemExit(f"proxy at {address}, expected {expected}; auth's environment {environment}")
    say(f"the proxy is at PROXY_ADDRESS {address}, which auth trusts; nginx is healthy")
    swagger_behind("/auth", "/signup")
    swagger_behind("/profile", "/me")
