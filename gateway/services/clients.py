"""Registering calling systems, recognising them on each request, and their keys' lifecycle.

A key can be revoked (refused from that moment: the API processes' caches watch
`key_changed_at`, see gateway/api/deps.py) or rotated (a new key at once; the previous
one keeps working for an overlap window, so the calling system can switch without a
failed request). Every key change is an interagency audit record.

A key is issued only for a body the gateway knows: an agency that is connected
(`gateway/data/agencies.json`), a centre that is in the register of family support
centres and not closed (gateway/services/centres.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.agencies import Agencies
from gateway.auth import Caller, ClientKind, issue_key, secret_matches, split_key
from gateway.errors import InvalidInput, NotFound
from gateway.ids import new_id
from gateway.services import audit_log, centres
from gateway.store.tables import api_clients


@dataclass(frozen=True)
class NewClient:
    id: str
    name: str
    kind: ClientKind
    scope: str | None
    api_key: str


async def add_client(
    conn: AsyncConnection,
    *,
    name: str,
    kind: ClientKind,
    scope: str | None,
    agencies: Agencies,
    now: datetime,
    actor: str = "gateway:cli",
) -> NewClient:
    if kind is ClientKind.admin and scope:
        raise InvalidInput.field("scope", "an admin client has no scope")
    if kind is not ClientKind.admin and not scope:
        raise InvalidInput.field("scope", f"a {kind.value} client needs its {kind.value}'s code")
    if kind is ClientKind.agency and scope:
        agency = agencies.get(scope)
        if agency is None:
            raise InvalidInput.field("scope", f"unknown agency '{scope}'")
        if not agency.enabled:
            raise InvalidInput.field(
                "scope",
                f"agency '{scope}' ({agency.name_en}) is not connected to the gateway "
                "(enabled: false in the agency registry)",
            )
    if kind is ClientKind.centre and scope:
        reason = await centres.why_no_key(conn, scope)
        if reason:
            raise InvalidInput.field("scope", reason)
    key = issue_key()
    client_id = new_id()
    await conn.execute(
        insert(api_clients).values(
            id=client_id,
            name=name,
            kind=kind.value,
            scope=scope,
            key_prefix=key.prefix,
            key_hash=key.secret_hash,
            created_at=now,
            disabled=False,
            key_changed_at=now,
        )
    )
    await audit_log.record(
        conn,
        at=now,
        actor=actor,
        action="client_added",
        data={"client": client_id, "kind": kind.value, "scope": scope, "key": key.prefix},
    )
    return NewClient(client_id, name, kind, scope, key.plaintext)


@dataclass(frozen=True)
class Recognised:
    caller: Caller
    valid_until: datetime | None
    """Set when the key is a rotated one in its overlap window: when it stops working."""


async def recognise(conn: AsyncConnection, api_key: str, now: datetime) -> Recognised | None:
    """The caller a key belongs to, if the key is current (or in its overlap window)."""
    parts = split_key(api_key)
    if parts is None:
        return None
    prefix, secret = parts
    row = (
        await conn.execute(
            select(api_clients).where(
                or_(api_clients.c.key_prefix == prefix, api_clients.c.old_key_prefix == prefix)
            )
        )
    ).first()
    if row is None or row.disabled or row.revoked_at is not None:
        return None
    until: datetime | None = None
    if row.key_prefix == prefix:
        if not secret_matches(secret, row.key_hash):
            return None
    else:
        if row.old_key_until is None or row.old_key_until <= now:
            return None
        if not secret_matches(secret, row.old_key_hash or ""):
            return None
        until = row.old_key_until
    return Recognised(Caller(client_id=row.id, kind=ClientKind(row.kind), scope=row.scope), until)


async def authenticate(
    conn: AsyncConnection, api_key: str, now: datetime | None = None
) -> Caller | None:
    from contracts.clock import SystemClock

    found = await recognise(conn, api_key, now or SystemClock().now())
    return found.caller if found else None


async def _client(conn: AsyncConnection, client_id: str) -> Any:
    row = (await conn.execute(select(api_clients).where(api_clients.c.id == client_id))).first()
    if row is None:
        raise NotFound(f"no client with id '{client_id}'")
    return row


async def revoke(conn: AsyncConnection, client_id: str, *, actor: str, now: datetime) -> None:
    """Refuse the client's keys (current and any in overlap) from now on."""
    row = await _client(conn, client_id)
    if row.revoked_at is not None:
        return  # revoking twice changes nothing and is not a second record
    await conn.execute(
        update(api_clients)
        .where(api_clients.c.id == client_id)
        .values(revoked_at=now, disabled=True, old_key_until=None, key_changed_at=now)
    )
    await audit_log.record(
        conn,
        at=now,
        actor=actor,
        action="client_revoked",
        data={"client": client_id, "key": row.key_prefix},
    )


