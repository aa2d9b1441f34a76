"""The audit log's one sealer: chains committed records in order, signs checkpoints.

Records are inserted unsealed by the transactions they record (gateway/services/
audit_log.py). The sealer, which runs in the watcher process, takes the committed
unsealed records in id order every `audit_seal_seconds`, gives each the next ``seq``
and its hash over its predecessor's (gateway/domain/audit_chain.py), and writes them in
transactions of `ROUND` records, one after another. So the hot path never serialises on
the chain head; the price is a window of about a second during which a record is in the
log but not yet chained.

Only one sealer may extend the chain at a time: on PostgreSQL it holds a transaction
advisory lock; on SQLite the store's single writer does the same. Should two run anyway,
the unique ``seq`` makes the second one's transaction fail and it tries again next round.

A checkpoint (count, head, time) is signed with the gateway's Ed25519 key every
`audit_checkpoint_seconds` when the chain has grown.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.clock import Clock
from gateway.audit_keys import key_id
from gateway.domain.audit_chain import GENESIS, checkpoint_bytes, link
from gateway.store import bulk
from gateway.store.tables import audit_checkpoints, audit_log

log = logging.getLogger("gateway.audit")

_ADVISORY_LOCK = 0x0A0D17  # the audit sealer's PostgreSQL advisory lock key

# A round's statements go through the driver (gateway/store/bulk.py): the sealer reads and
# updates four records a task, and SQLAlchemy's statement and row handling was a third of
# its CPU (py-spy at full load).
_LOCK = bulk.Statement.of("SELECT pg_advisory_xact_lock($1)")
_HEAD = bulk.Statement.of(
    "SELECT seq, hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1"
)
_UNSEALED = bulk.Statement.of(
    f"SELECT {bulk.column_list(audit_log)} FROM audit_log WHERE seq IS NULL ORDER BY id LIMIT $1"
)
_SEAL = bulk.Statement.of("UPDATE audit_log SET seq = $2, prev_hash = $3, hash = $4 WHERE id = $1")


async def _lock(conn: AsyncConnection) -> None:
    if conn.dialect.name == "postgresql":
        await bulk.fetch(conn, _LOCK, (_ADVISORY_LOCK,))


async def _head(conn: AsyncConnection) -> tuple[int, str]:
    rows = await bulk.fetch(conn, _HEAD, ())
    return (0, GENESIS) if not rows else (int(rows[0][0]), str(rows[0][1]))


# Records a round chains. Hashing is done on the event loop the API shares, at about 25 µs
# a record, so a round of 5,000 held every request for over 100 ms, and at half load the
# rounds of a second's records (16–22 ms) were the most frequent stalls a watchdog on the
# loop saw. Rounds of 200 hold it for 5 ms at most; the sealer runs them back to back.
ROUND = 200


async def seal(engine: AsyncEngine, *, limit: int = ROUND) -> int:
    """Chain up to ``limit`` committed unsealed records; how many were sealed."""
    async with engine.begin() as conn:
        await _lock(conn)
        seq, prev = await _head(conn)
        rows = await bulk.fetch_rows(conn, audit_log, _UNSEALED, (limit,))
        if not rows:
            return 0
        sealed: list[tuple[int, int, str, str]] = []
        for row in rows:
            seq += 1
            digest = link(prev, row._asdict())
            sealed.append((row.id, seq, prev, digest))
            prev = digest
        await bulk.execute_many(conn, _SEAL, sealed)
        return len(sealed)


@dataclass(frozen=True)
class Checkpoint:
    count: int
    head: str
    at: datetime
    key_id: str
    signature: str


async def checkpoint(
    engine: AsyncEngine, key: Ed25519PrivateKey, now: datetime
) -> Checkpoint | None:
    """Sign the chain's current head if it grew since the last checkpoint."""
    async with engine.begin() as conn:
        await _lock(conn)
        count, head = await _head(conn)
        last = (await conn.execute(select(func.max(audit_checkpoints.c.count)))).scalar()
        if count == 0 or (last is not None and last >= count):
            return None
        signature = key.sign(checkpoint_bytes(count, head, now)).hex()
        made = Checkpoint(count, head, now, key_id(key.public_key()), signature)
        await conn.execute(
            audit_checkpoints.insert().values(
                count=made.count,
                head=made.head,
                at=made.at,
                key_id=made.key_id,
                signature=made.signature,
            )
        )
        return made


async def run(
    engine: AsyncEngine,
    clock: Clock,
    key: Ed25519PrivateKey,
    *,
    seal_seconds: float,
    checkpoint_seconds: float,
) -> None:
    """The sealer's loop, for the watcher process."""
    loop = asyncio.get_running_loop()
    next_checkpoint = loop.time()  # the first records get a checkpoint at once
    while True:
        try:
            while await seal(engine) > 0:
                pass
            if loop.time() >= next_checkpoint:
                await checkpoint(engine, key, clock.now())
                next_checkpoint = loop.time()  # the first records get a checkpoint at once
        except Exception:  # the store is away or another sealer won the race: next round
            log.warning("audit sealing failed; trying again", exc_info=True)
        await asyncio.sleep(seal_seconds)
