"""Rows written through the driver (`gateway.store.bulk`) are stored exactly as
SQLAlchemy stores them, and they are part of the caller's transaction, on both stores."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store import bulk
from gateway.store.tables import deadlines, events, plans, tasks

pytestmark = pytest.mark.integration

ALMATY = timezone(timedelta(hours=5))


async def _plan(engine: AsyncEngine) -> str:
    plan_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            insert(plans).values(
                id=plan_id, flow="ipr", centre="bulk-test", status="active", approved_at=now,
                created_at=now, family={"members": []}, grounds=["a"], created_by="test",
            )
        )  # fmt: skip
    return plan_id


def _task(plan_id: str, task_id: str, at: datetime) -> dict[str, Any]:
    return dict(
        id=task_id, plan_id=plan_id, seq=1, step="activity", agency="health", title="Осмотр",
        description="Қазақша және русский", due_date=date(2026, 12, 31),
        beneficiary_iins=["900101300123", "050505600321"], state="created", round=0,
        created_at=at, updated_at=at, dispatched_at=None, delivered_at=None, reported_at=None,
        accepted_at=None, last_comment=None, last_reason=None,
    )  # fmt: skip


async def _stored(engine: AsyncEngine, task_id: str) -> tuple[Any, ...]:
    """The row as the database holds it, below SQLAlchemy's types."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT due_date, beneficiary_iins, created_at, updated_at, dispatched_at "
                    "FROM tasks WHERE id = :id"
                ),
                {"id": task_id},
            )
        ).one()
    return tuple(str(value) for value in row)


async def test_a_row_is_stored_as_sqlalchemy_stores_it(engine: AsyncEngine) -> None:
    plan_id = await _plan(engine)
    # An offset other than UTC, and a whole second (no microseconds to print): both must
    # come out as SQLAlchemy writes them, or text order would not be time order on SQLite.
    at = datetime(2026, 12, 2, 10, 0, 0, tzinfo=ALMATY)
    via_orm, via_driver = str(uuid.uuid4()), str(uuid.uuid4())
    async with engine.begin() as conn:
        await conn.execute(insert(tasks), [_task(plan_id, via_orm, at)])
        await bulk.insert_many(conn, tasks, [_task(plan_id, via_driver, at)])
    assert await _stored(engine, via_driver) == await _stored(engine, via_orm)
    async with engine.connect() as conn:
        read = (await conn.execute(select(tasks).where(tasks.c.id == via_driver))).one()
    assert read.created_at == at and read.created_at.tzinfo is not None
    assert read.due_date == date(2026, 12, 31)
    assert read.beneficiary_iins == ["900101300123", "050505600321"]
    assert read.description == "Қазақша және русский"
    assert read.dispatched_at is None


async def test_driver_writes_roll_back_with_their_transaction(engine: AsyncEngine) -> None:
    plan_id = await _plan(engine)
    task_id = str(uuid.uuid4())
    with pytest.raises(RuntimeError, match="undo"):
        async with engine.begin() as conn:
            # The first statement of the transaction: on PostgreSQL SQLAlchemy has not
            # begun it yet, so this checks that `bulk` begins it rather than autocommit.
            await bulk.insert_many(conn, tasks, [_task(plan_id, task_id, datetime.now(UTC))])
            raise RuntimeError("undo")
    async with engine.connect() as conn:
        found = (await conn.execute(select(tasks.c.id).where(tasks.c.id == task_id))).all()
    assert found == []