async def rotate(
    conn: AsyncConnection, client_id: str, *, overlap: timedelta, actor: str, now: datetime
) -> tuple[str, datetime]:
    """A new key for the client; the current one keeps working until now + overlap."""
    row = await _client(conn, client_id)
    if row.revoked_at is not None or row.disabled:
        raise InvalidInput.field("client", "a revoked client's key cannot be rotated")
    if overlap < timedelta(0):
        raise InvalidInput.field("overlap_seconds", "must not be negative")
    key = issue_key()
    until = now + overlap
    await conn.execute(
        update(api_clients)
        .where(api_clients.c.id == client_id)
        .values(
            key_prefix=key.prefix,
            key_hash=key.secret_hash,
            old_key_prefix=row.key_prefix,
            old_key_hash=row.key_hash,
            old_key_until=until,
            key_changed_at=now,
        )
    )
    await audit_log.record(
        conn,
        at=now,
        actor=actor,
        action="client_key_rotated",
        data={
            "client": client_id,
            "key": key.prefix,
            "previous": row.key_prefix,
            "previous_until": until.isoformat(),
        },
    )
    return key.plaintext, until


async def touch(conn: AsyncConnection, client_ids: list[str], now: datetime) -> None:
    """Record that these clients' keys were used (callers batch this, about once a minute)."""
    if client_ids:
        await conn.execute(
            update(api_clients).where(api_clients.c.id.in_(client_ids)).values(last_used_at=now)
        )


async def keys_changed_at(conn: AsyncConnection) -> tuple[datetime | None, int]:
    """The latest key change and the number of revoked clients: a cache of recognised keys
    is stale when either moved (the count catches two changes within one clock tick)."""
    row = (
        await conn.execute(
            select(func.max(api_clients.c.key_changed_at), func.count(api_clients.c.revoked_at))
        )
    ).one()
    return row[0], int(row[1])


async def list_clients(conn: AsyncConnection) -> list[dict[str, object]]:
    rows = await conn.execute(
        select(
            api_clients.c.id,
            api_clients.c.name,
            api_clients.c.kind,
            api_clients.c.scope,
            api_clients.c.created_at,
            api_clients.c.disabled,
            api_clients.c.revoked_at,
            api_clients.c.old_key_until,
            api_clients.c.last_used_at,
        ).order_by(api_clients.c.created_at)
    )
    return [dict(r._mapping) for r in rows]


async def centre_name(conn: AsyncConnection, centre: str, lang: str = "ru") -> str | None:
    """What the workspace's header shows instead of the code: the centre's name in the
    register (in the page's language), else the name its calling system was registered
    with (`gateway clients add --name`), the oldest enabled one."""
    registered = await centres.name_of(conn, centre, lang)
    if registered:
        return registered
    return (
        await conn.execute(
            select(api_clients.c.name)
            .where(
                api_clients.c.kind == ClientKind.centre.value,
                api_clients.c.scope == centre,
                api_clients.c.disabled.is_(False),
            )
            .order_by(api_clients.c.created_at)
            .limit(1)
        )
    ).scalar_one_or_none()
