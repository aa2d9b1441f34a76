"""Registering calling systems and recognising them on each request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.agencies import Agencies
from gateway.auth import Caller, ClientKind, issue_key, secret_matches, split_key
from gateway.errors import InvalidInput
from gateway.ids import new_id
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
) -> NewClient:
    if kind is ClientKind.admin and scope:
        raise InvalidInput.field("scope", "an admin client has no scope")
    if kind is not ClientKind.admin and not scope:
        raise InvalidInput.field("scope", f"a {kind.value} client needs its {kind.value}'s code")
    if kind is ClientKind.agency and scope and agencies.get(scope) is None:
        raise InvalidInput.field("scope", f"unknown agency '{scope}'")
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
        )
    )
    return NewClient(client_id, name, kind, scope, key.plaintext)


async def authenticate(conn: AsyncConnection, api_key: str) -> Caller | None:
    parts = split_key(api_key)
    if parts is None:
        return None
    prefix, secret = parts
    row = (
        await conn.execute(select(api_clients).where(api_clients.c.key_prefix == prefix))
    ).first()
    if row is None or row.disabled or not secret_matches(secret, row.key_hash):
        return None
    return Caller(client_id=row.id, kind=ClientKind(row.kind), scope=row.scope)


async def list_clients(conn: AsyncConnection) -> list[dict[str, object]]:
    rows = await conn.execute(
        select(
            api_clients.c.id,
            api_clients.c.name,
            api_clients.c.kind,
            api_clients.c.scope,
            api_clients.c.created_at,
            api_clients.c.disabled,
        ).order_by(api_clients.c.created_at)
    )
    return [dict(r._mapping) for r in rows]


async def centre_name(conn: AsyncConnection, centre: str) -> str | None:
    """The name a centre's calling system was registered with (`gateway clients add
    --name`), the oldest enabled one: what the workspace's header shows instead of the
    code."""
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
