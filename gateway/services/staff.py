"""The people of a family support centre who sign in to the web workspace.

Unlike a calling system's API key (a 256-bit random secret, hashed with plain SHA-256),
a person's password has little entropy, so it is stored with scrypt: slow and memory-hard
enough that a leaked table does not give the passwords away. The hash string carries its
own salt and cost parameters, so the cost can be raised later without breaking old rows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.auth import Caller, ClientKind
from gateway.errors import Conflict, InvalidInput
from gateway.store.tables import staff_users

SCHEME = "scrypt"
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
KEY_BYTES = 32
MIN_PASSWORD = 8

# The timeline's `actor` column is 100 characters: "staff:" + login + "@" + centre (64).
LOGIN_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,28}")
CENTRE_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{1,63}")  # as contracts' CentreCode


class StaffRole(StrEnum):
    worker = "worker"
    head = "head"


@dataclass(frozen=True)
class StaffUser:
    id: str
    login: str
    full_name: str
    centre: str
    role: StaffRole

    @property
    def client_id(self) -> str:
        """How the person appears in access_log, beside the calling systems' ids."""
        return f"staff:{self.id}"

    def caller(self) -> Caller:
        """The person acts as their centre: the services' access rules apply unchanged."""
        return Caller(
            client_id=self.client_id, kind=ClientKind.centre, scope=self.centre, name=self.login
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    key = hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES, maxmem=128 * r * n * 2
    )
    return f"{SCHEME}${n}${r}${p}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """False for a wrong password and for any hash string we cannot read."""
    try:
        scheme, n_text, r_text, p_text, salt_text, key_text = stored.split("$")
        if scheme != SCHEME:
            return False
        n, r, p = int(n_text), int(r_text), int(p_text)
        salt, expected = _unb64(salt_text), _unb64(key_text)
        key = hashlib.scrypt(
            password.encode(),
            salt=salt,
            n=n,
            r=r,
            p=p,
            dklen=len(expected),
            maxmem=128 * r * n * 2,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(key, expected)


# Compared against when the login is unknown, so that the answer takes as long as for a
# known login with a wrong password and does not reveal which logins exist.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def _user(row: Any) -> StaffUser:
    return StaffUser(
        id=row.id,
        login=row.login,
        full_name=row.full_name,
        centre=row.centre,
        role=StaffRole(row.role),
    )


async def add_staff(
    conn: AsyncConnection,
    *,
    login: str,
    full_name: str,
    centre: str,
    role: StaffRole,
    password: str,
    now: datetime,
) -> StaffUser:
    login = login.strip().lower()
    if not LOGIN_PATTERN.fullmatch(login):
        raise InvalidInput.field(
            "login", "1 to 29 characters: lower-case Latin letters, digits, '.', '_' or '-'"
        )
    if not CENTRE_PATTERN.fullmatch(centre):
        raise InvalidInput.field("centre", "a centre's code: lower-case letters, digits, '-', '_'")
    if not full_name.strip():
        raise InvalidInput.field("full_name", "is required")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput.field("password", f"must be at least {MIN_PASSWORD} characters")
    # Shorter than a UUID: as `staff:<id>` it must fit access_log.client_id, which is
    # sized for the calling systems' UUIDs (36 characters).
    staff_id = secrets.token_hex(12)
    try:
        async with conn.begin_nested():
            await conn.execute(
                insert(staff_users).values(
                    id=staff_id,
                    login=login,
                    full_name=full_name.strip(),
                    centre=centre,
                    role=role.value,
                    password_hash=hash_password(password),
                    created_at=now,
                    disabled=False,
                )
            )
    except IntegrityError:
        raise Conflict(f"login '{login}' is taken") from None
    return StaffUser(staff_id, login, full_name.strip(), centre, role)


async def authenticate_staff(conn: AsyncConnection, login: str, password: str) -> StaffUser | None:
    """The person, or None for an unknown login, a wrong password or a disabled account."""
    row = (
        await conn.execute(select(staff_users).where(staff_users.c.login == login.strip().lower()))
    ).first()
    if row is None:
        verify_password(password, _DUMMY_HASH)
        return None
    if not verify_password(password, row.password_hash) or row.disabled:
        return None
    return _user(row)


async def get_staff(conn: AsyncConnection, staff_id: str) -> StaffUser | None:
    """The person behind a session, re-read on each request so that disabling an account
    ends its sessions at once rather than when the cookie expires."""
    row = (
        await conn.execute(
            select(staff_users).where(
                staff_users.c.id == staff_id, staff_users.c.disabled.is_(False)
            )
        )
    ).first()
    return None if row is None else _user(row)


async def staff_names(conn: AsyncConnection, centre: str) -> dict[str, str]:
    """login → full name of a centre's people, to name them on a plan's timeline."""
    rows = await conn.execute(
        select(staff_users.c.login, staff_users.c.full_name).where(staff_users.c.centre == centre)
    )
    return {row.login: row.full_name for row in rows}
