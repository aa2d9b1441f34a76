"""The workspace's session: a signed cookie, no server-side session table.

The cookie holds the staff member's id, an expiry and the session's CSRF token, signed
with HMAC-SHA256. Nothing in it is secret (the CSRF token only has to be unguessable by
another site, which cannot read our cookies), and a forged or altered cookie fails the
signature. The person is re-read from the store on each request, so disabling an account
ends its sessions at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from gateway.config import Settings

COOKIE = "gw_session"
LOGIN_CSRF_COOKIE = "gw_login_csrf"
LANG_COOKIE = "lang"
LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class Session:
    staff_id: str
    expires_at: int
    """Unix seconds."""
    csrf: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())


def new_session(staff_id: str, now: datetime) -> Session:
    return Session(
        staff_id=staff_id,
        expires_at=int((now + LIFETIME).timestamp()),
        csrf=secrets.token_urlsafe(24),
    )


def sign(session: Session, secret: bytes) -> str:
    payload = _b64(
        json.dumps(
            {"sid": session.staff_id, "exp": session.expires_at, "csrf": session.csrf},
            separators=(",", ":"),
        ).encode()
    )
    return f"{payload}.{_mac(secret, payload)}"


def verify(cookie: str | None, secret: bytes, now: datetime) -> Session | None:
    """The session, or None for a missing, forged, altered or expired cookie."""
    if not cookie or "." not in cookie:
        return None
    payload, mac = cookie.rsplit(".", 1)
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        return None
    try:
        data = json.loads(_unb64(payload))
        session = Session(str(data["sid"]), int(data["exp"]), str(data["csrf"]))
    except (ValueError, KeyError, TypeError):
        return None
    if now.timestamp() >= session.expires_at:
        return None
    return session


def csrf_matches(session: Session, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(session.csrf, token or "")


def session_secret(settings: Settings) -> bytes:
    """The configured secret, or one generated once and kept beside the store."""
    if settings.session_secret:
        return settings.session_secret.encode()
    return _secret_file(settings.session_secret_file)


def _secret_file(path: Path) -> bytes:
    if path.exists():
        return _read_secret(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting at once must not each write their own secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value.encode()


def _read_secret(path: Path) -> bytes:
    # Another process may have created the file a moment ago and not written it yet.
    for _ in range(50):
        value = path.read_text().strip()
        if value:
            return value.encode()
        time.sleep(0.02)
    raise RuntimeError(f"{path} is empty: delete it, or set GATEWAY_SESSION_SECRET")
