"""The interagency log on both stores: sealed in order, signed, and every tampering named.

Each test writes records the way the services do (in the transaction they record),
seals them as the watcher's sealer does, and then changes the table directly, as
someone with write access to the database could, and runs `gateway audit verify`.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from gateway.audit_keys import signing_key
from gateway.audit_sealer import checkpoint, seal
from gateway.audit_verify import export, proof_for, verify
from gateway.cli import app
from gateway.domain.audit_chain import link
from gateway.services import audit_log
from gateway.store.tables import audit_checkpoints
from gateway.store.tables import audit_log as table

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


async def _write(engine: AsyncEngine, n: int, start: int = 0) -> None:
    async with engine.begin() as conn:
        for i in range(start, start + n):
            await audit_log.record(
                conn,
                at=T0 + timedelta(seconds=i),
                actor="agency:health",
                action="report_received" if i % 2 else "handover",
                case_id=f"case-{i % 3}",
                task_id=f"task-{i}",
                data={"to_state": "done"},
            )


async def _ids(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(table.c.id).order_by(table.c.seq))
        return [int(r.id) for r in rows]


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


async def _sealed_log(engine: AsyncEngine, key: Ed25519PrivateKey, n: int = 8) -> list[int]:
    await _write(engine, n)
    assert await seal(engine) == n
    assert await checkpoint(engine, key, T0 + timedelta(hours=1)) is not None
    return await _ids(engine)


async def test_records_written_concurrently_are_chained_in_order_and_verify(
    engine: AsyncEngine, key: Ed25519PrivateKey
) -> None:
    await asyncio.gather(*(_write(engine, 5, start=i * 5) for i in range(4)))
    before = await verify(engine, key.public_key())
    assert (before.count, before.unsealed, before.intact) == (0, 20, True)
    assert await seal(engine, limit=7) == 7  # a batch at a time, continuing the chain
    assert await seal(engine) == 13
    assert await seal(engine) == 0
    made = await checkpoint(engine, key, T0)
    assert made is not None and made.count == 20
    assert await checkpoint(engine, key, T0) is None  # nothing new: no second checkpoint
    verdict = await verify(engine, key.public_key())
    assert verdict.intact, verdict.problems
    assert (verdict.count, verdict.unsealed, verdict.checkpoints) == (20, 0, 1)
    async with engine.connect() as conn:
        seqs = [r.seq for r in await conn.execute(select(table.c.seq).order_by(table.c.id))]
    assert seqs == list(range(1, 21))


async def test_a_changed_field_is_named(engine: AsyncEngine, key: Ed25519PrivateKey) -> None:
    ids = await _sealed_log(engine, key)
    async with engine.begin() as conn:
        await conn.execute(update(table).where(table.c.id == ids[4]).values(actor="agency:police"))
    verdict = await verify(engine, key.public_key())
    assert not verdict.intact
    assert verdict.first is not None
    assert (verdict.first.kind, verdict.first.record_id, verdict.first.seq) == (
        "changed",
        ids[4],
        5,
    )


async def test_a_changed_and_rehashed_record_is_caught_by_the_chain(
    engine: AsyncEngine, key: Ed25519PrivateKey
) -> None:
    ids = await _sealed_log(engine, key)
    async with engine.begin() as conn:
        row = (await conn.execute(select(table).where(table.c.id == ids[2]))).one()
        forged = dict(row._mapping, action="cancelled")
        await conn.execute(
            update(table)
            .where(table.c.id == ids[2])
            .values(action="cancelled", hash=link(row.prev_hash, forged))
        )
    verdict = await verify(engine, key.public_key())
    assert verdict.first is not None and verdict.first.seq == 4  # the next one no longer fits
    assert verdict.first.record_id == ids[3]


async def test_a_deleted_record_is_named(engine: AsyncEngine, key: Ed25519PrivateKey) -> None:
    ids = await _sealed_log(engine, key)
    async with engine.begin() as conn:
        await conn.execute(delete(table).where(table.c.id == ids[3]))
    verdict = await verify(engine, key.public_key())
    assert verdict.first is not None
    assert (verdict.first.kind, verdict.first.seq) == ("deleted", 4)
    assert str(ids[4]) in verdict.first.detail  # "missing before record id …"


async def test_deleting_the_newest_records_is_caught_by_the_checkpoint(
    engine: AsyncEngine, key: Ed25519PrivateKey
) -> None:
    ids = await _sealed_log(engine, key)
    async with engine.begin() as conn:
        await conn.execute(delete(table).where(table.c.id.in_(ids[-2:])))
    verdict = await verify(engine, key.public_key())
    assert verdict.first is None  # what is left still chains …
    assert any("only 6 sealed records" in p for p in verdict.problems)  # … but is short


async def test_an_inserted_record_is_named(engine: AsyncEngine, key: Ed25519PrivateKey) -> None:
    ids = await _sealed_log(engine, key)
    async with engine.begin() as conn:
        rows = (await conn.execute(select(table).order_by(table.c.seq))).all()
        # Make room at seq 4 (from the end, so the unique seq holds at each step) …
        for row in reversed(rows[3:]):
            await conn.execute(update(table).where(table.c.id == row.id).values(seq=row.seq + 1))
        # … and slip in a well-formed record chained to seq 3.
        forged = dict(
            id=10_000,
            at=T0,
            actor="centre:nobody",
            action="cancelled",
            case_id="case-0",
            task_id=None,
            subject=None,
            purpose=None,
            legal_ground=None,
            data={},
        )
        await conn.execute(
            insert(table).values(
                **forged, seq=4, prev_hash=rows[2].hash, hash=link(rows[2].hash, forged)
            )
        )
    verdict = await verify(engine, key.public_key())
    assert verdict.first is not None
    assert (verdict.first.kind, verdict.first.record_id) == ("inserted", 10_000)
    assert ids  # the originals are all still there


async def test_two_swapped_records_are_named(engine: AsyncEngine, key: Ed25519PrivateKey) -> None:
    ids = await _sealed_log(engine, key)
    async with engine.begin() as conn:
        await conn.execute(update(table).where(table.c.id == ids[2]).values(seq=-1))
        await conn.execute(update(table).where(table.c.id == ids[5]).values(seq=3))
        await conn.execute(update(table).where(table.c.id == ids[2]).values(seq=6))
    verdict = await verify(engine, key.public_key())
    assert verdict.first is not None
    assert (verdict.first.kind, verdict.first.record_id, verdict.first.seq) == (
        "reordered",
        ids[5],
        3,
    )


async def test_a_forged_checkpoint_fails_its_signature(
    engine: AsyncEngine, key: Ed25519PrivateKey
) -> None:
    await _sealed_log(engine, key)
    async with engine.begin() as conn:
        await conn.execute(update(audit_checkpoints).values(count=7))
    verdict = await verify(engine, key.public_key())
    assert any("signature does not verify" in p for p in verdict.problems)
    other = Ed25519PrivateKey.generate()  # and a checkpoint is only the gateway's own
    async with engine.begin() as conn:
        await conn.execute(update(audit_checkpoints).values(count=8))
    assert not (await verify(engine, other.public_key())).intact


async def test_a_proof_and_an_export_let_a_body_check_a_record(
    engine: AsyncEngine, key: Ed25519PrivateKey
) -> None:
    ids = await _sealed_log(engine, key)
    made = await proof_for(engine, ids[2], key.public_key())
    assert made["record"]["seq"] == 3 and made["checkpoint"]["count"] == 8
    assert len(made["links"]) == 5
    assert made["links"][-1]["hash"] == made["checkpoint"]["head"]
    witnessed = json.loads(await export(engine, key.public_key()))
    assert witnessed["checkpoints"][0]["head"] == made["checkpoint"]["head"]
    # A body's witnessed checkpoints still verify …
    assert (await verify(engine, key.public_key(), witnessed["checkpoints"])).intact
    # … and catch a rewrite that also replaced the store's own checkpoints.
    async with engine.begin() as conn:
        await conn.execute(delete(audit_checkpoints))
        await conn.execute(delete(table).where(table.c.id == ids[-1]))
    rewritten = await verify(engine, key.public_key(), witnessed["checkpoints"])
    assert not rewritten.intact


async def test_the_cli_exits_0_with_the_count_and_names_the_record_otherwise(
    engine: AsyncEngine, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "audit-key.pem"
    key = signing_key(key_file)
    monkeypatch.setenv("GATEWAY_DATABASE_URL", store_url)
    monkeypatch.setenv("GATEWAY_AUDIT_SIGNING_KEY_FILE", str(key_file))
    ids = await _sealed_log(engine, key, n=5)
    runner = CliRunner()

    intact = await asyncio.to_thread(runner.invoke, app, ["audit", "verify"])
    assert intact.exit_code == 0, intact.output
    assert "5 records chained" in intact.output

    proof = await asyncio.to_thread(runner.invoke, app, ["audit", "proof", str(ids[1])])
    assert proof.exit_code == 0, proof.output
    assert json.loads(proof.output)["record"]["id"] == ids[1]

    async with engine.begin() as conn:
        await conn.execute(update(table).where(table.c.id == ids[1]).values(case_id="other"))
    broken = await asyncio.to_thread(runner.invoke, app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert f"record id {ids[1]}" in broken.output and "changed" in broken.output
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(table))).scalar_one() == 5
