"""A person in a browser: the Swagger UI served by the binaries.

Debian's Chromium, headless, driven by Selenium through Debian's
chromedriver. On the profile service's /docs/ the person clicks Authorize,
logs in with the OAuth 2.0 password flow (the browser POSTs the form to the
auth service's /login across origins, so CORS must allow it), then runs
GET /me with "Try it out" and sees 200 and their email.

A screenshot of the final page lands in the artifacts directory
(CLIENT_ARTIFACTS) whether the test passes or fails; on failure the page's
HTML and the browser console log go beside it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
WAIT_SECONDS = 20


@pytest.fixture
def browser(request, artifacts: Path):
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            pytest.fail(
                f"{path} is missing: apt-get install chromium chromium-driver "
                "(scripts/client-checks does it)",
                pytrace=False,
            )
    profile_dir = tempfile.mkdtemp(prefix="client-checks-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1600",
        f"--user-data-dir={profile_dir}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    log_path = artifacts / f"{_slug(request.node.name)}-chromedriver.log"
    driver = webdriver.Chrome(
        service=Service(executable_path=CHROMEDRIVER, log_output=str(log_path)),
        options=options,
    )
    try:
        yield driver
    finally:
        name = _slug(request.node.name)
        screenshot = artifacts / f"{name}.png"
        try:
            driver.save_screenshot(str(screenshot))
            print(f"\nscreenshot: {screenshot}")
            report = getattr(request.node, "rep_call", None)
            if report is None or report.failed:
                (artifacts / f"{name}.html").write_text(driver.page_source)
                console = _console(driver)
                (artifacts / f"{name}-console.json").write_text(json.dumps(console, indent=2))
                print(f"page and console log: {artifacts / name}.html, {name}-console.json")
        finally:
            driver.quit()
            shutil.rmtree(profile_dir, ignore_errors=True)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")


def _with_host(url: str, host: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{host}:{parts.port}"))


def _console(driver) -> list[dict]:
    """Every browser console entry so far (chromedriver hands each out once)."""
    seen = driver.__dict__.setdefault("_client_checks_console", [])
    try:
        seen.extend(driver.get_log("browser"))
    except Exception:  # noqa: BLE001 - diagnostics only
        pass
    return seen


def _console_errors(driver) -> str:
    return "\n".join(e["message"] for e in _console(driver) if e.get("level") == "SEVERE")


def authorize(driver, wait: WebDriverWait, email: str, password: str) -> None:
    """Authorize -> OAuth2 password flow dialog -> fill in -> Authorize -> Close."""
    wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "button.btn.authorize"))).click()
    dialog = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, ".dialog-ux .modal-ux")))
    dialog.find_element(By.ID, "oauth_username").send_keys(email)
    dialog.find_element(By.ID, "oauth_password").send_keys(password)
    dialog.find_element(
        By.CSS_SELECTOR, ".auth-btn-wrapper button.btn.modal-btn.auth.authorize"
    ).click()

    def outcome(d):
        # Success: the dialog offers Logout. Failure: Swagger UI lists the
        # error (e.g. "Auth ErrorTypeError: Failed to fetch" on a CORS refusal).
        for button in d.find_elements(By.CSS_SELECTOR, ".dialog-ux .auth-btn-wrapper button"):
            if button.text.strip() == "Logout":
                return "ok"
        errors = [e.text for e in d.find_elements(By.CSS_SELECTOR, ".dialog-ux .errors") if e.text]
        return ("error", errors) if errors else False

    try:
        result = wait.until(outcome)
    except TimeoutException:
        pytest.fail(
            "the Authorize dialog showed neither Logout nor an error; console:\n"
            + _console_errors(driver)
        )
    assert result == "ok", (
        f"Swagger UI could not log in: {result[1]}; console:\n{_console_errors(driver)}"
    )
    dialog.find_element(By.CSS_SELECTOR, "button.btn-done").click()
    wait.until(EC.invisibility_of_element_located((By.CSS_SELECTOR, ".dialog-ux .modal-ux")))
    # The lock on the Authorize button closes once a scheme is authorized.
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "button.btn.authorize.locked")))


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_profile_swagger_ui_authorize_and_get_me(stack, user, browser, host):
    wait = WebDriverWait(browser, WAIT_SECONDS)
    browser.get(_with_host(stack.profile_url, host) + "/docs/")
    operation = wait.until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "#operations-profile-get_me"))
    )

    authorize(browser, wait, user.email, user.password)

    operation.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait.until(
        EC.element_to_be_clickable(
            (By.CSS_SELECTOR, "#operations-profile-get_me button.try-out__btn")
        )
    ).click()
    wait.until(
        EC.element_to_be_clickable((By.CSS_SELECTOR, "#operations-profile-get_me button.execute"))
    ).click()

    status = wait.until(
        EC.visibility_of_element_located(
            (
                By.CSS_SELECTOR,
                "#operations-profile-get_me .live-responses-table .response .response-col_status",
            )
        )
    )
    body = browser.find_element(
        By.CSS_SELECTOR,
        "#operations-profile-get_me .live-responses-table .response .response-col_description",
    )
    # Scroll the answer into view so the screenshot shows it.
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", status)
    assert status.text.strip().startswith("200"), (
        f"GET /me in Swagger UI answered {status.text!r}: {body.text}; console:\n"
        + _console_errors(browser)
    )
    assert user.email in body.text, body.text
    curl = browser.find_element(By.CSS_SELECTOR, "#operations-profile-get_me .curl-command").text
    assert "Authorization: Bearer " in curl, curl


def test_auth_swagger_ui_authorize(stack, user, browser):
    """The auth service's own Swagger UI declares the password flow with a
    relative tokenUrl (/login); its Authorize must log in too."""
    wait = WebDriverWait(browser, WAIT_SECONDS)
    browser.get(stack.auth_url + "/docs/")
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#operations-sessions-token")))
    authorize(browser, wait, user.email, user.password)
