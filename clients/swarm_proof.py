"""The Swarm proof: the stack (deploy/stack.yml rendered onto
docker-compose.yml) on a real Docker Swarm (three nodes, or this engine
alone), under traffic.

Called by scripts/swarm-proof once the swarm exists and the images are
built. Secrets come from deploy/swarm-secrets (Swarm secrets, nothing on
disk). A load loop (one client session per thread: GET /me, PATCH /me,
signups, refreshes) runs through each step and counts every answer:

  - a rolling update of both services to a new image (start-first);
  - a replica of each killed with SIGKILL;
  - an update to an image that never becomes healthy: rolled back;
  - with several nodes: a node drained, then another lost (its engine
    killed with SIGKILL);
  - JWT_KEYS rotated through the runbook with service update
    --secret-add/--secret-rm: nobody logged out.

After each step every acknowledged signup logs in and each session's last
acknowledged PATCH is what GET /me returns. Any broken promise raises;
scripts/swarm-proof removes the nodes (or the stack, its volume and the
swarm) whatever happens.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import requests

ROOT = Path(__file__).resolve().parent.parent
STACK = os.environ.get("STACK", "authstackproof")
# The engines of the nodes (their addresses; dockerd on tcp 2375 of a
# private network) when the swarm has several, else empty: one node, this
# engine.
NODES = os.environ.get("SWARM_NODES", "").split()
EDGE = os.environ.get("SWARM_EDGE", "127.0.0.1")
AUTH = f"http://{EDGE}:8001"
PROFILE = f"http://{EDGE}:8002"
PASSWORD = "correct horse battery staple"
THREADS = 4
REPLICAS = int(os.environ.get("REPLICAS", "3"))
OVERLAYS = ["deploy/stack.dnsrr.yml", "deploy/stack.proof.yml"]
STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"swarm-proof [{time.monotonic() - STARTED:5.0f}s] {message}", flush=True)


def run(*command: str, stdin: str | None = None, env: dict | None = None) -> str:
    result = subprocess.run(
        command, cwd=ROOT, input=stdin, text=True, capture_output=True, env={**os.environ, **(env or {})}
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}): {result.stdout}{result.stderr}")
    return result.stdout


def create_secret(name: str, value: str) -> None:
    """A Swarm secret from a value in this process's memory (stdin)."""
    run("docker", "secret", "create", name, "-", stdin=value)


def deploy(*more: str) -> None:
    stack = run("deploy/render-stack", *OVERLAYS, *more)
    run("docker", "stack", "deploy", "--resolve-image", "never", "-c", "-", STACK, stdin=stack)


def service(name: str) -> str:
    return f"{STACK}_{name}"


def tasks(name: str) -> list[dict]:
    """The service's tasks that Swarm wants running, as `docker inspect`
    shows them (NodeID, Status.State, Status.ContainerStatus)."""
    for _ in range(3):
        ids = run("docker", "service", "ps", "-q", "--filter", "desired-state=running", service(name)).split()
        if not ids:
            return []
        # A task may be gone between the two commands: ask again.
        inspected = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True)
        if inspected.returncode == 0:
            return json.loads(inspected.stdout)
    raise SystemExit(f"docker inspect of the tasks of {name} failed: {inspected.stderr}")


def running(name: str) -> list[dict]:
    """Tasks in state `running`: with a health check, Swarm reports a task
    running only once its container is healthy."""
    return [task for task in tasks(name) if task["Status"]["State"] == "running"]


def on_node(node_id: str, *args: str) -> str:
    """docker ARGS against the engine of one node of the swarm."""
    if not NODES:
        return run("docker", *args)
    address = run("docker", "node", "inspect", "-f", "{{.Status.Addr}}", node_id).strip()
    return run("docker", *args, env={"DOCKER_HOST": f"tcp://{address}:2375"})


def wait_converged(names: dict[str, int], timeout: float = 240) -> None:
    """Each service has its replicas running (healthy), and no others."""
    deadline = time.monotonic() + timeout
    while True:
        state = {name: (len(running(name)), len(tasks(name))) for name in names}
        if all(state[name] == (count, count) for name, count in names.items()):
            return
        if time.monotonic() > deadline:
            for name in names:
                print(run("docker", "service", "ps", "--no-trunc", service(name)))
                print(run("docker", "service", "logs", "--tail", "20", service(name)))
            raise SystemExit(f"not converged after {timeout:.0f} s: (running, wanted) {state}")
        time.sleep(1)


