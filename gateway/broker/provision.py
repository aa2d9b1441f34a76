"""`gateway broker provision`: one RabbitMQ user per connected body, least privilege.

Each body's user (`<prefix>.body.<code>`, gateway/broker/identity.py) may read only its
own queue and publish only to the status exchange; it can declare nothing. Done with
`rabbitmqctl` (the management HTTP API is not assumed to be on) in one
`import_definitions` call, idempotently: a body keeps its password while the credentials
file (`contracts/broker_users.py`) still has it, and gets a new one otherwise;
permissions are set every time. Nothing but the users this prefix names is ever touched:
never `guest`, never another prefix's users.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from contracts.broker_users import BrokerUser, read_users, write_users
from gateway.broker.identity import USER_INFIX, body_permissions, body_user

BodyCredentials = BrokerUser
"""The name the gateway's code has used for a body's broker user."""


class ProvisionError(RuntimeError):
    """rabbitmqctl failed; the message says which command and why."""


class Rabbitmqctl:
    def __init__(self, command: str = "rabbitmqctl", vhost: str = "/") -> None:
        self.command = command
        self.vhost = vhost

    async def _run(self, *args: str, stdin: bytes | None = None) -> str:
        try:
            process = await asyncio.create_subprocess_exec(
                self.command,
                *args,
                stdin=asyncio.subprocess.PIPE if stdin is not None else None,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as error:
            raise ProvisionError(f"cannot run {self.command}: {error}") from None
        out, err = await process.communicate(stdin)
        if process.returncode != 0:
            # Never echo a password: only the command's name and first argument are shown.
            shown = " ".join(args[:2])
            problem = (err or out).decode(errors="replace").strip()
            raise ProvisionError(f"rabbitmqctl {shown} failed: {problem}")
        return out.decode()

    async def users(self) -> set[str]:
        listed = json.loads(await self._run("list_users", "--formatter", "json", "--quiet"))
        return {entry["user"] for entry in listed}

    async def permissions(self) -> dict[str, tuple[str, str, str]]:
        listed = json.loads(
            await self._run("list_permissions", "-p", self.vhost, "--formatter", "json", "--quiet")
        )
        return {e["user"]: (e["configure"], e["write"], e["read"]) for e in listed}

    async def import_definitions(self, document: dict[str, Any]) -> None:
        """On standard input: a file would have to be readable by the broker's own user,
        since the server, not this CLI, opens it."""
        await self._run("import_definitions", stdin=json.dumps(document).encode())

    async def wait_for_permissions(self, users: set[str], seconds: float = 30.0) -> None:
        """`import_definitions` returns before the broker has applied the document."""
        deadline = time.monotonic() + seconds
        while True:
            missing = users - set(await self.permissions())
            if not missing:
                return
            if time.monotonic() > deadline:
                raise ProvisionError(
                    f"the broker did not apply the definitions for {sorted(missing)[:3]} "
                    f"within {seconds:.0f} s"
                )
            await asyncio.sleep(0.2)

    async def delete_user(self, user: str) -> None:
        await self._run("delete_user", user)


def password_hash(password: str) -> str:
    """RabbitMQ's `rabbit_password_hashing_sha256`: base64(salt + SHA-256(salt + password))
    with a 4-byte salt, so that the definitions file never carries a password in clear."""
    salt = secrets.token_bytes(4)
    digest = hashlib.sha256(salt + password.encode("utf-8")).digest()
    return base64.b64encode(salt + digest).decode("ascii")


def new_password() -> str:
    """A body's broker password. Hex, never URL-safe base64: a password that starts with
    `-` is read by rabbitmqctl as an option (seen failing one CI run in 64)."""
    return secrets.token_hex(24)


def definitions(prefix: str, users: Iterable[BrokerUser]) -> dict[str, list[dict[str, Any]]]:
    """The users and their permissions as one definitions document: `rabbitmqctl
    import_definitions` applies it in one call (about a second, against a second per user
    and per permission with add_user/set_permissions), and it merges: nothing else on the
    broker is touched."""
    users = list(users)
    return {
        "users": [
            {
                "name": u.user,
                "password_hash": password_hash(u.password),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": [],
            }
            for u in users
        ],
        "permissions": [
            {"user": u.user, "vhost": u.vhost, **asdict(body_permissions(prefix, u.body))}
            for u in users
        ],
    }


async def provision(
    ctl: Rabbitmqctl, prefix: str, bodies: Iterable[str], credentials_file: Path
) -> list[BodyCredentials]:
    """A user per body, with the body's permissions; a body that is in the credentials
    file keeps its password, any other gets a new one. Returns once the broker has them
    (the import runs asynchronously inside RabbitMQ)."""
    stored = read_users(credentials_file)
    made: list[BrokerUser] = []
    for code in sorted(set(bodies)):
        user = body_user(prefix, code)
        entry = stored.get(code)
        password = entry.password if entry and entry.user == user else new_password()
        made.append(BrokerUser(code, user, password, ctl.vhost))
    if not made:
        return []
    await ctl.import_definitions(definitions(prefix, made))
    await ctl.wait_for_permissions({u.user for u in made})
    stored.update({u.body: u for u in made})
    write_users(credentials_file, stored)
    return made


async def deprovision(ctl: Rabbitmqctl, prefix: str) -> list[str]:
    """Delete every body user of this prefix (tests; a decommissioned deployment)."""
    marker = f"{prefix}{USER_INFIX}"
    gone = sorted(u for u in await ctl.users() if u.startswith(marker))
    await delete_users(ctl, gone)
    return gone


async def delete_users(ctl: Rabbitmqctl, users: Iterable[str]) -> None:
    """A few rabbitmqctl processes at a time: each one is a second of an Erlang VM starting."""
    at_once = asyncio.Semaphore(4)

    async def delete(user: str) -> None:
        async with at_once:
            await ctl.delete_user(user)

    await asyncio.gather(*(delete(user) for user in users))
