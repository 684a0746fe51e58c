"""Static checks of the Docker files, fast and engine-free.

scripts/compose-proof runs them for real on a Docker engine; these hold
docker-compose.yml and the Dockerfile to the contract (../shared/API.md)
even where no engine answers.
"""

import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONTRACT = ROOT.parent / "shared" / "API.md"
SERVICES = ("auth", "profile", "auth-2", "profile-2")


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def contract_variables():
    if not CONTRACT.exists():
        pytest.skip(f"{CONTRACT} is not beside the repository")
    # `NAME`, or `NAME` (and `_FILE`) for a secret that may come from a file.
    text = CONTRACT.read_text()
    names = set(re.findall(r"^\| `([A-Z_]+)`(?: \(and `_FILE`\))? \|", text, re.M))
    # A secret the contract names in prose (the TOTP section's
    # "`MFA_ENCRYPTION_KEY` secret, with its `_FILE` form").
    names |= set(re.findall(r"`([A-Z_]+)` secret, with its `_FILE`", text.replace("\n", " ")))
    return names | {f"{name}_FILE" for name in names}


def test_compose_runs_postgres_both_services_and_the_secrets_one_shot():
    services = compose()["services"]
    assert {"secrets", "db", "auth", "profile"} <= set(services)
    for name in ("db", *SERVICES):
        assert "healthcheck" in services[name], name
    for name in SERVICES:
        depends = services[name]["depends_on"]
        assert depends["db"]["condition"] == "service_healthy"
        assert depends["secrets"]["condition"] == "service_completed_successfully"
        assert services[name]["healthcheck"]["test"][1:] == [
            f"{name.split('-')[0]}-service",
            "healthcheck",
        ]


def test_services_are_hardened_and_only_the_public_ports_are_published():
    services = compose()["services"]
    for name in SERVICES:
        service = services[name]
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert service["mem_limit"] and service["restart"] == "unless-stopped", name
        assert service["logging"]["driver"] == "json-file", name
    assert services["auth"]["ports"] == ["8001:8001"]
    assert services["profile"]["ports"] == ["8002:8002"]
    assert "ports" not in services["auth-2"] and "ports" not in services["profile-2"]


def test_secrets_come_from_files_and_only_auth_has_the_refresh_secret():
    services = compose()["services"]
    for name in SERVICES:
        env = services[name]["environment"]
        for key, value in env.items():
            if "SECRET" in key or key.startswith("DATABASE_URL"):
                assert key.endswith("_FILE") and value.startswith("/run/secrets/"), (name, key)
    assert "JWT_REFRESH_SECRET_KEY_FILE" in services["auth"]["environment"]
    assert not any("REFRESH" in key for key in services["profile"]["environment"])


def test_every_variable_given_to_a_service_is_in_the_contract():
    known = contract_variables()
    for name in SERVICES:
        unknown = set(compose()["services"][name]["environment"]) - known
        assert not unknown, f"{name}: {unknown}"


def test_every_image_is_upstream_by_default_and_replaceable():
    text = (ROOT / "docker-compose.yml").read_text()
    for variable, default in [
        ("POSTGRES_IMAGE", "postgres:15"),
        ("NGINX_IMAGE", "nginx:1.27"),
        ("RUST_IMAGE", "rust:1.95-bookworm"),
        ("RUNTIME_IMAGE", "gcr.io/distroless/cc-debian12:nonroot"),
        ("MAILPIT_IMAGE", "axllent/mailpit:v1.33.1"),
    ]:
        assert f"${{{variable}:-{default}}}" in text, variable


def test_dockerfile_takes_every_base_from_a_build_argument_and_runs_unprivileged():
    text = (ROOT / "Dockerfile").read_text()
    for line in re.findall(r"^FROM .*$", text, re.M):
        assert re.match(r"FROM (\$\{\w+\}|runtime|dependencies) AS ", line), line
    assert "--locked -p auth-service -p profile-service" in text
    assert re.search(r"^USER 65532:65532$", text, re.M)
    assert "STOPSIGNAL SIGTERM" in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "target" in ignored and ".env" in ignored


