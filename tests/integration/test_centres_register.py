"""The register of family support centres, on both stores: no centre key and no new plan for
a centre that is not (or no longer) in it, nothing accepted lost, the register itself for
admins only, each addition an interagency audit record that verifies."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from contracts.clock import SystemClock
from contracts.messages import ReportStatus
from contracts.plans import PlanSubmission
from gateway.agencies import load_agencies
from gateway.audit_sealer import checkpoint, seal
from gateway.audit_verify import verify
from gateway.auth import Caller, ClientKind
from gateway.bootstrap import DEMO_CENTRE, ensure_dev_credentials
from gateway.cli import app
from gateway.errors import Forbidden
from gateway.services import centres, clients
from gateway.services import plans as plan_service
from gateway.store.tables import api_clients, audit_log, events, outbox, plans, tasks
from gateway.store.tables import centres as register
from tests.integration.harness import Harness, eventually, plan_body

pytestmark = pytest.mark.integration


def _code() -> str:
    return f"c-{uuid.uuid4().hex[:8]}"


async def _add_centre(h: Harness, code: str, who: str = "admin") -> httpx.Response:
    body = {"code": code, "name_ru": f"ЦПС {code}", "name_kk": f"{code} орталығы"}
    return await h.http.post("/api/v1/centres", json=body, headers=h.auth(who))


async def _new_centre_key(h: Harness, code: str) -> httpx.Response:
    return await h.http.post(
        "/api/v1/clients",
        json={"name": "ЦПС", "kind": "centre", "scope": code},
        headers=h.auth("admin"),
    )


async def _rows(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            t.name: (await conn.execute(select(func.count()).select_from(t))).scalar_one()
            for t in (plans, tasks, outbox, events)
        }


async def test_the_api_refuses_a_key_for_a_centre_not_in_the_register(harness: Harness) -> None:
    h = harness
    code = _code()
    refused = await _new_centre_key(h, code)
    assert refused.status_code == 422, refused.text
    (error,) = refused.json()["errors"]
    assert error["field"] == "scope" and "not in the register" in error["reason"]
    assert code in error["reason"]

    added = await _add_centre(h, code)
    assert added.status_code == 201, added.text
    assert added.json()["closed_at"] is None and added.json()["added_by"].startswith("admin:")
    issued = await _new_centre_key(h, code)
    assert issued.status_code == 201, issued.text
    again = await _add_centre(h, code)
    assert again.status_code == 409

    async with h.engine.begin() as conn:
        await centres.close_centre(conn, code, actor="test", now=h.clock.now())
    closed = await _new_centre_key(h, code)
    assert closed.status_code == 422
    (error,) = closed.json()["errors"]
    assert error["field"] == "scope" and "closed" in error["reason"]


async def test_the_cli_refuses_a_key_for_an_unknown_centre_and_keeps_the_register(
    engine: AsyncEngine, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", store_url)
    runner = CliRunner()

    def run(*args: str) -> Awaitable[Any]:
        return asyncio.to_thread(runner.invoke, app, list(args))

    code = _code()
    key = ("clients", "add", "--name", "ЦПС", "--kind", "centre", "--scope", code)
    refused = await run(*key)
    assert refused.exit_code == 2, refused.output
    assert "scope" in refused.stderr and "not in the register" in refused.stderr
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(api_clients))).scalar() == 0

    added = await run("centres", "add", code, "--name-ru", "ЦПС района", "--name-kk", "Орталық")
    assert added.exit_code == 0, added.output
    listed = await run("centres", "list")
    assert listed.exit_code == 0 and code in listed.output and "ЦПС района" in listed.output
    issued = await run(*key)
    assert issued.exit_code == 0, issued.output
    assert issued.stdout.strip().startswith("gw_")
    twice = await run("centres", "add", code, "--name-ru", "x", "--name-kk", "y")
    assert twice.exit_code == 2 and "already in the register" in twice.stderr
    bad = await run("centres", "add", "Not A Code", "--name-ru", "x", "--name-kk", "y")
    assert bad.exit_code == 2 and "code" in bad.stderr

    closed = await run("centres", "close", code)
    assert closed.exit_code == 0, closed.output
    assert "closed" in (await run("centres", "list")).output
    after = await run(*key)
    assert after.exit_code == 2 and "closed" in after.stderr
    unknown = await run("centres", "close", "no-such-centre")
    assert unknown.exit_code == 3


async def test_a_plan_from_a_closed_or_absent_centre_is_refused_and_nothing_is_written(
    harness: Harness,
) -> None:
    h = harness
    body = plan_body(h.centre)
    accepted = await h.submit(body, **{"Idempotency-Key": "first"})
    assert accepted.status_code == 201, accepted.text
    plan_id = accepted.json()["id"]

    async def all_sent() -> bool:
        return {t["state"] for t in (await h.plan(plan_id))["tasks"]} == {"dispatched"}

    await eventually(all_sent, what="the accepted plan's tasks sent")  # the relay is done
    async with h.engine.begin() as conn:
        await centres.close_centre(conn, h.centre, actor="test", now=h.clock.now())
    before = await _rows(h.engine)

    refused = await h.submit()
    assert refused.status_code == 403, refused.text
    detail = refused.json()["detail"]
    assert "not in the register" in detail and h.centre in detail
    # Concurrent submits share a group: the refused ones leave it, nothing of them written.
    group = await asyncio.gather(*(h.submit() for _ in range(4)))
    assert {r.status_code for r in group} == {403}
    assert await _rows(h.engine) == before

    # Nothing accepted is lost: the plan is read, its retry answered, its tasks go on.
    assert (await h.plan(plan_id))["id"] == plan_id
    retried = await h.submit(body, **{"Idempotency-Key": "first"})
    assert retried.status_code == 200 and retried.json()["id"] == plan_id
    health = next(t["id"] for t in accepted.json()["tasks"] if t["agency"] == "health")
    await h.report(health, "health", ReportStatus.received, plan_id=plan_id)

    async def received() -> bool:
        states = {t["id"]: t["state"] for t in (await h.plan(plan_id))["tasks"]}
        return bool(states[health] == "delivered")

    await eventually(received, what="the body's report on the closed centre's plan")

    # A centre that is not in the register at all (its row gone): the same refusal, also
    # on the one-by-one path a failed group falls back to.
    async with h.engine.begin() as conn:
        await conn.execute(delete(register).where(register.c.code == h.centre))
    assert (await h.submit()).status_code == 403
    caller = Caller(client_id="c-test", kind=ClientKind.centre, scope=h.centre)
    with pytest.raises(Forbidden, match="not in the register"):
        async with h.engine.begin() as conn:
            await plan_service.submit_plan(
                conn,
                h.ctx,
                PlanSubmission.model_validate(plan_body(h.centre)),
                caller,
                idempotency_key=None,
                now=h.clock.now(),
            )
    assert (await _rows(h.engine))["plans"] == before["plans"]


async def test_a_registered_centre_and_an_absent_one_in_one_group(harness: Harness) -> None:
    h = harness
    ghost = _code()
    h.keys["ghost"] = await h.add_key(ClientKind.centre, ghost)
    async with h.engine.begin() as conn:
        await conn.execute(delete(register).where(register.c.code == ghost))
    ours, theirs = await asyncio.gather(
        h.submit(),
        h.http.post("/api/v1/plans", json=plan_body(ghost), headers=h.auth("ghost")),
    )
    assert ours.status_code == 201 and theirs.status_code == 403
    async with h.engine.connect() as conn:
        stored = set((await conn.execute(select(plans.c.centre))).scalars())
    assert stored == {h.centre}


async def test_the_centres_api_refuses_a_key_that_is_not_an_admins(harness: Harness) -> None:
    h = harness
    for who in ("centre", "health"):
        listed = await h.http.get("/api/v1/centres", headers=h.auth(who))
        assert listed.status_code == 403, (who, listed.text)
        added = await _add_centre(h, _code(), who=who)
        assert added.status_code == 403, (who, added.text)
        assert added.headers["content-type"] == "application/problem+json"
    assert (await h.http.get("/api/v1/centres")).status_code == 401
    listed = await h.http.get("/api/v1/centres", headers=h.auth("admin"))
    assert listed.status_code == 200
    assert [c["code"] for c in listed.json()] == [h.centre]  # nothing added by the refused


async def test_adding_a_centre_is_an_audit_record_and_the_log_verifies(harness: Harness) -> None:
    h = harness
    code = _code()
    assert (await _add_centre(h, code)).status_code == 201
    async with h.engine.begin() as conn:
        await centres.close_centre(conn, code, actor="operator:cli", now=h.clock.now())
        await centres.close_centre(conn, code, actor="operator:cli", now=h.clock.now())
    assert (await _add_centre(h, code)).status_code == 201  # reopened
    async with h.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(audit_log.c.action, audit_log.c.actor, audit_log.c.data)
                .where(audit_log.c.action.like("centre_%"))
                .order_by(audit_log.c.id)
            )
        ).all()
    mine = [r for r in rows if r.data["centre"] == code]
    assert [r.action for r in mine] == ["centre_added", "centre_closed", "centre_added"]
    assert mine[0].actor.startswith("admin:") and mine[0].data["name_ru"] == f"ЦПС {code}"
    assert mine[0].data["reopened"] is False and mine[2].data["reopened"] is True
    key = Ed25519PrivateKey.generate()
    assert await seal(h.engine) > 0
    assert await checkpoint(h.engine, key, SystemClock().now()) is not None
    verdict = await verify(h.engine, key.public_key())
    assert verdict.intact, verdict


async def test_the_workspace_names_the_centre_from_the_register(engine: AsyncEngine) -> None:
    now = SystemClock().now()
    async with engine.begin() as conn:
        await centres.add_centre(
            conn, code="c-named", name_ru="ЦПС Сарыарка", name_kk="Сарыарқа ОҚО", actor="t", now=now
        )
        assert await clients.centre_name(conn, "c-named") == "ЦПС Сарыарка"
        assert await clients.centre_name(conn, "c-named", "kk") == "Сарыарқа ОҚО"
        # A centre known only by a key (before the register): the key's name, as before.
        await conn.execute(
            insert(api_clients).values(
                id="legacy",
                name="ЦПС по ключу",
                kind="centre",
                scope="c-legacy",
                key_prefix="gw_legacy",
                key_hash="x",
                created_at=now,
                disabled=False,
            )
        )
        assert await clients.centre_name(conn, "c-legacy") == "ЦПС по ключу"


async def test_the_bootstrap_registers_the_demo_centre_once(
    engine: AsyncEngine, tmp_path: Any
) -> None:
    path = tmp_path / "credentials.json"
    first = await ensure_dev_credentials(engine, load_agencies(), path, "http://127.0.0.1:1")
    async with engine.begin() as conn:  # an operator closed it: the next start reopens it
        await centres.close_centre(conn, DEMO_CENTRE, actor="t", now=SystemClock().now())
    again = await ensure_dev_credentials(engine, load_agencies(), path, "http://127.0.0.1:1")
    third = await ensure_dev_credentials(engine, load_agencies(), path, "http://127.0.0.1:1")
    assert first["centres"] == again["centres"] == third["centres"]
    async with engine.connect() as conn:
        demo = await centres.get_centre(conn, DEMO_CENTRE)
        added = (
            await conn.execute(
                select(func.count())
                .select_from(audit_log)
                .where(audit_log.c.action == "centre_added")
            )
        ).scalar_one()
        caller = await clients.authenticate(conn, first["centres"][DEMO_CENTRE])
    assert demo is not None and demo.open and demo.name_kk
    assert added == 2  # added at the first start, reopened at the second, not at the third
    assert caller is not None and caller.scope == DEMO_CENTRE


async def test_the_upgrade_registers_every_centre_the_store_already_knows(
    engine: AsyncEngine,
) -> None:
    """Nothing accepted before the register existed is refused after the upgrade: the
    migration registers each centre with a key (by its key's name) or with a plan."""
    from alembic import command

    from gateway.store.migrate import alembic_config, upgrade

    def down(connection: object) -> None:
        config = alembic_config(str(engine.url))
        config.attributes["connection"] = connection
        command.downgrade(config, "0010")

    async with engine.begin() as conn:
        await conn.run_sync(down)
    now = SystemClock().now()
    async with engine.begin() as conn:
        await conn.execute(
            insert(api_clients).values(
                id="k1",
                name="ЦПС Алатауского района",
                kind="centre",
                scope="almaty-alatau",
                key_prefix="gw_k1",
                key_hash="x",
                created_at=now,
                disabled=False,
            )
        )
        await conn.execute(
            insert(plans).values(
                id="p1",
                centre="shymkent-1",
                status="active",
                approved_at=now,
                created_at=now,
                family={},
                grounds=[],
                created_by="k0",
            )
        )
    await upgrade(engine)
    async with engine.connect() as conn:
        known = {c.code: c for c in await centres.list_centres(conn)}
    assert set(known) == {"almaty-alatau", "shymkent-1"}
    assert known["almaty-alatau"].name_ru == "ЦПС Алатауского района"
    assert known["shymkent-1"].open and known["shymkent-1"].added_by == "migration:0011"