def update_state(name: str) -> str:
    return run("docker", "service", "inspect", "-f", "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}",
               service(name)).strip()


def spec_image(name: str) -> str:
    return run("docker", "service", "inspect", "-f", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", service(name)).strip()


# --- the load loop -------------------------------------------------------------


@dataclass
class Session:
    email: str
    access: str = ""
    refresh: str = ""
    refreshed_at: float = 0.0
    acked_bio: str | None = None


@dataclass
class Tally:
    """Every answer the load loop saw in one step."""

    requests: int = 0
    unexpected: dict[str, int] = field(default_factory=dict)
    connection_errors: dict[str, int] = field(default_factory=dict)
    unauthorized: int = 0
    acked_signups: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def failures(self) -> int:
        return sum(self.unexpected.values()) + sum(self.connection_errors.values())

    def summary(self) -> str:
        return (
            f"{self.requests} requests, {self.failures()} failed (unexpected statuses {self.unexpected or 0}, "
            f"connection errors {self.connection_errors or 0}), 401s {self.unauthorized}, "
            f"{len(self.acked_signups)} acknowledged signups"
        )


def kind(error: requests.RequestException) -> str:
    text = str(error)
    for word in ("reset", "aborted", "RemoteDisconnected", "refused", "timed out", "Read timed out"):
        if word in text:
            return word
    return type(error).__name__


class Load:
    """THREADS client sessions hammering the stack through the edge."""

    def __init__(self) -> None:
        self.sessions = [self.log_in(self.sign_up()) for _ in range(THREADS)]
        self.tally = Tally()
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    @staticmethod
    def sign_up() -> Session:
        email = f"swarm-{uuid.uuid4().hex[:12]}@example.com"
        response = requests.post(f"{AUTH}/signup", json={"email": email, "password": PASSWORD}, timeout=15)
        if response.status_code != 201:
            raise SystemExit(f"signup: {response.status_code} {response.text}")
        return Session(email)

    @staticmethod
    def log_in(session: Session) -> Session:
        response = requests.post(f"{AUTH}/login", data={"username": session.email, "password": PASSWORD}, timeout=15)
        if response.status_code != 200:
            raise SystemExit(f"login {session.email}: {response.status_code} {response.text}")
        tokens = response.json()
        session.access, session.refresh, session.refreshed_at = (
            tokens["access_token"], tokens["refresh_token"], time.monotonic())
        return session

    def call(self, method: str, url: str, expected: int, **kwargs) -> requests.Response | None:
        try:
            response = requests.request(method, url, timeout=15, **kwargs)
        except requests.RequestException as error:
            with self.tally.lock:
                self.tally.requests += 1
                what = kind(error)
                self.tally.connection_errors[what] = self.tally.connection_errors.get(what, 0) + 1
            return None
        with self.tally.lock:
            self.tally.requests += 1
            if response.status_code == 401:
                self.tally.unauthorized += 1
            if response.status_code != expected:
                key = f"{method} {url.rsplit('/', 1)[-1]} {response.status_code}"
                self.tally.unexpected[key] = self.tally.unexpected.get(key, 0) + 1
                return None
        return response

    def work(self, session: Session) -> None:
        step = 0
        while not self.stop.is_set():
            step += 1
            bearer = {"Authorization": f"Bearer {session.access}"}
            self.call("GET", f"{PROFILE}/me", 200, headers=bearer)
            if step % 3 == 0:
                bio = uuid.uuid4().hex
                if self.call("PATCH", f"{PROFILE}/me", 200, headers=bearer, json={"bio": bio}):
                    session.acked_bio = bio
            if step % 7 == 0:
                email = f"swarm-{uuid.uuid4().hex[:12]}@example.com"
                if self.call("POST", f"{AUTH}/signup", 201, json={"email": email, "password": PASSWORD}):
                    with self.tally.lock:
                        self.tally.acked_signups.append(email)
            if time.monotonic() - session.refreshed_at > 15:
                response = self.call("POST", f"{AUTH}/refresh", 200, json={"refresh_token": session.refresh})
                if response is not None:
                    tokens = response.json()
                    session.access, session.refresh = tokens["access_token"], tokens["refresh_token"]
                    session.refreshed_at = time.monotonic()
                else:
                    # The rotation's outcome is unknown (a failure counted
                    # above): reusing the old token would be reuse. Log in.
                    try:
                        self.log_in(session)
                    except (SystemExit, requests.RequestException):
                        time.sleep(0.5)
            time.sleep(0.02)

    def __enter__(self) -> Load:
        self.tally = Tally()
        self.stop.clear()
        self.threads = [threading.Thread(target=self.work, args=(s,), daemon=True) for s in self.sessions]
        for thread in self.threads:
            thread.start()
        time.sleep(2)
        return self

    def __exit__(self, *exc) -> None:
        time.sleep(2)
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def check(self, what: str, allowed_failures: int = 0) -> Tally:
        """Nothing acknowledged is lost; at most `allowed_failures`
        requests failed (those in flight in a killed replica); nobody was
        logged out."""
        tally = self.tally
        say(f"{what}: {tally.summary()}")
        if tally.requests < 50:
            raise SystemExit(f"{what}: only {tally.requests} requests: the load loop did not run")
        if tally.failures() > allowed_failures:
            raise SystemExit(f"{what}: {tally.failures()} failed requests, at most {allowed_failures} allowed")
        if tally.unauthorized:
            raise SystemExit(f"{what}: {tally.unauthorized} answers 401: someone was logged out")
        def logs_in(email: str) -> bool:
            login = requests.post(f"{AUTH}/login", data={"username": email, "password": PASSWORD}, timeout=15)
            return login.status_code == 200

        with ThreadPoolExecutor(max_workers=8) as pool:
            lost = [email for email, ok in zip(tally.acked_signups, pool.map(logs_in, tally.acked_signups)) if not ok]
        if lost:
            raise SystemExit(f"{what}: {len(lost)} acknowledged signups cannot log in: {lost[:3]}")
        for session in self.sessions:
            me = requests.get(f"{PROFILE}/me", headers={"Authorization": f"Bearer {session.access}"}, timeout=15)
            if me.status_code != 200:
                raise SystemExit(f"{what}: GET /me {me.status_code} {me.text}")
            if session.acked_bio is not None and me.json()["bio"] != session.acked_bio:
                raise SystemExit(f"{what}: the last acknowledged PATCH of {session.email} is lost")
        say(f"{what}: {len(tally.acked_signups)} acknowledged signups log in, every last acknowledged PATCH is stored")
        return tally


# --- the steps -----------------------------------------------------------------


def derived_image(base: str, tag: str, *lines: str) -> str:
    """A new image (a new ID) on top of `base`: what a release looks like."""
    dockerfile = "\n".join([f"FROM {base}", f"LABEL org.opencontainers.image.version={tag}", *lines]) + "\n"
    name = f"{base.rsplit(':', 1)[0]}:{tag}"
    for engine in [f"tcp://{node}:2375" for node in NODES] or [os.environ.get("DOCKER_HOST", "")]:
        env = {"DOCKER_BUILDKIT": "0", **({"DOCKER_HOST": engine} if engine else {})}
        run("docker", "build", "-q", "-t", name, "-", stdin=dockerfile, env=env)
    return name


def secrets_and_start(old_key: str) -> None:
    run("deploy/swarm-secrets", env={"JWT_SECRET_KEY": old_key})
    inspect = run("docker", "secret", "ls", "--format", "{{.Name}}")
    say(f"Swarm secrets created by deploy/swarm-secrets: {' '.join(sorted(inspect.split()))}")
    deploy()
    wait_converged({"db": 1, "auth": REPLICAS, "profile": REPLICAS, "proxy": 1})
    for url in (f"{AUTH}/readyz", f"{PROFILE}/readyz"):
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(url, timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} is not ready")
            time.sleep(0.5)
    say(f"stack {STACK} converged: {REPLICAS} auth and {REPLICAS} profile tasks healthy, db pinned, edge up")
    # The secrets are files in /run/secrets; no value is in a spec.
    for name in ("auth", "profile"):
        spec = run("docker", "service", "inspect", service(name))
        if old_key in spec:
            raise SystemExit(f"{name}: a secret's value is in its service spec")
        container = json.loads(spec)[0]["Spec"]["TaskTemplate"]["ContainerSpec"]
        mounted = {secret["File"]["Name"] for secret in container.get("Secrets", [])}
        if "jwt_secret_key" not in mounted or container.get("Mounts"):
            raise SystemExit(f"{name}: secrets {mounted}, mounts {container.get('Mounts')}")
    say("services read their secrets from Swarm secrets in /run/secrets (no secrets volume, no value in a spec)")


def rolling_update(load: Load, auth_v2: str, profile_v2: str) -> None:
    with load:
        took = update_all({name: ["--no-resolve-image", "--image", image]
                           for name, image in (("auth", auth_v2), ("profile", profile_v2))})
    if spec_image("auth") != auth_v2 or spec_image("profile") != profile_v2:
        raise SystemExit("the services do not run the new images")
    load.check(f"rolling update of both services to a new image ({took:.0f} s)")


def wait_update(name: str, expect: str, deadline: float) -> None:
    while (state := update_state(name)) != expect:
        if state in ("paused", "rollback_paused") or (expect == "completed" and state.startswith("rollback")) or (
            expect == "rollback_completed" and state == "completed"
        ):
            print(run("docker", "service", "ps", "--no-trunc", service(name)))
            raise SystemExit(f"{name}: update is {state}, not {expect}")
        if time.monotonic() > deadline:
            raise SystemExit(f"{name}: update still {state!r}, not {expect}")
        time.sleep(1)


def kill_replicas(load: Load) -> None:
    with load:
        victims = {name: running(name)[0] for name in ("auth", "profile")}
        for victim in victims.values():
            on_node(victim["NodeID"], "kill", "-s", "KILL", victim["Status"]["ContainerStatus"]["ContainerID"])
        killed = time.monotonic()
        # Swarm notices and starts a new task for each.
        deadline = killed + 120
        while True:
            current = {name: [task["ID"] for task in running(name)] for name in victims}
            if all(len(ids) == REPLICAS and victims[name]["ID"] not in ids for name, ids in current.items()):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"the killed replicas were not replaced: {current}")
            time.sleep(0.5)
        replaced = time.monotonic() - killed
    # At most one request per client thread was in flight in each killed
    # replica.
    load.check(f"one auth and one profile replica killed (SIGKILL), replaced in {replaced:.1f} s",
               allowed_failures=2 * THREADS)


