"""The kandas application (order 170 p.6–31) through the real broker, both stores and the
mock e-government bus: registry facts with their sources, every hand-over signed and
verified, a return at p.9, each step's term stored and watched."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.amqp import STATUS_ROUTING_KEY, persistent_message
from contracts.cases import Decision, StepDecision, StepDecisionEnvelope
from gateway import deadline_watcher
from gateway.auth import ClientKind
from gateway.domain.flow import load_flow
from gateway.ids import new_uuid
from gateway.reports.digest import build_digests
from gateway.signatures import TrustAnchors
from gateway.store.tables import deadlines, events, handovers
from mocks.population import Population
from tests.conftest import AMQP_URL
from tests.integration.harness import Harness, eventually, start_harness
from tests.integration.test_registry_lookup import Bus, bus  # noqa: F401  (the mock bus)
from tests.kandas_signing import Official, TestAuthority

pytestmark = pytest.mark.integration

BODIES = {
    "cc_turkestan": "turkestan",
    "lmc_turkestan": "turkestan",
    "leb_turkestan": "turkestan",
    "cc_north_kazakhstan": "north_kazakhstan",
    "lmc_north_kazakhstan": "north_kazakhstan",
    "leb_north_kazakhstan": "north_kazakhstan",
}
RELATIONS = {"mother": "spouse", "child": "child", "ward": "child", "grandmother": "parent"}


@dataclass
class CardMember:
    iin: str
    last_name: str
    first_name: str
    middle_name: str | None
    relation: str


@dataclass
class CardFamily:
    members: list[CardMember]
    as_of: str = "2026-11-30T00:00:00+05:00"


class FakeCard:
    """The ЦКС as this flow asks it: a family by IIN (its adapter has its own tests)."""

    def __init__(self, population: Population) -> None:
        self.population = population
        self.down = False

    async def family(self, iin: str) -> CardFamily | None:
        if self.down:
            raise ConnectionError("ЦКС: connection refused")
        family = self.population.family_of(iin)
        if family is None:
            return None
        return CardFamily(
            [
                CardMember(m.iin, m.last_name, m.first_name, m.middle_name, m.role)
                for m in family.members
            ]
        )


@dataclass
class Chain:
    h: Harness
    population: Population
    officials: dict[tuple[str, str], Official]
    authority: TestAuthority
    card: FakeCard

    def official(self, body: str, role: str) -> Official:
        return self.officials[(body, role)]

    async def open(self, application: dict[str, Any], **headers: str) -> Any:
        return await self.h.http.post(
            "/api/v1/kandas/applications",
            json=application,
            headers={**self.h.auth("cc_turkestan"), **headers},
        )

    async def case(self, case_id: str, who: str = "cc_turkestan") -> dict[str, Any]:
        response = await self.h.http.get(f"/api/v1/cases/{case_id}", headers=self.h.auth(who))
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def publish(self, decision: StepDecision) -> None:
        envelope = StepDecisionEnvelope(
            message_id=new_uuid(),
            correlation_id=decision.case_id,
            occurred_at=datetime.now(UTC),
            payload=decision,
        )
        exchange = await self.h.channel.get_exchange(self.h.topology.status_exchange, ensure=False)
        await exchange.publish(
            persistent_message(
                envelope.model_dump_json().encode(),
                message_id=str(envelope.message_id),
                correlation_id=decision.case_id,
                message_type="case.decision",
            ),
            routing_key=STATUS_ROUTING_KEY,
        )


@pytest.fixture(scope="module")
def authority() -> TestAuthority:
    return TestAuthority()


@pytest.fixture
async def chain(
    engine: AsyncEngine,
    shared_amqp_prefix: str,
    bus: Bus,  # noqa: F811
    authority: TestAuthority,
) -> AsyncIterator[Chain]:
    from gateway.services.registry_lookup import ShepRegistryGateway

    registry = ShepRegistryGateway(bus.channel())
    card = FakeCard(bus.population)
    h, stop = await start_harness(
        engine,
        shared_amqp_prefix,
        AMQP_URL,
        centre=f"centre-{uuid.uuid4().hex[:8]}",
        reuse=True,
        registry=registry,
        trust=TrustAnchors.from_pem(authority.root_pem),
        family_card=card,
    )
    officials = {}
    for body, region in BODIES.items():
        h.keys[body] = await h.add_key(ClientKind.agency, body)
        for role in ("specialist", "head"):
            officials[(body, role)] = authority.official(body, role, region=region)
    yield Chain(h, bus.population, officials, authority, card)
    await stop()
    await registry.aclose()


def application_for(
    population: Population,
    family_index: int | None = None,
    applicant: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    family = (
        population.family_of(applicant) if applicant else population.families[family_index or 0]
    )
    assert family is not None
    head = next(m for m in family.members if m.iin == applicant) if applicant else family.members[0]
    members = [
        {"iin": m.iin, "relation": RELATIONS.get(m.role, "other")}
        for m in family.members
        if m.iin != head.iin
    ]
    return {
        "external_id": "КЦ-2026-0042",
        "departure_region": "turkestan",
        "settlement_region": "north_kazakhstan",
        "applicant_iin": head.iin,
        "members": members,
        "phone": "+77011234567",
        "consent": {"given": True, "signed_on": "2026-11-30", "document": "Согласие № 17"},
        **extra,
    }


async def _take_step(h: Harness, body: str) -> dict[str, Any]:
    (message,) = await h.take(body, 1)
    payload: dict[str, Any] = message["body"]["payload"]
    assert message["body"]["type"] == "case.step_assigned"
    assert payload["body"] == body
    return payload


DATA: dict[str, dict[str, Any]] = {
    "lmc_settlement": {"outcome": "interested"},
    "relocation": {
        "route": "Шымкент — Петропавловск",
        "relocation_date": "2026-12-20",
        "transport": "rail",
        "members_arriving": 2,
    },
    "kandas_confirm": {"quota_applied": True, "arrival_date": "2026-12-21", "housing": "none"},
}


async def test_application_goes_through_the_chain_with_a_return_at_p9(chain: Chain) -> None:
    h = chain.h
    opened = await chain.open(application_for(chain.population, 0))
    assert opened.status_code == 201, opened.text
    case = opened.json()
    case_id = case["id"]
    intake = case["intake"]
    assert intake["complete"] and not intake["missing"]
    applicant = case["application"]["applicant_iin"]
    identity = [f for f in intake["facts"] if f["fact"] == "identity" and f["subject"] == applicant]
    assert identity and identity[0]["source"] == "individuals"
    # The scans still needed each say why; attach them (p.6).
    needed = [s for s in intake["scans_needed"] if not s["provided"]]
    assert all(s["why"] for s in needed)
    if needed:
        attached = await h.http.post(
            f"/api/v1/cases/{case_id}/scans",
            json={
                "scans": [
                    {"fact": s["key"], "file_name": f"{s['key']}.pdf", "sha256": "a" * 64}
                    for s in needed
                ]
            },
            headers=h.auth("cc_turkestan"),
        )
        assert attached.status_code == 200, attached.text
    assert case["family_card"]["status"] == "fetched"

    flow = load_flow("kandas_application")
    walk = [
        ("cc_check", "cc_turkestan", Decision.forward, None),
        ("lmc_review", "lmc_turkestan", Decision.return_, "Уточнить сведения о родителях"),
        ("cc_check", "cc_turkestan", Decision.forward, None),
        ("lmc_review", "lmc_turkestan", Decision.forward, None),
        ("leb_departure", "leb_turkestan", Decision.forward, None),
        ("leb_settlement", "leb_north_kazakhstan", Decision.forward, None),
        ("lmc_settlement", "lmc_north_kazakhstan", Decision.forward, None),
        ("relocation", "lmc_north_kazakhstan", Decision.forward, None),
        ("cc_plan", "cc_north_kazakhstan", Decision.forward, None),
        ("kandas_confirm", "cc_north_kazakhstan", Decision.forward, None),
    ]
    rounds: dict[str, int] = {}
    for step, body, decision, remarks in walk:
        assigned = await _take_step(h, body)
        assert assigned["step"] == step
        assert assigned["round"] == rounds.get(step, 0)
        assert assigned["role"] == flow.step(step).role
        if step == "cc_check" and assigned["round"] == 1:
            assert assigned["remarks"] == "Уточнить сведения о родителях"
        rounds[step] = assigned["round"] + 1
        official = chain.official(body, assigned["role"])
        await chain.publish(
            official.decide(
                case_id, step, assigned["round"], decision, remarks=remarks, data=DATA.get(step, {})
            )
        )

    async def completed() -> bool:
        return bool((await chain.case(case_id))["status"] == "completed")

    await eventually(completed, timeout=15)
    case = await chain.case(case_id, who="cc_north_kazakhstan")
    assert [s["step"] for s in case["steps"]] == [w[0] for w in walk]
    assert all(s["handover"] is not None for s in case["steps"])
    assert case["steps"][1]["state"] == "returned"
    # Every step's term is stored, met at its hand-over.
    async with h.engine.connect() as conn:
        terms = (
            await conn.execute(
                select(deadlines).where(deadlines.c.plan_id == case_id, deadlines.c.kind == "step")
            )
        ).all()
        signed = (await conn.execute(select(handovers).where(handovers.c.plan_id == case_id))).all()
    assert len(terms) == len(walk) and all(t.met_at is not None for t in terms)
    three = next(t for t in terms if t.task_id == case["steps"][6]["id"])
    assert (three.due_at - three.starts_at) > timedelta(days=2)  # p.14: three working days
    assert len(signed) == len(walk)
    assert {json.loads(r.statement)["case_id"] for r in signed} == {case_id}
    verified = await h.http.get(
        f"/api/v1/cases/{case_id}/handovers/verification", headers=h.auth("cc_turkestan")
    )
    assert verified.json() == {
        "case_id": case_id,
        "handovers": len(walk),
        "verified": len(walk),
        "first_failure": None,
    }


async def _opened_at_cc_check(chain: Chain) -> tuple[str, dict[str, Any]]:
    opened = await chain.open(application_for(chain.population, 1))
    assert opened.status_code == 201, opened.text
    assigned = await _take_step(chain.h, "cc_turkestan")
    return opened.json()["id"], assigned


async def _decide_api(
    chain: Chain, case_id: str, step_id: str, decision: StepDecision, who: str
) -> Any:
    return await chain.h.http.post(
        f"/api/v1/cases/{case_id}/steps/{step_id}/decision",
        content=decision.model_dump_json(),
        headers={**chain.h.auth(who), "Content-Type": "application/json"},
    )


async def test_hand_overs_that_are_refused(chain: Chain) -> None:
    case_id, _ = await _opened_at_cc_check(chain)
    case = await chain.case(case_id)
    step_id = case["steps"][0]["id"]
    cc = chain.official("cc_turkestan", "specialist")

    # A body that does not own the step: 403.
    other = chain.official("lmc_turkestan", "head").decide(case_id, "cc_check", 0, Decision.forward)
    refused = await _decide_api(chain, case_id, step_id, other, "lmc_turkestan")
    assert refused.status_code == 403, refused.text

    # A return without remarks: 422 naming remarks.
    bare = cc.decide(case_id, "cc_check", 0, Decision.forward).model_dump(mode="json")
    bare["decision"] = "return"
    response = await chain.h.http.post(
        f"/api/v1/cases/{case_id}/steps/{step_id}/decision",
        json=bare,
        headers=chain.h.auth("cc_turkestan"),
    )
    assert response.status_code == 422 and "remarks" in response.text

    # Signed over other data: the remarks were changed after signing.
    signed = cc.decide(case_id, "cc_check", 0, Decision.refuse, remarks="Отказ заявителя")
    tampered = signed.model_copy(update={"remarks": "Другая причина"})
    response = await _decide_api(chain, case_id, step_id, tampered, "cc_turkestan")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "signature"

    # Signed by someone else: an official of another body, sent by the owner's system.
    stranger = chain.official("leb_turkestan", "specialist")
    foreign = stranger.decide(case_id, "cc_check", 0, Decision.forward).model_copy(
        update={"body": "cc_turkestan"}
    )
    response = await _decide_api(chain, case_id, step_id, foreign, "cc_turkestan")
    assert response.status_code == 422

    # Signed by a key no trusted authority issued.
    rogue = TestAuthority("Чужой УЦ").official("cc_turkestan", "specialist")
    response = await _decide_api(
        chain,
        case_id,
        step_id,
        rogue.decide(case_id, "cc_check", 0, Decision.forward),
        "cc_turkestan",
    )
    assert response.status_code == 422

    # Each refusal is on the timeline; the step is still open.
    case = await chain.case(case_id)
    assert case["steps"][0]["state"] in ("created", "dispatched")
    assert sum(1 for e in case["timeline"] if e["type"] == "handover_refused") == 3

    # A decision the step does not allow: cc_check cannot return.
    back = cc.decide(case_id, "cc_check", 0, Decision.return_, remarks="Назад")
    response = await _decide_api(chain, case_id, step_id, back, "cc_turkestan")
    assert response.status_code == 422 and "allows" in response.text

    # A forged report over AMQP from a stranger is refused and logged, not applied.
    await chain.publish(foreign)

    async def logged() -> bool:
        timeline = (await chain.case(case_id))["timeline"]
        return sum(1 for e in timeline if e["type"] == "handover_refused") == 4

    await eventually(logged)


async def test_forward_needs_what_the_step_requires(chain: Chain) -> None:
    case_id, _ = await _opened_at_cc_check(chain)
    case = await chain.case(case_id)
    # Drive the case to relocation through the API; the data of p.17 are required.
    steps = [
        ("cc_check", "cc_turkestan"),
        ("lmc_review", "lmc_turkestan"),
        ("leb_departure", "leb_turkestan"),
    ]
    for step, body in steps:
        case = await chain.case(case_id, who=body)
        current = case["steps"][-1]
        assert current["step"] == step
        official = chain.official(body, current["role"])
        response = await _decide_api(
            chain, case_id, current["id"], official.decide(case_id, step, 0, Decision.forward), body
        )
        assert response.status_code == 200, response.text
    case = await chain.case(case_id, who="leb_north_kazakhstan")
    current = case["steps"][-1]
    assert current["step"] == "leb_settlement"
    official = chain.official("leb_north_kazakhstan", "specialist")
    response = await _decide_api(
        chain,
        case_id,
        current["id"],
        official.decide(case_id, "leb_settlement", 0, Decision.forward),
        "leb_north_kazakhstan",
    )
    # The scans no registry holds were not attached: p.12 check refuses, naming them.
    needed = [s for s in case["intake"]["scans_needed"] if not s["provided"]]
    if needed:
        assert response.status_code == 422
        assert {e["field"] for e in response.json()["errors"]} >= {
            f"scans.{s['key']}" for s in needed
        }
    else:
        assert response.status_code == 200


async def test_each_step_term_warns_and_breaches(chain: Chain) -> None:
    case_id, _ = await _opened_at_cc_check(chain)
    h = chain.h
    async with h.engine.connect() as conn:
        (term,) = (
            await conn.execute(
                select(deadlines).where(deadlines.c.plan_id == case_id, deadlines.c.kind == "step")
            )
        ).all()
    result = await deadline_watcher.scan(h.engine, term.warn_at + timedelta(seconds=1))
    assert result.warnings >= 1
    result = await deadline_watcher.scan(h.engine, term.due_at + timedelta(seconds=1))
    assert result.breaches >= 1
    case = await chain.case(case_id)
    kinds = [e["type"] for e in case["timeline"] if e["task_id"] == case["steps"][0]["id"]]
    assert "deadline_warning" in kinds and "deadline_breached" in kinds
    # The daily digest goes to the body that owns the step, worded for order 170.
    digests = await build_digests(h.engine, term.due_at + timedelta(seconds=1))
    (mine,) = [d for d in digests if d.centre == "cc_turkestan"]
    assert [i.task_id for i in mine.items] == [case["steps"][0]["id"]]
    assert "заявлениям кандасов" in mine.subject and "приказу № 170" in mine.text
    assert case["steps"][0]["deadlines"][0]["state"] in ("breached", "on_time")


@pytest.mark.parametrize(
    "case",
    [
        "absent",
        "deceased",
        "guarded",
        "adopted",
        "fatherless",
        "unrecorded_birth",
        "temporary",
        "kandas_without_registration",
    ],
)
async def test_awkward_cases_of_the_population(chain: Chain, case: str) -> None:
    """Each of the population's awkward cases, with the outcome the application shows."""
    pop = chain.population
    if case == "absent":
        body = application_for(pop, 0)
        body["members"].append({"iin": pop.absent_iin, "relation": "child"})
        response = await chain.open(body)
        assert response.status_code == 422
        index = len(body["members"]) - 1
        assert response.json()["errors"] == [
            {
                "field": f"members[{index}].iin",
                "reason": "not found in the individuals registry (ГБД ФЛ)",
            }
        ]
        return
    iin = {
        "deceased": pop.deceased_iin,
        "guarded": pop.guarded_child_iin,
        "adopted": pop.adopted_child_iin,
        "fatherless": pop.fatherless_child_iin,
        "unrecorded_birth": pop.unrecorded_birth_iin,
        "temporary": pop.temporary_iin,
        "kandas_without_registration": pop.kandas_without_registration_iin,
    }[case]
    family = pop.family_of(iin)
    assert family is not None
    adult = next(m for m in family.members if m.iin != iin and m.birth_date < date(2008, 1, 1))
    applicant = iin if case == "kandas_without_registration" else adult.iin
    response = await chain.open(application_for(pop, applicant=applicant))
    assert response.status_code == 201, response.text
    intake = response.json()["intake"]
    outcomes = {(o["subject"], o["kind"]) for o in intake["outcomes"]}
    facts = {(f["subject"], f["fact"]): f for f in intake["facts"]}
    scans = {s["key"]: s for s in intake["scans_needed"]}
    people = {p["iin"]: p for p in intake["people"]}
    if case == "deceased":
        assert (iin, "deceased") in outcomes and people[iin]["included"] is False
    elif case == "guarded":
        assert (iin, "under_guardianship") in outcomes
        assert facts[(iin, "guardianship")]["source"] == "guardianship"
    elif case == "adopted":
        assert (iin, "adopted") in outcomes
        assert facts[(iin, "adoption")]["source"] == "supreme_court"
        assert f"birth:{iin}" not in scans  # the court's decision replaces the certificate
    elif case == "fatherless":
        assert facts[(iin, "birth")]["source"] == "civil_registry"
    elif case == "unrecorded_birth":
        assert (iin, "birth") not in facts
        assert "ЗАГС" in scans[f"birth:{iin}"]["why"]
    elif case == "temporary":
        assert facts[(iin, "temporary_registration")]["source"] == "migration_police"
    elif case == "kandas_without_registration":
        assert (iin, "no_permanent_registration") in outcomes
        assert (iin, "permanent_registration") not in facts