async def test_driver_writes_are_refused_outside_a_transaction(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        with pytest.raises(RuntimeError, match="transaction"):
            await bulk.execute_many(
                conn, bulk.Statement.of("DELETE FROM tasks WHERE id = $1"), [("x",)]
            )


async def test_rows_of_different_shapes_keep_their_order(engine: AsyncEngine) -> None:
    plan_id = await _plan(engine)
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for i in range(5):
        row: dict[str, Any] = dict(plan_id=plan_id, at=now, actor="test", type=f"e{i}", data={})
        if i % 2:
            row["reason"] = f"reason {i}"
        rows.append(row)
    async with engine.begin() as conn:
        await bulk.insert_many(conn, events, rows)
    async with engine.connect() as conn:
        written = (
            await conn.execute(
                select(events.c.type, events.c.reason)
                .where(events.c.plan_id == plan_id)
                .order_by(events.c.id)
            )
        ).all()
    assert [tuple(r) for r in written] == [
        ("e0", None), ("e1", "reason 1"), ("e2", None), ("e3", "reason 3"), ("e4", None)
    ]  # fmt: skip


async def test_rows_of_several_tables_in_one_call_are_stored_as_one_by_one(
    engine: AsyncEngine,
) -> None:
    """`insert_all` (one statement on PostgreSQL): a plan and its task go in together,
    the foreign key between them holding, each row stored as `insert_many` stores it,
    events of two shapes in their order; and all of it rolls back with the transaction."""
    at = datetime(2026, 12, 2, 10, 0, 0, tzinfo=ALMATY)
    reference_plan = await _plan(engine)
    reference_task = str(uuid.uuid4())
    async with engine.begin() as conn:
        await bulk.insert_many(conn, tasks, [_task(reference_plan, reference_task, at)])
    plan_id, task_id = str(uuid.uuid4()), str(uuid.uuid4())
    plan_row = dict(
        id=plan_id, flow="ipr", centre="bulk-test", status="active", approved_at=at,
        created_at=at, family={"members": [{"name": "Әлия"}]}, grounds=["a"], created_by="t",
    )  # fmt: skip
    event_rows: list[dict[str, Any]] = [
        dict(plan_id=plan_id, at=at, actor="test", type="e0", data={"k": "ұ"}),
        dict(plan_id=plan_id, at=at, actor="test", type="e1", data={}, reason="why"),
        dict(plan_id=plan_id, at=at, actor="test", type="e2", data={}),
    ]
    writes = [
        (plans, [plan_row]),
        (tasks, [_task(plan_id, task_id, at)]),
        (events, event_rows),
    ]

    with pytest.raises(RuntimeError, match="undo"):
        async with engine.begin() as conn:
            await bulk.insert_all(conn, writes)
            raise RuntimeError("undo")
    async with engine.connect() as conn:
        gone = (await conn.execute(select(plans.c.id).where(plans.c.id == plan_id))).all()
    assert gone == []

    async with engine.begin() as conn:
        await bulk.insert_all(conn, writes)
    assert await _stored(engine, task_id) == await _stored(engine, reference_task)
    async with engine.connect() as conn:
        plan = (await conn.execute(select(plans).where(plans.c.id == plan_id))).one()
        written = (
            await conn.execute(
                select(events.c.type, events.c.reason, events.c.data)
                .where(events.c.plan_id == plan_id)
                .order_by(events.c.id)
            )
        ).all()
    assert plan.family == {"members": [{"name": "Әлия"}]} and plan.approved_at == at
    assert [tuple(r) for r in written] == [
        ("e0", None, {"k": "ұ"}), ("e1", "why", {}), ("e2", None, {})
    ]  # fmt: skip


async def test_a_child_without_its_parent_fails_the_whole_call(engine: AsyncEngine) -> None:
    """The foreign keys are checked in the one statement too: a task of no plan fails
    it, and nothing of the call is kept."""
    plan_id = str(uuid.uuid4())
    at = datetime.now(UTC)
    with pytest.raises(Exception, match=r"(?i)foreign key"):
        async with engine.begin() as conn:
            await bulk.insert_all(
                conn,
                [
                    (events, [dict(plan_id=plan_id, at=at, actor="t", type="e", data={})]),
                    (tasks, [_task(str(uuid.uuid4()), str(uuid.uuid4()), at)]),
                ],
            )
    async with engine.connect() as conn:
        kept = (await conn.execute(select(events.c.id).where(events.c.plan_id == plan_id))).all()
    assert kept == []


async def test_the_store_writes_bench_compares_both_ways_and_cleans_up(
    engine: AsyncEngine, store_url: str
) -> None:
    from bench.store_writes import measure

    lines = await measure(store_url, (2,), rounds=2, repeats=1)
    assert lines[0].startswith("empty transaction")
    assert "sqlalchemy" in lines[1] and "driver" in lines[1] and "driver / sqlalchemy" in lines[1]
    async with engine.connect() as conn:
        left = await conn.execute(select(plans.c.id).where(plans.c.centre == "bench-store-writes"))
        assert left.all() == []


async def test_a_meet_and_the_overdue_flag_never_read_the_watchers_indexes(
    engine: AsyncEngine,
) -> None:
    """Migration 0012: planned on a young table, where the planner knows nothing of the
    rows, neither statement may use an index that covers every open deadline."""
    meet = "UPDATE deadlines SET met_at = {0} WHERE task_id = {1} AND kind = {2} AND met_at IS NULL"
    overdue = (
        "SELECT EXISTS (SELECT 1 FROM deadlines WHERE plan_id = {0} AND met_at IS NULL "
        "AND due_at < {1})"
    )
    plan_id = await _plan(engine)
    now = datetime.now(UTC)
    open_one = dict(
        plan_id=plan_id, task_id=None, kind="delivery", round=0, starts_at=now, warn_at=now,
        due_at=now, calendar_version="test", met_at=None, warned_at=None, breached_at=None,
    )  # fmt: skip
    async with engine.connect() as conn, conn.begin() as transaction:
        # Open deadlines the planner has no statistics of (rolled back at the end): with
        # the watcher's old indexes, led by met_at, both statements were planned on them.
        await bulk.insert_many(conn, deadlines, [open_one] * 3000)
        if conn.dialect.name == "postgresql":
            await conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
            await conn.exec_driver_sql(
                "PREPARE meet(timestamp, varchar, varchar) AS " + meet.format("$1", "$2", "$3")
            )
            await conn.exec_driver_sql(
                "PREPARE overdue(varchar, timestamp) AS " + overdue.format("$1", "$2")
            )
            plans_text = [
                "\n".join(
                    r[0]
                    for r in await conn.exec_driver_sql(
                        "EXPLAIN EXECUTE meet(now()::timestamp, 'x', 'delivery')"
                    )
                ),
                "\n".join(
                    r[0]
                    for r in await conn.exec_driver_sql(
                        "EXPLAIN EXECUTE overdue('x', now()::timestamp)"
                    )
                ),
            ]
            await conn.exec_driver_sql("DEALLOCATE meet")
            await conn.exec_driver_sql("DEALLOCATE overdue")
        else:
            plans_text = [
                "\n".join(
                    str(r[-1])
                    for r in await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)
                )
                for sql, params in (
                    (meet.format("?", "?", "?"), ("2026-12-02 00:00:00", "x", "delivery")),
                    (overdue.format("?", "?"), ("x", "2026-12-02 00:00:00")),
                )
            ]
        await transaction.rollback()
    assert "ix_deadlines_task_id_kind" in plans_text[0], plans_text[0]
    for plan in plans_text:
        assert "ix_deadlines_open" not in plan, plan


