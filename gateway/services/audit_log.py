"""Writing the interagency log: one record per hand-over, report, decision, lookup, key change.

A record is inserted in the transaction it records, unsealed (no ``seq`` or hash), so
writing it costs one more row in a transaction already open and never waits for another
writer: on PostgreSQL concurrent submits do not queue behind a chain head. The one sealer
(gateway/audit_sealer.py) chains the committed records in order shortly after.

The subject of a lookup is stored as an HMAC of the IIN under the gateway's audit secret
(`subject_hash`): whoever holds the secret can ask "was this IIN looked up?", nobody who
reads the log learns an IIN from it.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store import bulk
from gateway.store.tables import audit_log


def subject_hash(secret: bytes, iin: str) -> str:
    return hmac.new(secret, iin.encode("ascii"), hashlib.sha256).hexdigest()


def audit_row(
    *,
    at: datetime,
    actor: str,
    action: str,
    case_id: str | None = None,
    task_id: str | None = None,
    subject: str | None = None,
    purpose: str | None = None,
    legal_ground: str | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return dict(
        at=at,
        actor=actor[:100],
        action=action[:40],
        case_id=case_id,
        task_id=task_id,
        subject=subject,
        purpose=purpose,
        legal_ground=legal_ground,
        data=data or {},
    )


async def record(conn: AsyncConnection, **fields: Any) -> None:
    await conn.execute(insert(audit_log).values(**audit_row(**fields)))


async def record_many(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await bulk.insert_many(conn, audit_log, rows)
