"""What every step of the compose proof uses: the compose command, docker,
the containers' health, and the typed requests of a client.

The compose command (Compose v2 `docker compose` or v1 `docker-compose`)
is set once by compose_proof.main() into COMPOSE.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
AUTH = "http://127.0.0.1:8001"
PROFILE = "http://127.0.0.1:8002"
PROXY = "http://127.0.0.1:8080"
PASSWORD = "correct horse battery staple"
COMPOSE: list[str] = []
FILES = ["-f", "docker-compose.yml", "-f", "deploy/compose.proof.yml"]
STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"compose-proof [{time.monotonic() - STARTED:5.0f}s] {message}", flush=True)


def compose(*args: str, replicas: bool = False, capture: bool = False, env: dict | None = None) -> str:
    """Runs compose with the `mail` profile always on (its catcher gets
    every mail of the proof), and the `replicas` profile when asked."""
    profiles = ["--profile", "mail", *(["--profile", "replicas"] if replicas else [])]
    command = [*COMPOSE, *FILES, *profiles, *args]
    result = subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        text=True,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}): {result.stdout or ''}")
    return result.stdout or ""


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, text=True, capture_output=True).stdout


def container(service: str) -> str:
    ids = compose("ps", "-q", service, replicas=True, capture=True).split()
    if not ids:
        raise SystemExit(f"no container for {service}")
    return ids[0]


def wait_healthy(*services: str, timeout: float = 300) -> None:
    """Compose v1 has no `up --wait`: poll each container's health."""
    deadline = time.monotonic() + timeout
    for service in services:
        while True:
            status = docker("inspect", "-f", "{{.State.Health.Status}}", container(service)).strip()
            if status == "healthy":
                break
            if time.monotonic() > deadline:
                print(compose("logs", "--tail", "30", service, replicas=True, capture=True))
                raise SystemExit(f"{service} is {status}, not healthy, after {timeout:.0f} s")
            time.sleep(1)
    say(f"healthy: {', '.join(services)}")


def signup(base: str, email: str | None = None) -> tuple[requests.Response, str]:
    email = email or f"proof-{uuid.uuid4().hex[:12]}@example.com"
    response = requests.post(f"{base}/signup", json={"email": email, "password": PASSWORD}, timeout=15)
    return response, email


def login(base: str, email: str, password: str = PASSWORD) -> requests.Response:
    return requests.post(f"{base}/login", data={"username": email, "password": password}, timeout=15)


def expect(response: requests.Response, status: int, what: str) -> dict:
    if response.status_code != status:
        raise SystemExit(f"{what}: {response.status_code} {response.text}")
    return response.json() if response.content else {}


def read_secret(name: str) -> str:
    """A generated secret, read from the volume with the stand-in
    PostgreSQL image (the service images have no shell or cat)."""
    volume = f"{os.environ['COMPOSE_PROJECT_NAME']}_secrets"
    return docker(
        "run", "--rm", "--network", "none", "-v", f"{volume}:/s:ro",
        "--entrypoint", "cat", os.environ["POSTGRES_IMAGE"], f"/s/{name}",
    )


def wait_until_ok(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not answer 200 within {timeout:.0f} s")
