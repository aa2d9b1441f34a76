"""`gateway broker provision`: one RabbitMQ user per connected body, least privilege.

Each body's user (`<prefix>.body.<code>`, gateway/broker/identity.py) may read only its
own queue and publish only to the status exchange; it can declare nothing. Done with
`rabbitmqctl` (the management HTTP API is not assumed to be on), idempotently: an
existing user keeps its password when the credentials file still has it, and gets a new
one (written to the file) otherwise; permissions are set every time. Nothing but the
users this prefix names is ever touched: never `guest`, never another prefix's users.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gateway.broker.identity import USER_INFIX, body_permissions, body_user


class ProvisionError(RuntimeError):
    """rabbitmqctl failed; the message says which command and why."""


@dataclass(frozen=True)
class BodyCredentials:
    body: str
    user: str
    password: str


class Rabbitmqctl:
    def __init__(self, command: str = "rabbitmqctl", vhost: str = "/") -> None:
        self.command = command
        self.vhost = vhost

    async def _run(self, *args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            self.command,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        if process.returncode != 0:
            # Never echo a password: add_user/change_password pass it as the last argument.
            shown = " ".join(args[:2])
            raise ProvisionError(f"rabbitmqctl {shown} failed: {err.decode(errors='replace')}")
        return out.decode()

    async def users(self) -> set[str]:
        listed = json.loads(await self._run("list_users", "--formatter", "json", "--quiet"))
        return {entry["user"] for entry in listed}

    async def add_user(self, user: str, password: str) -> None:
        await self._run("add_user", user, password)

    async def change_password(self, user: str, password: str) -> None:
        await self._run("change_password", user, password)

    async def set_permissions(self, user: str, configure: str, write: str, read: str) -> None:
        await self._run("set_permissions", "-p", self.vhost, user, configure, write, read)

    async def delete_user(self, user: str) -> None:
        await self._run("delete_user", user)


def _read(path: Path) -> dict[str, dict[str, str]]:
    if not path.exists():
        return {}
    data: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _write(path: Path, data: dict[str, dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False)


def new_password() -> str:
    """A body's broker password. Hex, never URL-safe base64: a password that starts with
    `-` is read by rabbitmqctl as an option (seen failing one CI run in 64)."""
    return secrets.token_hex(24)


async def provision(
    ctl: Rabbitmqctl, prefix: str, bodies: Iterable[str], credentials_file: Path
) -> list[BodyCredentials]:
    stored = _read(credentials_file)
    existing = await ctl.users()
    made: list[BodyCredentials] = []
    for code in sorted(set(bodies)):
        user = body_user(prefix, code)
        entry = stored.get(code)
        password = entry["password"] if entry and entry.get("user") == user else None
        if user not in existing:
            password = password or new_password()
            await ctl.add_user(user, password)
        elif password is None:
            password = new_password()
            await ctl.change_password(user, password)
        rules = body_permissions(prefix, code)
        await ctl.set_permissions(user, rules.configure, rules.write, rules.read)
        stored[code] = {"user": user, "password": password, "vhost": ctl.vhost}
        made.append(BodyCredentials(code, user, password))
    _write(credentials_file, stored)
    return made


async def deprovision(ctl: Rabbitmqctl, prefix: str) -> list[str]:
    """Delete every body user of this prefix (tests; a decommissioned deployment)."""
    marker = f"{prefix}{USER_INFIX}"
    gone = sorted(u for u in await ctl.users() if u.startswith(marker))
    for user in gone:
        await ctl.delete_user(user)
    return gone