_READ_TASKS = bulk.Statement(
    postgresql=f"SELECT {bulk.column_list(tasks)} FROM tasks WHERE id = ANY($1::varchar[]) "
    "ORDER BY id",
    sqlite=f"SELECT {bulk.column_list(tasks)} FROM tasks "
    "WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id",
)


async def test_rows_read_through_the_driver_are_those_sqlalchemy_reads(
    engine: AsyncEngine,
) -> None:
    """Every column type of `tasks` (text, integer, date, JSON, timestamps set and
    unset) reads back the same through `fetch_rows` as through `select(tasks)`."""
    plan_id = await _plan(engine)
    at = datetime(2026, 12, 2, 10, 0, 0, 123456, tzinfo=ALMATY)
    first, second = sorted(str(uuid.uuid4()) for _ in range(2))
    later = dict(_task(plan_id, second, at), due_date=None, reported_at=at, last_comment="ок")
    async with engine.begin() as conn:
        await conn.execute(insert(tasks), [_task(plan_id, first, at), later])
    async with engine.begin() as conn:
        by_driver = await bulk.fetch_rows(
            conn, tasks, _READ_TASKS, (bulk.array(conn, [second, first]),)
        )
        by_orm = (
            await conn.execute(
                select(tasks).where(tasks.c.id.in_([first, second])).order_by(tasks.c.id)
            )
        ).all()
    assert [row._asdict() for row in by_driver] == [dict(row._mapping) for row in by_orm]
    assert [row.id for row in by_driver] == [first, second]
    assert by_driver[1].reported_at == at and by_driver[1].reported_at.tzinfo is not None
    assert by_driver[0].beneficiary_iins == ["900101300123", "050505600321"]
    assert by_driver[0].due_date == date(2026, 12, 31) and by_driver[1].due_date is None