def drain_a_node(load: Load) -> None:
    """A node that runs replicas (not the database's) is drained under
    traffic: Swarm moves its tasks to the others."""
    nodes = {task["NodeID"] for name in ("auth", "profile") for task in running(name)}
    db_node = running("db")[0]["NodeID"]
    candidates = sorted(nodes - {db_node})
    if not candidates:
        raise SystemExit("no node other than the database's runs a replica")
    node = candidates[0]
    hostname = run("docker", "node", "inspect", "-f", "{{.Description.Hostname}}", node).strip()
    moved = sum(task["NodeID"] == node for name in ("auth", "profile") for task in running(name))
    with load:
        started = time.monotonic()
        run("docker", "node", "update", "--availability", "drain", node)
        deadline = started + 180
        while any(task["NodeID"] == node for name in ("auth", "profile") for task in tasks(name)) or any(
            len(running(name)) != REPLICAS for name in ("auth", "profile")
        ):
            if time.monotonic() > deadline:
                raise SystemExit(f"{hostname} was not drained")
            time.sleep(1)
        took = time.monotonic() - started
    load.check(f"node {hostname} drained: its {moved} replicas moved to the other nodes in {took:.0f} s")
    run("docker", "node", "update", "--availability", "active", node)


def lose_a_node(load: Load) -> None:
    """A node that runs replicas (not the database's) dies: its engine
    is killed with SIGKILL. Swarm marks it down and starts its tasks
    elsewhere; the two managers left keep the quorum."""
    db_node = running("db")[0]["NodeID"]
    nodes = sorted({task["NodeID"] for name in ("auth", "profile") for task in running(name)} - {db_node})
    if not nodes:
        raise SystemExit("no node other than the database's runs a replica")
    node = nodes[0]
    hostname = run("docker", "node", "inspect", "-f", "{{.Description.Hostname}}", node).strip()
    lost = sum(task["NodeID"] == node for name in ("auth", "profile") for task in running(name))
    this_engine = {key: value for key, value in os.environ.items() if key != "DOCKER_HOST"}
    with load:
        started = time.monotonic()
        subprocess.run(["docker", "kill", "-s", "KILL", f"authstack-{hostname}"], check=True, env=this_engine,
                       capture_output=True)
        deadline = started + 180
        while any(task["NodeID"] == node for name in ("auth", "profile") for task in running(name)) or any(
            len(running(name)) != REPLICAS for name in ("auth", "profile")
        ):
            if time.monotonic() > deadline:
                print(run("docker", "node", "ls"))
                raise SystemExit(f"the tasks of {hostname} were not started elsewhere")
            time.sleep(1)
        took = time.monotonic() - started
    status = run("docker", "node", "inspect", "-f", "{{.Status.State}}", node).strip()
    # Each client thread has one request in flight at most: those sent to
    # the lost node's tasks may fail (nginx answers 502 for a POST it
    # cannot resend).
    load.check(f"node {hostname} lost (its engine killed, now {status}): its {lost} replicas running elsewhere "
               f"after {took:.0f} s", allowed_failures=THREADS)


