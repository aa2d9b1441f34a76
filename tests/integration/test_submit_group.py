"""Submit by group commit on both stores: the answer from memory is the plan as stored,
concurrent submits share transactions, and a refused or racing submit fails alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from contracts.plans import PlanSubmission
from gateway.auth import Caller, ClientKind
from gateway.services import plans as plan_service
from gateway.services import queries
from gateway.store.tables import plans
from tests.integration.harness import Harness, plan_body

pytestmark = pytest.mark.integration


async def test_the_answer_built_from_memory_is_the_plan_as_stored(harness: Harness) -> None:
    h = harness
    caller = Caller(client_id="c-test", kind=ClientKind.centre, scope=h.centre)
    submission = PlanSubmission.model_validate(plan_body(h.centre))
    now = h.clock.now()
    async with h.engine.begin() as conn:
        result = await plan_service.submit_plan(
            conn, h.ctx, submission, caller, idempotency_key="k-1", now=now
        )
        assert result.written is not None
        from_memory = queries.view_of_written(result.written, now)
        # Read in the same transaction: the relay cannot have moved the plan on yet.
        stored = await queries.read_plan(conn, result.plan_id, caller, now)
        await conn.rollback()
    assert from_memory.model_dump() == stored.model_dump()


async def test_concurrent_submits_are_each_answered_once_and_a_bad_one_alone(
    harness: Harness,
) -> None:
    h = harness
    bodies = []
    for n in range(20):
        body = plan_body(h.centre)
        body["external_id"] = f"group-{n}"
        bodies.append(body)
    bad = plan_body(h.centre)
    bad["approved_at"] = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    twin = plan_body(h.centre)
    twin["external_id"] = "twin"

    responses = await asyncio.gather(
        *(h.submit(b, **{"Idempotency-Key": f"g-{i}"}) for i, b in enumerate(bodies)),
        h.submit(bad, **{"Idempotency-Key": "bad"}),
        h.submit(twin, **{"Idempotency-Key": "twin"}),
        h.submit(twin, **{"Idempotency-Key": "twin"}),
    )

    good = responses[:20]
    assert [r.status_code for r in good] == [201] * 20, [r.text for r in good]
    assert len({r.json()["id"] for r in good}) == 20
    for response, body in zip(good, bodies, strict=True):
        assert response.json()["external_id"] == body["external_id"]
        assert response.headers["location"] == f"/api/v1/plans/{response.json()['id']}"
    refused = responses[20]
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "approved_at"
    first, second = responses[21], responses[22]
    assert sorted([first.status_code, second.status_code]) == [200, 201]
    assert first.json()["id"] == second.json()["id"]
    async with h.engine.connect() as conn:
        stored = (
            await conn.execute(
                select(func.count()).select_from(plans).where(plans.c.centre == h.centre)
            )
        ).scalar_one()
    assert stored == 21  # twenty and the twin: nothing of the refused one, no second twin


async def test_a_retried_submit_is_answered_with_the_plan_as_it_stands(harness: Harness) -> None:
    h = harness
    body = plan_body(h.centre)
    first = await h.submit(body, **{"Idempotency-Key": "again"})
    again = await h.submit(body, **{"Idempotency-Key": "again"})

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert [t["id"] for t in again.json()["tasks"]] == [t["id"] for t in first.json()["tasks"]]


async def test_a_group_answers_a_known_key_with_its_plan_and_refuses_a_key_reused(
    harness: Harness,
) -> None:
    """Keys already used, looked up for the whole group in one query, still answer as
    one by one: the same plan again is 200 with the stored plan, another plan under a
    used key is 409 alone, and the rest of the group is written."""
    h = harness
    known = plan_body(h.centre)
    known["external_id"] = "known"
    first = await h.submit(known, **{"Idempotency-Key": "known"})
    assert first.status_code == 201
    other = plan_body(h.centre)
    other["external_id"] = "other-plan"
    fresh = []
    for n in range(6):
        body = plan_body(h.centre)
        body["external_id"] = f"fresh-{n}"
        fresh.append(body)

    responses = await asyncio.gather(
        h.submit(known, **{"Idempotency-Key": "known"}),
        h.submit(other, **{"Idempotency-Key": "known"}),
        *(h.submit(b, **{"Idempotency-Key": f"fresh-{i}"}) for i, b in enumerate(fresh)),
    )

    again, reused = responses[0], responses[1]
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert reused.status_code == 409, reused.text
    assert [r.status_code for r in responses[2:]] == [201] * 6
    async with h.engine.connect() as conn:
        stored = (
            await conn.execute(
                select(plans.c.external_id).where(plans.c.centre == h.centre)
            )
        ).scalars()
        names = sorted(stored)
    assert names == sorted(["known", *(f"fresh-{n}" for n in range(6))])


async def test_a_group_costs_one_statement_per_table(harness: Harness) -> None:
    """Eight plans written together take as many statements as one plan does."""
    from sqlalchemy import event

    h = harness
    caller = Caller(client_id="c-test", kind=ClientKind.centre, scope=h.centre)
    now = h.clock.now()
    prepared = [
        plan_service.prepare_plan(
            h.ctx,
            PlanSubmission.model_validate(plan_body(h.centre)),
            caller,
            idempotency_key=None,
            fingerprint="f",
            now=now,
        )
        for _ in range(8)
    ]
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    async def written(plans: list[plan_service.PreparedPlan]) -> int:
        # Counted on this transaction's own connection: the harness's relay and watcher
        # run statements on the same engine meanwhile.
        statements.clear()
        async with h.engine.begin() as conn:
            sync = conn.sync_connection
            assert sync is not None
            event.listen(sync, "before_cursor_execute", count)
            try:
                await plan_service.write_plans(conn, plans)
            finally:
                event.remove(sync, "before_cursor_execute", count)
        return len(statements)

    one = await written(prepared[:1])
    many = await written(prepared[1:])
    assert many == one
    assert one <= 10
