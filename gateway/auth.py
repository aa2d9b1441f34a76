"""Calling systems' credentials and what each kind of caller may do.

A credential is an API key `gw_<prefix>_<secret>`: the prefix finds the row, the secret
is compared by hash. Keys are 256-bit random values, so a plain SHA-256 is enough (a slow
password hash protects low-entropy secrets; these have none to protect) and keeps every
request's check cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum


class ClientKind(StrEnum):
    admin = "admin"
    centre = "centre"
    agency = "agency"


@dataclass(frozen=True)
class Caller:
    client_id: str
    kind: ClientKind
    scope: str | None  # the centre's or agency's code; None for admin
    name: str | None = None
    """The signed-in person behind a centre's workspace session (their login), so the
    timeline says who acted, not only which centre; None for a calling system's key."""

    @property
    def actor(self) -> str:
        """How the caller is named on a plan's timeline."""
        if self.name is not None:
            return f"staff:{self.name}@{self.scope}"
        return f"{self.kind.value}:{self.scope or self.client_id}"

    def may_see_centre(self, centre: str) -> bool:
        return self.kind is ClientKind.admin or (
            self.kind is ClientKind.centre and self.scope == centre
        )

    def may_act_for_agency(self, agency: str) -> bool:
        return self.kind is ClientKind.agency and self.scope == agency


@dataclass(frozen=True)
class IssuedKey:
    prefix: str
    secret_hash: str
    plaintext: str


def issue_key() -> IssuedKey:
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return IssuedKey(
        prefix=prefix, secret_hash=hash_secret(secret), plaintext=f"gw_{prefix}_{secret}"
    )


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(key: str) -> tuple[str, str] | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "gw" or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def administers_only(caller: Caller) -> None:
    """Admin keys administer (clients, incidents); they never act as a centre or a body.

    An admin key that could submit or cancel plans would be a master key for every
    centre; a centre's actions are attributable only when a centre's own key does them.
    """
    from gateway.errors import Forbidden

    if caller.kind is ClientKind.admin:
        raise Forbidden(
            "an admin credential administers the gateway and does not act as a centre or "
            "a body: use the centre's own key"
        )