def rollback(load: Load, auth_good: str) -> None:
    # A release that cannot reach its database: libpq asks for TLS, which
    # the database does not speak, so /readyz (the health check) never
    # answers 200 and the process gives up after STARTUP_WAIT.
    bad = derived_image(auth_good, "unhealthy", "ENV PGSSLMODE=require")
    with load:
        started = time.monotonic()
        run("docker", "service", "update", "--detach", "--no-resolve-image", "--image", bad, service("auth"))
        wait_update("auth", "rollback_completed", started + 300)
        took = time.monotonic() - started
    wait_converged({"auth": REPLICAS})
    if spec_image("auth") != auth_good:
        raise SystemExit(f"after the rollback auth runs {spec_image('auth')}, not {auth_good}")
    load.check(f"update to an unhealthy image rolled back to the old one in {took:.0f} s")


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def header(token: str) -> dict:
    return jwt.get_unverified_header(token)


def rotate_keys(load: Load, old_key: str) -> None:
    """docs/operations.md's Swarm runbook: the new key set joins the
    profile service (verify), then the auth service signs with it, then,
    after the longest access token's lifetime, the old secret goes."""
    printed = run("docker", "run", "--rm", "--log-driver", "none", "--network", "none", os.environ["AUTH_IMAGE_NOW"],
                  "generate-secrets", "--keys", "es256", "--print")
    keys = dict(line.split(" ", 1) for line in printed.splitlines())
    create_secret("jwt_keys_2", keys["jwt_keys"])
    create_secret("jwt_public_keys_2", keys["jwt_public_keys"])
    kid = json.loads(keys["jwt_public_keys"])["keys"][0]["kid"]
    target = "target=jwt_keys,uid=65532,gid=65532,mode=0400"
    with load:
        took = [update_one("profile", "--secret-add", f"source=jwt_public_keys_2,{target}",
                           "--env-add", "JWT_KEYS_FILE=/run/secrets/jwt_keys")]
        took.append(update_one("auth", "--secret-add", f"source=jwt_keys_2,{target}",
                               "--env-add", "JWT_KEYS_FILE=/run/secrets/jwt_keys"))
        switched = time.monotonic()
        fresh = Load.log_in(Load.sign_up())
        if header(fresh.access).get("kid") != kid or header(fresh.access)["alg"] != "ES256":
            raise SystemExit(f"after the switch a login's token has header {header(fresh.access)}")
        # The old secret still verifies: a token it signs is accepted.
        claims = jwt.decode(fresh.access, options={"verify_signature": False})
        if (status := me_status(minted(claims, old_key, "HS256"))) != 200:
            raise SystemExit(f"before the drop, a token of the old secret: {status}")
        # Every client refreshes within 15 s; the old secret's last token
        # lives one minute (ACCESS_TOKEN_EXPIRE_MINUTES in stack.proof.yml).
        time.sleep(max(0.0, 65 - (time.monotonic() - switched)))
        old_tokens = [s.access for s in load.sessions if header(s.access).get("kid") != kid]
        if old_tokens:
            raise SystemExit(f"{len(old_tokens)} sessions still hold a token of the old key after a minute")
        drop = ["--secret-rm", "jwt_secret_key", "--env-rm", "JWT_SECRET_KEY_FILE"]
        took.append(update_all({"profile": drop, "auth": drop}))
    load.check(f"JWT_KEYS rotated in three steps ({' + '.join(f'{t:.0f}' for t in took)} s, "
               f"then the old secret dropped): nobody logged out")
    # The old secret is gone for real: the same claims it signs are
    # refused, signed with the new key they are not.
    private = jwt.PyJWK(json.loads(keys["jwt_keys"])["keys"][0])
    old, new = minted(claims, old_key, "HS256"), minted(claims, private.key, "ES256", kid)
    if (me_status(old), me_status(new)) != (401, 200):
        raise SystemExit(f"after the drop: old secret {me_status(old)}, new key {me_status(new)}")
    for name in ("auth", "profile"):
        env = run("docker", "service", "inspect", "-f", "{{json .Spec.TaskTemplate.ContainerSpec.Env}}", service(name))
        if "JWT_SECRET_KEY_FILE" in env:
            raise SystemExit(f"{name} still has JWT_SECRET_KEY_FILE")
    say("a token of the old secret: 200 before the drop, 401 after; the same claims signed with the new key: 200")
    # The next `docker stack deploy`, given the overlay that records the
    # rotation (deploy/stack.rotated.yml names these same secrets), keeps
    # it: nobody is logged out, and the old secret does not come back.
    with load:
        deploy("deploy/stack.rotated.yml")
        time.sleep(3)
        deadline = time.monotonic() + 300
        while any(update_state(name) == "updating" for name in ("auth", "profile")):
            if time.monotonic() > deadline:
                raise SystemExit("the stack deploy after the rotation did not finish")
            time.sleep(1)
        wait_converged({"auth": REPLICAS, "profile": REPLICAS})
    load.check("docker stack deploy with deploy/stack.rotated.yml after the rotation")
    for name in ("auth", "profile"):
        env = run("docker", "service", "inspect", "-f", "{{json .Spec.TaskTemplate.ContainerSpec.Env}}", service(name))
        if "JWT_SECRET_KEY_FILE" in env or "JWT_KEYS_FILE" not in env:
            raise SystemExit(f"{name} after the stack deploy: {env}")
    if me_status(minted(claims, old_key, "HS256")) != 401 or me_status(minted(claims, private.key, "ES256", kid)) != 200:
        raise SystemExit("after the stack deploy the keys are not the rotated ones")


