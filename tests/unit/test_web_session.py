"""Passwords and the signed session cookie."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.config import Settings
from gateway.services.staff import hash_password, verify_password
from gateway.web import session as sessions

SECRET = b"k" * 32
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_password_hash_carries_salt_and_cost_and_verifies() -> None:
    stored = hash_password("correct horse battery", n=2**10)
    scheme, n, r, p, salt, key = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "1024", "8", "1")
    assert salt and key and "correct" not in stored
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterY", stored)
    # Same password, new salt: the stored strings differ.
    assert hash_password("correct horse battery", n=2**10) != stored


def test_default_cost_is_the_strong_one() -> None:
    assert hash_password("x" * 8).split("$")[1] == str(2**14)


def test_unreadable_hashes_never_verify() -> None:
    for stored in ("", "plain", "bcrypt$1$2$3$4$5", "scrypt$x$8$1$aa$bb", "scrypt$1024$8$1$!!$@@"):
        assert not verify_password("anything", stored)


def test_cookie_round_trip() -> None:
    session = sessions.new_session("abc123", NOW)
    cookie = sessions.sign(session, SECRET)
    assert sessions.verify(cookie, SECRET, NOW + timedelta(hours=1)) == session
    assert session.expires_at == int((NOW + timedelta(hours=12)).timestamp())


def test_cookie_expires_after_twelve_hours() -> None:
    cookie = sessions.sign(sessions.new_session("abc123", NOW), SECRET)
    assert sessions.verify(cookie, SECRET, NOW + timedelta(hours=11, minutes=59)) is not None
    assert sessions.verify(cookie, SECRET, NOW + timedelta(hours=12)) is None


def test_tampered_or_foreign_cookies_are_refused() -> None:
    cookie = sessions.sign(sessions.new_session("abc123", NOW), SECRET)
    payload, mac = cookie.rsplit(".", 1)
    other = sessions.sign(sessions.new_session("someone-else", NOW), SECRET)
    forged = other.rsplit(".", 1)[0] + "." + mac  # another payload under this signature
    flipped = payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + mac
    for bad in (forged, flipped, payload, "", "x.y", cookie + "x"):
        assert sessions.verify(bad, SECRET, NOW) is None
    assert sessions.verify(cookie, b"another secret", NOW) is None
    assert sessions.verify(None, SECRET, NOW) is None


def test_csrf_token_belongs_to_its_session() -> None:
    one = sessions.new_session("abc123", NOW)
    two = sessions.new_session("abc123", NOW)
    assert one.csrf != two.csrf
    assert sessions.csrf_matches(one, one.csrf)
    assert not sessions.csrf_matches(one, two.csrf)
    assert not sessions.csrf_matches(one, None)
    assert not sessions.csrf_matches(one, "")


def test_secret_from_settings_or_generated_once_owner_only(tmp_path: Path) -> None:
    assert sessions.session_secret(Settings(session_secret="s3cret")) == b"s3cret"
    path = tmp_path / "state" / "session_secret"
    settings = Settings(session_secret=None, session_secret_file=path)
    first = sessions.session_secret(settings)
    assert len(first) >= 32
    assert sessions.session_secret(settings) == first
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
