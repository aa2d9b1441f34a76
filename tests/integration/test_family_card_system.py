"""The family card client against the mock ЦКС over real HTTP (uvicorn in a thread).

The status-change feed for population families, checked against the registries the
other mocks answer from; the family lookup's close relatives (order 170 p.9); and the
admin API's faults that the client either absorbs (a transient 503) or reports typed
(a malformed body, a card that is down).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta

import httpx
import pytest

from adapters.family_card import (
    FamilyCardClient,
    FamilyCardMalformed,
    HttpSettings,
    UpstreamNotFound,
    UpstreamUnavailable,
)
from contracts.clock import ALMATY
from contracts.family_card import Direction, Relation, StatusFact
from tests.integration.family_card_mock import RunningCard, running_card

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=ALMATY)
Q3 = (date(2026, 7, 1), date(2026, 9, 30))


@pytest.fixture
def card() -> Iterator[RunningCard]:
    with running_card(NOW) as running:
        yield running


def settings(url: str) -> HttpSettings:
    return HttpSettings(base_url=url, deadline=5.0, backoff_initial=0.05, backoff_max=0.2)


@pytest.fixture
async def client(card: RunningCard) -> AsyncIterator[FamilyCardClient]:
    async with FamilyCardClient(settings(card.url)) as family_card:
        yield family_card


async def test_the_feed_gives_the_mocks_changes_for_the_quarter(
    card: RunningCard, client: FamilyCardClient
) -> None:
    families = card.population.families[:6]
    iins = [m.iin for f in families for m in f.members] + [card.population.absent_iin]
    feed = await client.status_changes(iins, *Q3)
    assert (feed.period_from, feed.period_to) == Q3 and feed.as_of == NOW
    assert feed.unknown_iins == [card.population.absent_iin]
    by_id = {f.family_id: f for f in feed.families}
    assert set(by_id) == {f.id for f in families}
    total = 0
    for family in families:
        got = by_id[family.id]
        assert set(got.iins) == {m.iin for m in family.members}
        assert [(c.effective_on, c.to_status) for c in got.changes] == card.expected_changes(
            family, *Q3
        )
        total += len(got.changes)
        for change in got.changes:
            assert Q3[0] <= change.effective_on <= Q3[1] and change.recorded_at <= NOW
            assert change.member_iin is None or change.member_iin in got.iins
    assert total > 0  # the seed gives these families some changes in the quarter


async def test_the_feed_agrees_with_the_registries(
    card: RunningCard, client: FamilyCardClient
) -> None:
    """A death carries the civil registry's date and office; nobody finds work after it."""
    p = card.population
    record = p.death_of(p.deceased_iin)
    assert record is not None
    around = (record.death_date - timedelta(days=10), record.death_date + timedelta(days=10))
    feed = await client.status_changes([p.deceased_iin], *around)
    deaths = [
        c
        for f in feed.families
        for c in f.changes
        if c.fact is StatusFact.composition and c.member_iin == p.deceased_iin
    ]
    assert [c.effective_on for c in deaths] == [record.death_date]
    assert deaths[0].recorded_at.date() == record.registered
    assert deaths[0].reported_by == "ЗАГС" and deaths[0].direction is Direction.worsened
    later = await client.status_changes(
        [p.deceased_iin],
        record.death_date + timedelta(days=1),
        record.death_date + timedelta(days=360),
    )
    assert not [c for f in later.families for c in f.changes if c.member_iin == p.deceased_iin]


async def test_the_lookup_names_close_relatives(
    card: RunningCard, client: FamilyCardClient
) -> None:
    p = card.population
    family = next(
        f for f in p.families if [m.role for m in f.members][:3] == ["father", "mother", "child"]
    )
    father, mother, child = family.members[:3]
    seen = await client.family(child.iin)
    relations = {m.iin: m.relation for m in seen.members}
    assert relations[child.iin] is Relation.self
    assert relations[father.iin] is Relation.parent and relations[mother.iin] is Relation.parent
    assert seen.family_id == family.id and seen.as_of == NOW
    from_father = {m.iin: m.relation for m in (await client.family(father.iin)).members}
    assert from_father[mother.iin] is Relation.spouse and from_father[child.iin] is Relation.child

    ward = await client.family(p.guarded_child_iin)
    guardian = next(d.guardian_iin for d in p.guardianships if d.child_iin == p.guarded_child_iin)
    assert {m.iin: m.relation for m in ward.members}[guardian] is Relation.guardian
    deceased = await client.family(p.deceased_iin)
    me = next(m for m in deceased.members if m.iin == p.deceased_iin)
    assert me.deceased_on is not None

    with pytest.raises(UpstreamNotFound):
        await client.family(p.absent_iin)


async def test_a_transient_fault_is_absorbed_and_journalled(
    card: RunningCard, client: FamilyCardClient
) -> None:
    async with httpx.AsyncClient(base_url=card.url) as admin:
        rule = await admin.post(
            "/__admin/faults",
            json={
                "service": "status-changes.query",
                "kind": "http_error",
                "status": 503,
                "times": 1,
            },
        )
        assert rule.status_code == 201, rule.text
        feed = await client.status_changes([card.population.families[0].members[0].iin], *Q3)
        assert len(feed.families) == 1
        count = await admin.get(
            "/__admin/requests/count", params={"service": "status-changes.query"}
        )
        assert count.json()["count"] == 2


async def test_a_malformed_answer_is_typed(card: RunningCard, client: FamilyCardClient) -> None:
    async with httpx.AsyncClient(base_url=card.url) as admin:
        await admin.post(
            "/__admin/faults", json={"service": "status-changes.query", "kind": "malformed"}
        )
    with pytest.raises(FamilyCardMalformed):
        await client.status_changes([card.population.families[0].members[0].iin], *Q3)


async def test_a_card_that_is_down_is_unavailable() -> None:
    with running_card(NOW) as card:
        url = card.url
    async with FamilyCardClient(settings(url)) as client:
        with pytest.raises(UpstreamUnavailable):
            await client.status_changes([card.population.families[0].members[0].iin], *Q3)
