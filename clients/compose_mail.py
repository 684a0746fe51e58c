"""The compose proof's mail walk, through the `mail` profile: a person
verifies their address and recovers their password with the links in the
mails that auth-service sent over SMTP_URL.

The proof runs the profile with the stand-in catcher (Debian's aiosmtpd,
keeping each mail in the maildir /tmp/mail of its container; users get
Mailpit, whose UI shows the same mails), so the mails are read with
`docker exec`, as files.
"""

from __future__ import annotations

import email
import email.policy
import io
import re
import subprocess
import tarfile
import time
from email.message import EmailMessage

import requests

from compose_support import AUTH, PASSWORD, PROFILE, container, expect, login, say, signup

MAILDIR = "/tmp/mail/new"
# The compose file's defaults for MAIL_FROM and APP_URL.
MAIL_FROM = "Example <no-reply@localhost>"
APP_URL = "http://localhost:3000"
NEW_PASSWORD = "a brand new compose password"
TOKEN = re.compile(r"#token=([A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])")


def mails_to(catcher: str, address: str) -> list[EmailMessage]:
    """Every mail the catcher (a container id) holds for `address` (its
    envelope recipient, which aiosmtpd records as X-RcptTo)."""
    archive = subprocess.run(
        ["docker", "exec", catcher, "tar", "-C", MAILDIR, "-cf", "-", "."],
        capture_output=True,
    )
    if archive.returncode != 0:
        # The catcher is still starting (no maildir yet).
        return []
    found = []
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        for member in tar.getmembers():
            if member.isfile():
                raw = tar.extractfile(member).read()
                mail = email.message_from_bytes(raw, policy=email.policy.default)
                if mail.get("X-RcptTo") == address:
                    found.append(mail)
    return found


def wait_for_mail(address: str, subject: str, timeout: float = 60) -> EmailMessage:
    """The mail to `address` whose subject starts with `subject`."""
    deadline = time.monotonic() + timeout
    catcher = container("mail")
    while True:
        mails = mails_to(catcher, address)
        for mail in mails:
            if str(mail["Subject"]).startswith(subject):
                return mail
        if time.monotonic() > deadline:
            subjects = [str(mail["Subject"]) for mail in mails]
            raise SystemExit(
                f"mail: no {subject!r} mail to {address} reached the catcher within {timeout:.0f} s "
                f"(it holds {subjects} for that address); auth's log: "
                f"{subprocess.run(['docker', 'logs', '--tail', '20', container('auth')], capture_output=True, text=True).stdout}"
            )
        time.sleep(0.25)


def link_token(mail: EmailMessage, page: str) -> str:
    """The token of the mail's `APP_URL/<page>#token=…` link, from its
    plain-text part, checking who it is from (MAIL_FROM)."""
    text = mail.get_body(preferencelist=("plain",)).get_content()
    prefix = f"{APP_URL}/{page}#token="
    found = TOKEN.search(text)
    if str(mail["From"]) != MAIL_FROM or prefix not in text or not found:
        raise SystemExit(f"mail {mail['Subject']!r} from {mail['From']!r} has no {prefix}<token> link")
    return found.group(1)


def me(access_token: str) -> dict:
    headers = {"Authorization": f"Bearer {access_token}"}
    return expect(requests.get(f"{PROFILE}/me", headers=headers, timeout=15), 200, "GET /me")


def verify_and_recover() -> None:
    """Signup → the verification mail → POST /verify → `email_verified`
    at GET /me; /recover → the reset mail → POST /reset → the new password
    logs in, the old one no longer, and the notice mail arrives."""
    started = time.monotonic()
    response, address = signup(AUTH)
    expect(response, 201, "signup")
    session = expect(login(AUTH, address), 200, "login before verifying")
    if me(session["access_token"])["email_verified"] is not False:
        raise SystemExit("mail: a fresh account's GET /me says email_verified before its mail was used")
    token = link_token(wait_for_mail(address, "Confirm your email address"), "verify")
    expect(requests.post(f"{AUTH}/verify", json={"token": token}, timeout=15), 204, "POST /verify with the mailed token")
    session = expect(login(AUTH, address), 200, "login after verifying")
    if me(session["access_token"])["email_verified"] is not True:
        raise SystemExit("mail: after POST /verify, GET /me with a new access token says email_verified is not true")
    verified = time.monotonic() - started

    body = expect(requests.post(f"{AUTH}/recover", json={"email": address}, timeout=15), 202, "POST /recover")
    if body != {}:
        raise SystemExit(f"mail: POST /recover answered {body}, not {{}}")
    token = link_token(wait_for_mail(address, "Reset your"), "reset-password")
    reset = requests.post(f"{AUTH}/reset", json={"token": token, "password": NEW_PASSWORD}, timeout=15)
    expect(reset, 204, "POST /reset with the mailed token")
    expect(login(AUTH, address, NEW_PASSWORD), 200, "login with the new password")
    old = login(AUTH, address, PASSWORD)
    if old.status_code != 400 or old.json().get("error") != "invalid_grant":
        raise SystemExit(f"mail: the old password after a reset: {old.status_code} {old.text}")
    wait_for_mail(address, "Your Example password was changed")
    say(
        f"mail profile: signup's mail verified the address (GET /me email_verified true) in {verified:.1f} s; "
        f"/recover's mail reset the password (new one logs in, old one 400, notice mailed); "
        f"the walk took {time.monotonic() - started:.1f} s"
    )