def minted(claims: dict, key, algorithm: str, kid: str | None = None) -> str:
    """`claims` (a real token's: a live session's) signed anew, valid for
    two more minutes."""
    now = int(time.time())
    return jwt.encode({**claims, "iat": now, "exp": now + 120}, key, algorithm=algorithm,
                      headers={"kid": kid} if kid else None)


def me_status(token: str) -> int:
    return requests.get(f"{PROFILE}/me", headers={"Authorization": f"Bearer {token}"}, timeout=15).status_code


def update_one(name: str, *args: str) -> float:
    return update_all({name: list(args)})


def update_all(changes: dict[str, list[str]]) -> float:
    """`docker service update ARGS` on each service at once; waits until
    every update completed and every task runs (healthy)."""
    started = time.monotonic()
    for name, args in changes.items():
        run("docker", "service", "update", "--detach", *args, service(name))
    for name in changes:
        wait_update(name, "completed", started + 300)
    wait_converged({name: REPLICAS for name in changes})
    return time.monotonic() - started


def main() -> None:
    old_key = b64url(os.urandom(32))
    auth_image, profile_image = os.environ["AUTH_IMAGE"], os.environ["PROFILE_IMAGE"]
    secrets_and_start(old_key)
    load = Load()
    auth_v2 = derived_image(auth_image, "proof-2")
    profile_v2 = derived_image(profile_image, "proof-2")
    rolling_update(load, auth_v2, profile_v2)
    kill_replicas(load)
    rollback(load, auth_v2)
    if len(NODES) > 1:
        drain_a_node(load)
    if len(NODES) >= 3:
        # Two managers of three keep the quorum.
        lose_a_node(load)
    os.environ["AUTH_IMAGE_NOW"] = auth_v2
    rotate_keys(load, old_key)
    say("all Swarm checks passed")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
