"""The mock ЦКС in-process (ASGI): same people as the registries, a history that agrees
with them and with itself, deterministic from the seed, and the contract's refusals."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from contracts.clock import ALMATY
from contracts.family_card import (
    FAMILY_LOOKUP_PATH,
    STATUS_CHANGES_PATH,
    CardFamily,
    Relation,
    StatusChange,
    StatusChangeFeed,
    StatusFact,
)
from mocks.admin import MockAdmin
from mocks.family_card import HISTORY_STARTS, create_app
from mocks.population import Population, generate_population

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=ALMATY)
POPULATION = generate_population(42)


def app_client(population: Population = POPULATION, now: datetime = NOW) -> httpx.AsyncClient:
    admin = MockAdmin()
    admin.clock.set(now)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(population, admin)), base_url="http://card"
    )


@pytest.fixture
async def card() -> AsyncIterator[httpx.AsyncClient]:
    async with app_client() as client:
        yield client


async def feed(
    client: httpx.AsyncClient, iins: list[str], first: date, last: date
) -> StatusChangeFeed:
    response = await client.post(
        STATUS_CHANGES_PATH,
        json={"iins": iins, "period_from": first.isoformat(), "period_to": last.isoformat()},
    )
    assert response.status_code == 200, response.text
    return StatusChangeFeed.model_validate_json(response.content)


async def history(client: httpx.AsyncClient, population: Population) -> list[StatusChange]:
    """Everything since the social history starts, in queries of a year at most."""
    iins = [m.iin for f in population.families for m in f.members]
    changes: list[StatusChange] = []
    first = HISTORY_STARTS
    while first <= NOW.date():
        last = min(first + timedelta(days=365), NOW.date())
        answer = await feed(client, iins, first, last)
        changes += [c for f in answer.families for c in f.changes]
        first = last + timedelta(days=1)
    return changes


async def test_the_same_seed_gives_the_same_answer() -> None:
    iins = [m.iin for f in POPULATION.families for m in f.members]
    async with app_client() as one, app_client() as two:
        first = await feed(one, iins, date(2026, 1, 1), date(2026, 9, 30))
        second = await feed(two, iins, date(2026, 1, 1), date(2026, 9, 30))
    assert first == second and sum(len(f.changes) for f in first.families) > 0
    other = generate_population(7)
    async with app_client(other) as three:
        answer = await feed(three, iins[:5], date(2026, 1, 1), date(2026, 9, 30))
    assert answer.families == [] and answer.unknown_iins == iins[:5]  # other people entirely


async def test_families_and_iins_are_the_populations(card: httpx.AsyncClient) -> None:
    family = POPULATION.families[2]
    answer = await feed(card, [m.iin for m in family.members], date(2026, 7, 1), date(2026, 9, 30))
    assert [(f.family_id, f.iins) for f in answer.families] == [
        (family.id, [m.iin for m in family.members])
    ]


async def test_each_status_follows_from_the_last(card: httpx.AsyncClient) -> None:
    changes = await history(card, POPULATION)
    assert len(changes) > len(POPULATION.families)  # more than one change a family on average
    last: dict[tuple[str, StatusFact, str | None], str] = {}
    for change in sorted(changes, key=lambda c: (c.effective_on, c.recorded_at, c.id)):
        if change.fact is StatusFact.composition:
            continue
        key = (change.family_id, change.fact, change.member_iin)
        if key in last:
            assert change.from_status == last[key], change
        assert change.from_status != change.to_status
        last[key] = change.to_status
        assert change.recorded_at.date() >= change.effective_on
        assert change.recorded_at <= NOW


async def test_changes_agree_with_the_registries(card: httpx.AsyncClient) -> None:
    p = POPULATION
    people = {m.iin: m for f in p.families for m in f.members}
    family_of = {m.iin: f.id for f in p.families for m in f.members}
    changes = await history(card, p)
    for change in changes:
        if change.member_iin is not None:
            assert family_of[change.member_iin] == change.family_id
        if change.fact is StatusFact.employment:
            person = people[change.member_iin or ""]
            assert person.death_date is None or person.death_date > change.effective_on
            age = (change.effective_on - person.birth_date).days // 365
            assert 18 <= age < 64
        if change.fact is StatusFact.housing:
            assert change.family_id != family_of[p.kandas_without_registration_iin]

    # The civil registry's acts, by their own dates, from a period that holds them.
    birth = next(b for b in p.births if b.child_iin in people)
    child = people[birth.child_iin]
    around = await feed(
        card,
        [child.iin],
        child.birth_date - timedelta(days=5),
        child.birth_date + timedelta(days=40),
    )
    births = [
        c
        for f in around.families
        for c in f.changes
        if c.fact is StatusFact.composition and c.member_iin == child.iin
    ]
    assert [(c.effective_on, c.recorded_at.date(), c.reported_by) for c in births] == [
        (child.birth_date, birth.registered, "ЗАГС")
    ]
    decision = p.guardianships[0]
    around = await feed(
        card, [decision.child_iin], decision.decided, decision.decided + timedelta(days=1)
    )
    assert any(
        c.reported_by == "Орган опеки и попечительства" and c.effective_on == decision.decided
        for f in around.families
        for c in f.changes
    )


async def test_the_card_knows_only_what_it_recorded_by_its_clock() -> None:
    iins = [m.iin for f in POPULATION.families for m in f.members]
    q3 = (date(2026, 7, 1), date(2026, 9, 30))
    async with app_client(now=NOW) as late:
        everything = await feed(late, iins, *q3)
    mid = datetime(2026, 8, 15, 12, 0, tzinfo=ALMATY)
    async with app_client(now=mid) as early:
        so_far = await feed(early, iins, *q3)
    assert so_far.as_of == mid
    all_changes = [c for f in everything.families for c in f.changes]
    seen = [c for f in so_far.families for c in f.changes]
    assert seen == [c for c in all_changes if c.recorded_at <= mid]
    assert len(seen) < len(all_changes)


async def test_the_lookup_and_its_current_statuses(card: httpx.AsyncClient) -> None:
    p = POPULATION
    kandas = p.kandas_without_registration_iin
    response = await card.post(FAMILY_LOOKUP_PATH, json={"iin": kandas})
    assert response.status_code == 200, response.text
    family = CardFamily.model_validate_json(response.content)
    assert family.iin == kandas and family.as_of == NOW
    assert [m.relation for m in family.members if m.iin == kandas] == [Relation.self]
    housing = [s.status for s in family.statuses if s.fact is StatusFact.housing]
    assert housing == ["центр адаптации кандасов"]

    grandmother = await card.post(FAMILY_LOOKUP_PATH, json={"iin": p.deceased_iin})
    relations = {m["relation"] for m in grandmother.json()["members"]}
    assert {"self", "child"} <= relations

    missing = await card.post(FAMILY_LOOKUP_PATH, json={"iin": p.absent_iin})
    assert missing.status_code == 404
    assert missing.json()["errors"] == [{"field": "iin", "reason": "no family in the card for it"}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"iins": ["123"], "period_from": "2026-07-01", "period_to": "2026-09-30"}, "iins[0]"),
        ({"iins": [], "period_from": "2026-07-01", "period_to": "2026-09-30"}, "iins"),
        ({"period_from": "2026-07-01", "period_to": "2026-09-30"}, "iins"),
        ({"iins": ["@"], "period_to": "2026-09-30"}, "period_from"),
    ],
)
async def test_a_bad_query_is_refused_naming_the_field(
    card: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    if body.get("iins") == ["@"]:
        body["iins"] = [POPULATION.families[0].members[0].iin]
    response = await card.post(STATUS_CHANGES_PATH, json=body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]], response.text


async def test_a_period_backwards_or_too_long_and_repeated_iins_are_refused(
    card: httpx.AsyncClient,
) -> None:
    iin = POPULATION.families[0].members[0].iin
    cases = [
        ([iin], "2026-09-30", "2026-07-01", "period_to is before period_from"),
        ([iin], "2025-01-01", "2026-09-30", "longer than 366 days"),
        ([iin, iin], "2026-07-01", "2026-09-30", "each IIN once"),
    ]
    for iins, first, last, reason in cases:
        response = await card.post(
            STATUS_CHANGES_PATH, json={"iins": iins, "period_from": first, "period_to": last}
        )
        assert response.status_code == 422 and reason in response.text, response.text


async def test_faults_are_injected_by_route_name(card: httpx.AsyncClient) -> None:
    rule = await card.post(
        "/__admin/faults",
        json={"service": "families.lookup", "kind": "http_error", "status": 503, "times": 1},
    )
    assert rule.status_code == 201
    iin = POPULATION.families[0].members[0].iin
    assert (await card.post(FAMILY_LOOKUP_PATH, json={"iin": iin})).status_code == 503
    assert (await card.post(FAMILY_LOOKUP_PATH, json={"iin": iin})).status_code == 200
    counts: dict[str, int] = defaultdict(int)
    for record in (await card.get("/__admin/requests")).json()["requests"]:
        counts[record["service"]] += 1
    assert counts["families.lookup"] == 2