async def test_a_registry_that_is_down_leaves_the_application_waiting(
    chain: Chain,
    bus: Bus,  # noqa: F811
) -> None:
    h = chain.h
    async with httpx.AsyncClient(base_url=bus.server.base_url + "/__admin") as admin:
        rule = await admin.post(
            "/faults",
            json={"service": "ZAGS_BirthRecords", "kind": "http_error", "status": 503},
        )
        assert rule.status_code == 201, rule.text
        try:
            response = await chain.open(application_for(chain.population, 2))
        finally:
            (await admin.post("/reset")).raise_for_status()
    assert response.status_code == 201, response.text
    case = response.json()
    assert not case["intake"]["complete"]
    assert {m["registry"] for m in case["intake"]["missing"]} == {"civil_registry"}
    # p.8 cannot be handed on while a registry owes facts.
    cc = chain.official("cc_turkestan", "specialist")
    step_id = case["steps"][0]["id"]
    refused = await _decide_api(
        chain,
        case["id"],
        step_id,
        cc.decide(case["id"], "cc_check", 0, Decision.forward),
        "cc_turkestan",
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "intake.missing.civil_registry"
    # The follow-up asks again, later (a fresh client: the breaker of the first one is
    # still cooling down after the failures), and the facts arrive.
    from gateway.services import kandas_intake
    from gateway.services.registry_lookup import ShepRegistryGateway

    later = ShepRegistryGateway(bus.channel())
    try:
        changed = await kandas_intake.refresh(h.engine, later, chain.card, datetime.now(UTC))
    finally:
        await later.aclose()
    assert changed == 1
    case = await chain.case(case["id"])
    assert case["intake"]["complete"]
    async with h.engine.connect() as conn:
        types = (
            (await conn.execute(select(events.c.type).where(events.c.plan_id == case["id"])))
            .scalars()
            .all()
        )
    assert "facts_refreshed" in types


async def test_every_step_term_warns_at_three_quarters_and_breaches_at_its_end(
    chain: Chain,
) -> None:
    """An injected clock walks the case through the chain, past each step's warning point
    and its end; the watcher records both, on the step, once each."""
    h = chain.h
    opened = await chain.open(application_for(chain.population, 0))
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    needed = [s for s in opened.json()["intake"]["scans_needed"] if not s["provided"]]
    if needed:
        await h.http.post(
            f"/api/v1/cases/{case_id}/scans",
            json={
                "scans": [
                    {"fact": s["key"], "file_name": "scan.pdf", "sha256": "b" * 64} for s in needed
                ]
            },
            headers=h.auth("cc_turkestan"),
        )
    flow = load_flow("kandas_application")
    seen: list[str] = []
    while True:
        case = await chain.case(case_id)
        if case["status"] != "active":
            break
        current = case["steps"][-1]
        async with h.engine.connect() as conn:
            (term,) = (
                await conn.execute(select(deadlines).where(deadlines.c.task_id == current["id"]))
            ).all()
        # Before the warning point nothing; past it a warning; past the end a breach.
        assert (
            await deadline_watcher.scan(h.engine, term.warn_at - timedelta(seconds=1))
        ) == deadline_watcher.ScanResult(0, 0)
        warned = await deadline_watcher.scan(h.engine, term.warn_at + timedelta(seconds=1))
        breached = await deadline_watcher.scan(h.engine, term.due_at + timedelta(seconds=1))
        assert (warned.warnings, breached.breaches) == (1, 1), current["step"]
        h.clock.set(term.due_at + timedelta(seconds=2))
        body = current["body"]
        official = chain.official(body, flow.step(current["step"]).role)
        decision = official.decide(
            case_id,
            current["step"],
            current["round"],
            Decision.forward,
            data=DATA.get(current["step"], {}),
            signed_at=h.clock.now(),
        )
        response = await _decide_api(chain, case_id, current["id"], decision, body)
        assert response.status_code == 200, response.text
        seen.append(current["step"])
        step = (await chain.case(case_id, who=body))["steps"][len(seen) - 1]
        kinds = [
            e["type"]
            for e in (await chain.case(case_id, who=body))["timeline"]
            if e["task_id"] == step["id"]
        ]
        assert kinds.count("deadline_warning") == 1 and kinds.count("deadline_breached") == 1
        assert step["deadlines"][0]["state"] == "breached"  # met after its end
    assert seen == [
        "cc_check",
        "lmc_review",
        "leb_departure",
        "leb_settlement",
        "lmc_settlement",
        "relocation",
        "cc_plan",
        "kandas_confirm",
    ]
