"""The bodies' broker credentials file: what the gateway's operator hands each body.

`gateway broker provision` writes it (mode 0600); a body's system, and the mock bodies,
read their own entry from it. It is a contract because both sides read the same file:
`{"<body code>": {"user": ..., "password": ..., "vhost": ...}, ...}`.

A body connects as its own user and sets the AMQP `user_id` property to that user on
every message it publishes; RabbitMQ refuses a `user_id` that is not the connection's
user, so the gateway can take the reporting body from it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from yarl import URL


@dataclass(frozen=True)
class BrokerUser:
    body: str
    user: str
    password: str
    vhost: str = "/"

    def amqp_url(self, base: str) -> str:
        """`base` (one URL or a comma-separated node list) with this body's credentials
        and virtual host instead of the ones it names."""
        entries = [e.strip() for e in base.split(",") if e.strip()]
        if not entries:
            raise ValueError("no broker URL given")
        first = URL(entries[0]).with_user(self.user).with_password(self.password)
        first = first.with_path("/" + self.vhost.lstrip("/") if self.vhost != "/" else "/")
        return ",".join([str(first), *entries[1:]])


def read_users(path: Path) -> dict[str, BrokerUser]:
    """Every body's entry; an absent file is no entries (bodies not yet provisioned)."""
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object of body codes")
    found: dict[str, BrokerUser] = {}
    for body, entry in data.items():
        try:
            found[body] = BrokerUser(
                body, str(entry["user"]), str(entry["password"]), str(entry.get("vhost", "/"))
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{path}: entry '{body}' lacks {exc}") from None
    return found


def users_for(path: Path, bodies: Iterable[str]) -> dict[str, BrokerUser]:
    """The entries of `bodies`; a ValueError names the bodies the file has no user for."""
    try:
        users = read_users(path)
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    wanted = list(bodies)
    require_users(users, wanted, where=str(path))
    return {b: users[b] for b in wanted}


def require_users(
    users: Mapping[str, BrokerUser], bodies: Iterable[str], *, where: str = "the broker users"
) -> None:
    """A ValueError naming the bodies `users` has no entry for."""
    missing = [b for b in bodies if b not in users]
    if missing:
        raise ValueError(
            f"{where} has no broker user for {', '.join(missing)}: run `gateway broker provision`"
        )


def write_users(path: Path, users: dict[str, BrokerUser]) -> None:
    """Written readable by the owner only: the file holds passwords."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        body: {"user": u.user, "password": u.password, "vhost": u.vhost}
        for body, u in sorted(users.items())
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False)
    os.chmod(path, 0o600)
