"""Static checks of the Docker files.

No Docker engine runs where these tests run, so docker-compose.yml and the
Dockerfile are never started here; these checks hold them to the contract
(../shared/API.md) instead.
"""

import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONTRACT = ROOT.parent / "shared" / "API.md"


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def contract_variables():
    if not CONTRACT.exists():
        pytest.skip(f"{CONTRACT} is not beside the repository")
    return set(re.findall(r"^\| `([A-Z_]+)` \|", CONTRACT.read_text(), re.M))


def test_compose_runs_postgres_and_both_services_with_health_checks():
    services = compose()["services"]
    assert set(services) == {"db", "auth", "profile"}
    for name, service in services.items():
        assert "healthcheck" in service, name
    for name in ("auth", "profile"):
        assert services[name]["depends_on"]["db"]["condition"] == "service_healthy"
        assert "/readyz" in " ".join(services[name]["healthcheck"]["test"])


def test_each_service_has_its_own_database_and_only_auth_has_the_refresh_secret():
    services = compose()["services"]
    auth = services["auth"]["environment"]
    profile = services["profile"]["environment"]
    assert auth["DATABASE_URL"].rsplit("/", 1)[1] == "auth"
    assert profile["DATABASE_URL"].rsplit("/", 1)[1] == "profile"
    init = (ROOT / "deploy" / "postgres-init.sql").read_text()
    assert "CREATE DATABASE auth;" in init and "CREATE DATABASE profile;" in init
    assert "JWT_REFRESH_SECRET_KEY" in auth
    assert "JWT_REFRESH_SECRET_KEY" not in profile
    assert auth["JWT_SECRET_KEY"] == profile["JWT_SECRET_KEY"]


def test_every_variable_given_to_a_service_is_in_the_contract():
    known = contract_variables()
    for name in ("auth", "profile"):
        unknown = set(compose()["services"][name]["environment"]) - known
        assert not unknown, f"{name}: {unknown}"


def test_no_secret_has_a_default_in_compose():
    for name in ("auth", "profile"):
        env = compose()["services"][name]["environment"]
        for key in ("JWT_SECRET_KEY", "JWT_REFRESH_SECRET_KEY"):
            if key in env:
                assert ":?" in env[key], f"{name}.{key} must be required, not defaulted"


def test_dockerfile_builds_both_binaries_and_runs_unprivileged():
    text = (ROOT / "Dockerfile").read_text()
    assert "--locked -p auth-service -p profile-service" in text
    assert "target/release/auth-service" in text and "target/release/profile-service" in text
    assert re.search(r"^USER app$", text, re.M)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "target" in ignored and ".env" in ignored
