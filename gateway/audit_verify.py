"""Checking the audit log: the chain recomputed, every checkpoint's signature and head.

`gateway audit verify` runs `verify`; `gateway audit proof` runs `proof_for`; `gateway
audit export` writes `export` to a file the operator hands to the bodies. A body that
keeps such a file can later pass it back (`verify --checkpoints FILE`) and so detect a
log rewritten wholesale together with the checkpoints in the store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.audit_keys import key_id, public_pem
from gateway.domain.audit_chain import (
    CHAINED_FIELDS,
    Break,
    checkpoint_bytes,
    first_break,
    head_at,
    proof,
    stamp,
)
from gateway.store.tables import audit_checkpoints, audit_log

# The columns a record's hash covers, named once in the pure chain module.
CHAINED = [audit_log.c[name] for name in CHAINED_FIELDS]


@dataclass
class Verdict:
    count: int
    unsealed: int
    checkpoints: int
    problems: list[str] = field(default_factory=list)
    first: Break | None = None

    @property
    def intact(self) -> bool:
        return not self.problems


async def _sealed(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(*CHAINED, audit_log.c.seq, audit_log.c.prev_hash, audit_log.c.hash)
            .where(audit_log.c.seq.is_not(None))
            .order_by(audit_log.c.seq)
        )
        return [dict(r._mapping) for r in rows]


async def _checkpoints(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.count))
        return [dict(r._mapping) for r in rows]


def _check_checkpoint(
    cp: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], public: Ed25519PublicKey
) -> str | None:
    at = cp["at"] if isinstance(cp["at"], datetime) else datetime.fromisoformat(cp["at"])
    count, head = int(cp["count"]), str(cp["head"])
    try:
        public.verify(bytes.fromhex(cp["signature"]), checkpoint_bytes(count, head, at))
    except (InvalidSignature, ValueError):
        return f"checkpoint of {count} records: the signature does not verify"
    actual = head_at(rows, count)
    if actual is None:
        return (
            f"checkpoint of {count} records: the log holds only {len(rows)} sealed records "
            f"(records after seq {len(rows)} deleted)"
        )
    if actual != head:
        return (
            f"checkpoint of {count} records: the chain head at seq {count} is not the signed "
            "one (records up to it were rewritten)"
        )
    return None


async def verify(
    engine: AsyncEngine,
    public: Ed25519PublicKey,
    witnessed: Sequence[Mapping[str, Any]] = (),
) -> Verdict:
    rows = await _sealed(engine)
    async with engine.connect() as conn:
        unsealed = (
            await conn.execute(
                select(func.count()).select_from(audit_log).where(audit_log.c.seq.is_(None))
            )
        ).scalar_one()
    stored = await _checkpoints(engine)
    verdict = Verdict(count=len(rows), unsealed=int(unsealed), checkpoints=len(stored))
    broken = first_break(rows)
    if broken is not None:
        verdict.first = broken
        verdict.problems.append(str(broken))
    for cp in [*stored, *witnessed]:
        problem = _check_checkpoint(cp, rows, public)
        if problem is not None:
            verdict.problems.append(problem)
    verdict.checkpoints += len(witnessed)
    return verdict


async def proof_for(
    engine: AsyncEngine, record_id: int, public: Ed25519PublicKey
) -> dict[str, Any]:
    """One record, the chain from it to the first checkpoint that covers it, and that
    checkpoint with the key to check its signature."""
    rows = await _sealed(engine)
    target = next((r for r in rows if r["id"] == record_id), None)
    if target is None:
        raise LookupError(f"record id {record_id} is not in the sealed log (yet)")
    cps = [c for c in await _checkpoints(engine) if int(c["count"]) >= int(target["seq"])]
    if not cps:
        raise LookupError(
            f"record id {record_id} (seq {target['seq']}) is not yet covered by a checkpoint"
        )
    cp = cps[0]
    made = proof(rows, int(target["seq"]), int(cp["count"]))
    return {
        "record": made.record,
        "canonical": made.canonical,
        "prev_hash": target["prev_hash"],
        "links": made.links,
        "checkpoint": _plain_checkpoint(cp),
        "public_key": public_pem(public),
        "how_to_check": (
            "h = sha256(prev_hash + '\\n' + canonical) must equal record.hash; then for each "
            "link in order h = sha256(h + '\\n' + link.canonical) must equal link.hash; the "
            "last h must equal checkpoint.head; and the Ed25519 signature (hex) must verify "
            'over the JSON {"at","count","head","v":1} (sorted keys, no spaces) with '
            "public_key."
        ),
    }


def _plain_checkpoint(cp: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "count": int(cp["count"]),
        "head": cp["head"],
        "at": stamp(cp["at"]),
        "key_id": cp["key_id"],
        "signature": cp["signature"],
    }


async def export(engine: AsyncEngine, public: Ed25519PublicKey) -> str:
    """The checkpoints and the public key, as a JSON document for the bodies."""
    return json.dumps(
        {
            "gateway_key_id": key_id(public),
            "public_key": public_pem(public),
            "checkpoints": [_plain_checkpoint(c) for c in await _checkpoints(engine)],
        },
        ensure_ascii=False,
        indent=2,
    )
