"""The proactive check of targeted social assistance (order 109 p.12–18) on both stores,
against the mock e-government bus and its registries of the same synthetic population.

Every fact of p.13 is asked of the registry that holds it, each query with its purpose
and legal ground (in the case, in the access log and on the bus's own journal); the
per-capita income is compared with the configured poverty line; the family is told
through the outbox and a specialist of the employment centre gets the case with its
term; a registry that fails leaves its fact named as missing and no conclusion.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.shep import AspFactsClient, QueryGround
from contracts.amqp import Topology
from gateway.agencies import load_agencies
from gateway.domain.targeted_assistance import load_config
from gateway.services import proactive_assistance
from gateway.services.context import Context
from gateway.services.registry_lookup import ShepRegistryGateway
from gateway.store.tables import access_log, outbox, plans, tasks
from gateway.workdays import default_calendar
from mocks.shep.asp_registries import AspFacts
from tests.integration.test_registry_lookup import Bus, bus  # noqa: F401  (the mock bus)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 10, 9, 5, 0, tzinfo=UTC)  # 10:00 in Almaty; the period is Jul–Sep 2026
MONTHS = [date(2026, 7, 1), date(2026, 8, 1), date(2026, 9, 1)]


def _ground(fact: str) -> QueryGround:
    q = load_config().queries[fact]
    return QueryGround(q["purpose"], q["legal_ground"])


@pytest.fixture
async def registries(bus: Bus) -> AsyncIterator[tuple[AspFactsClient, ShepRegistryGateway]]:  # noqa: F811
    gateway = ShepRegistryGateway(bus.channel())
    yield AspFactsClient(gateway.channel), gateway
    await gateway.aclose()


def _ctx() -> Context:
    agencies = load_agencies()
    return Context(default_calendar(), agencies, Topology("t-asp", agencies.enabled_codes()))


async def _check(
    engine: AsyncEngine,
    registries: tuple[AspFactsClient, ShepRegistryGateway],
    members: list[str],
) -> str:
    asp, police = registries
    facts, queries = await proactive_assistance.gather(
        asp, police, members, ground_of=_ground, now=NOW
    )
    async with engine.begin() as conn:
        return await proactive_assistance.open_check(
            conn,
            _ctx(),
            centre="czn_karaganda",
            applicant_iin=members[0],
            members=members,
            phone="+77011234567",
            facts=facts,
            queries=queries,
            caller_id="client-czn",
            actor="agency:czn_karaganda",
            now=NOW,
        )


def _family(bus: Bus, family_id: str) -> list[str]:  # noqa: F811
    family = next(f for f in bus.population.families if f.id == family_id)
    return [m.iin for m in family.members if not m.deceased]


async def _case(engine: AsyncEngine, case_id: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(select(plans).where(plans.c.id == case_id))).one()


async def test_a_poor_family_is_found_eligible_from_the_registries_alone(
    engine: AsyncEngine,
    bus: Bus,  # noqa: F811
    registries: tuple[AspFactsClient, ShepRegistryGateway],
) -> None:
    members = _family(bus, "F0013")
    case_id = await _check(engine, registries, members)
    case = await _case(engine, case_id)
    result = case.family["assessment"]
    facts = AspFacts(bus.population)
    income = sum(facts.monthly_income(iin, month) for iin in members for month in MONTHS)
    assert result["concluded"] is True
    assert result["income_total"] == income
    assert result["per_capita_income"] == income // 3 // len(members)
    threshold = load_config().threshold
    assert result["poverty_line"] == threshold.subsistence_minimum * 70 // 100
    assert result["eligible_by_income"] is (result["per_capita_income"] < result["poverty_line"])
    assert result["eligible_by_income"] is True
    assert result["threshold"]["sources"] and result["threshold"]["formula"].startswith(
        "per_capita"
    )
    assert any(a["fact"] == "real_estate" for a in result["assets"])  # the family's home

    # Six facts for each member, each with its purpose and legal ground.
    assert len(case.family["queries"]) == 6 * len(members)
    assert all(
        q["status"] == "answered" and q["legal_ground"].startswith("Приказ МТСЗН РК № 109")
        for q in case.family["queries"]
    )
    async with engine.connect() as conn:
        logged = (
            await conn.execute(select(access_log.c.action).where(access_log.c.plan_id == case_id))
        ).all()
        notices = (
            await conn.execute(select(outbox.c.message_type).where(outbox.c.plan_id == case_id))
        ).all()
        step = (await conn.execute(select(tasks).where(tasks.c.plan_id == case_id))).one()
    assert len(logged) == 6 * len(members)
    assert sorted(n.message_type for n in notices) == ["portal.cabinet", "portal.sms"]
    assert step.agency == "czn_karaganda" and step.step == "review"

    # The bus saw why: purpose and legal ground on the request itself.
    async with httpx.AsyncClient(base_url=bus.server.base_url) as http:
        journal = (
            await http.get("/__admin/requests", params={"service": "ENPF_PensionContributions"})
        ).json()
    assert any(
        "legalGround" in r["request"] and "п.13" in r["request"] for r in journal["requests"]
    )


async def test_a_family_with_income_above_the_line_is_not_eligible(
    engine: AsyncEngine,
    bus: Bus,  # noqa: F811
    registries: tuple[AspFactsClient, ShepRegistryGateway],
) -> None:
    case = await _case(engine, await _check(engine, registries, _family(bus, "F0008")))
    assert case.family["assessment"]["concluded"] is True
    assert case.family["assessment"]["eligible_by_income"] is False


async def test_a_failing_registry_names_the_missing_fact_and_concludes_nothing(
    engine: AsyncEngine,
    bus: Bus,  # noqa: F811
    registries: tuple[AspFactsClient, ShepRegistryGateway],
) -> None:
    async with httpx.AsyncClient(base_url=bus.server.base_url + "/__admin") as admin:
        rule = {"service": "ENPF_PensionContributions", "kind": "soap_fault", "code": "ESRV002"}
        assert (await admin.post("/faults", json=rule)).status_code == 201
        try:
            case_id = await _check(engine, registries, _family(bus, "F0001"))
        finally:
            await admin.delete("/faults")
    case = await _case(engine, case_id)
    result = case.family["assessment"]
    assert result["concluded"] is False
    assert "per_capita_income" not in result
    assert {m["fact"] for m in result["missing"]} == {"pension_contributions"}
    assert all(m["source"] == "ЕНПФ" for m in result["missing"])
    async with engine.connect() as conn:
        notices = (
            await conn.execute(select(outbox.c.message_type).where(outbox.c.plan_id == case_id))
        ).all()
    assert notices == []  # nothing concluded, nothing told
    assert json.dumps(case.family["facts"]).count("failed") == 2