def test_env_example_shows_the_compose_files_defaults():
    text = (ROOT / "docker-compose.yml").read_text()
    defaults = dict(re.findall(r"\$\{([A-Z_]+):-([^}]+)\}", text))
    shown = re.findall(r"^# ([A-Z_]+)=(\S+)$", (ROOT / ".env.example").read_text(), re.M)
    compared = [name for name, _ in shown if name in defaults]
    assert {"CORS_ALLOWED_ORIGINS", "NETWORK_SUBNET", "PROXY_ADDRESS"} <= set(compared)
    for name, value in shown:
        if name in defaults:
            assert value == defaults[name], name


def test_every_container_rotates_logs_and_has_a_cpu_weight_and_a_memory_limit():
    services = compose()["services"]
    for name, service in services.items():
        assert service["logging"]["driver"] == "json-file", name
        assert service["logging"]["options"]["max-size"], name
        assert service["cpu_shares"] and service["mem_limit"], name
    assert services["db"]["cpu_shares"] > services["auth"]["cpu_shares"]
    assert "healthcheck" in services["proxy"]


def test_the_subnet_and_the_trusted_proxy_address_are_settings():
    file = compose()
    proxy = file["services"]["proxy"]["networks"]["default"]["ipv4_address"]
    assert proxy == "${PROXY_ADDRESS:-172.30.248.10}"
    for name in ("auth", "auth-2"):
        assert file["services"][name]["environment"]["TRUSTED_PROXIES"] == proxy, name
    subnet = file["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert subnet == "${NETWORK_SUBNET:-172.30.248.0/24}"


def test_the_mail_profile_runs_a_catcher_that_only_this_host_can_read():
    services = compose()["services"]
    mail = services["mail"]
    assert mail["profiles"] == ["mail"]
    # The UI (its mails hold reset links) on loopback; SMTP inside the network.
    assert mail["ports"] == ["127.0.0.1:8025:8025"]
    assert mail["read_only"] is True and mail["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in mail["security_opt"]
    assert mail["restart"] == "unless-stopped"
    for name in ("auth", "auth-2"):
        env = services[name]["environment"]
        # No mail unless SMTP_URL asks for it; never a server by default.
        assert env["SMTP_URL"] == "${SMTP_URL:-}", name
        assert env["APP_URL"] and env["MAIL_FROM"], name
        assert "mail" not in services[name]["depends_on"], name
    assert "SMTP_URL=smtp://mail:1025?tls=none" in (ROOT / "docker-compose.yml").read_text()


def test_the_dependencies_are_built_in_a_layer_of_their_own():
    text = (ROOT / "Dockerfile").read_text()
    stage = text[text.index(" AS dependencies"):text.index("FROM dependencies AS build")]
    plan = stage.index("COPY --from=plan /plan/ ./")
    assert stage.index("RUN cargo build --release --locked", plan) > plan
    assert "COPY . ." not in stage


def test_the_signing_keys_override_gives_auth_the_private_set_and_profile_the_public_one():
    override = yaml.safe_load((ROOT / "deploy" / "compose.signing-keys.yml").read_text())
    services = override["services"]
    assert services["secrets"]["command"][:3] == ["generate-secrets", "--keys",
                                                  "${JWT_KEY_TYPE:-es256}"]
    known = contract_variables()
    for name in SERVICES:
        env = services[name]["environment"]
        expected = "jwt_keys" if name.startswith("auth") else "jwt_public_keys"
        assert env["JWT_KEYS_FILE"] == f"/run/secrets/{expected}", name
        assert set(env) <= known, name
    # The profile service keeps no HS256 secret unless the operator asks.
    for name in ("profile", "profile-2"):
        assert services[name]["environment"]["JWT_SECRET_KEY_FILE"] == \
            "${PROFILE_LEGACY_SECRET_FILE:-}"


def rendered_stack(*overlays: str) -> dict:
    """deploy/render-stack's output (the Swarm stack file), parsed."""
    import subprocess

    out = subprocess.run(
        [str(ROOT / "deploy" / "render-stack"), *overlays], check=True, capture_output=True, text=True
    ).stdout
    return yaml.safe_load(out)


def test_the_stack_takes_each_service_definition_from_the_compose_file():
    services, stack = compose()["services"], rendered_stack()["services"]
    assert set(stack) == {"db", "auth", "profile"}
    for name in ("auth", "profile"):
        for key in ("image", "healthcheck", "read_only", "cap_drop", "stop_signal", "stop_grace_period", "logging"):
            assert stack[name][key] == services[name][key], (name, key)
        # Every variable but those Swarm replaces is the compose file's.
        extra = set(stack[name]["environment"]) - set(services[name]["environment"])
        assert extra == {"DB_POOL_MAX_SIZE"}, extra
        assert stack[name]["deploy"]["resources"]["limits"]["memory"] == services[name]["mem_limit"].upper()
        for dropped in ("build", "depends_on", "restart", "mem_limit", "cpu_shares", "volumes"):
            assert dropped not in stack[name], (name, dropped)


def test_the_stack_updates_start_first_rolls_back_and_pins_the_database():
    stack = rendered_stack()
    for name in ("auth", "profile"):
        deploy = stack["services"][name]["deploy"]
        assert deploy["replicas"] == "${REPLICAS:-3}"
        assert deploy["update_config"]["order"] == "start-first"
        assert deploy["update_config"]["failure_action"] == "rollback"
        assert deploy["restart_policy"]["condition"] == "any"
    db = stack["services"]["db"]["deploy"]
    assert db["replicas"] == 1 and db["update_config"]["order"] == "stop-first"
    assert db["placement"]["constraints"] == ["node.labels.authstack.db == true"]


def test_the_stack_reads_every_secret_file_from_swarm_secrets():
    stack = rendered_stack()
    assert all(secret == {"external": True} for secret in stack["secrets"].values())
    for name, service in stack["services"].items():
        mounted = {secret["target"] for secret in service["secrets"]}
        files = {
            value.removeprefix("/run/secrets/")
            for key, value in service["environment"].items()
            if key.endswith("_FILE") and str(value).startswith("/run/secrets/")
        }
        assert files == mounted, name
        assert mounted <= set(stack["secrets"]), name
    # The profile service never sees the refresh secret or the database
    # URL of the auth service.
    profile = {secret["source"] for secret in stack["services"]["profile"]["secrets"]}
    assert not profile & {"jwt_refresh_secret_key", "auth_database_url", "mfa_encryption_key"}


def test_the_dnsrr_overlay_publishes_through_one_nginx_instead_of_the_mesh():
    stack = rendered_stack("deploy/stack.dnsrr.yml")
    for name in ("auth", "profile"):
        assert stack["services"][name]["deploy"]["endpoint_mode"] == "dnsrr"
        assert "ports" not in stack["services"][name]
    proxy = stack["services"]["proxy"]
    assert {(p["published"], p["mode"]) for p in proxy["ports"]} == {(8001, "host"), (8002, "host")}
    assert pathlib.Path(stack["configs"]["nginx_dnsrr"]["file"]).is_file()


def test_the_rotated_overlay_keeps_what_the_runbooks_service_updates_did():
    stack = rendered_stack("deploy/stack.rotated.yml")
    assert "jwt_secret_key" not in stack["secrets"]
    for name, public in (("auth", False), ("profile", True)):
        service = stack["services"][name]
        assert "JWT_SECRET_KEY_FILE" not in service["environment"]
        assert service["environment"]["JWT_KEYS_FILE"] == "/run/secrets/jwt_keys"
        sources = {secret["target"]: secret["source"] for secret in service["secrets"]}
        assert sources["jwt_keys"] == ("jwt_public_keys_2" if public else "jwt_keys_2")
        assert set(sources.values()) <= set(stack["secrets"]), name
        # Everything else the service had is still mounted.
        before = {secret["target"] for secret in rendered_stack()["services"][name]["secrets"]}
        assert set(sources) == before - {"jwt_secret_key"} | {"jwt_keys"}, name
