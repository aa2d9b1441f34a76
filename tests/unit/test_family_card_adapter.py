"""The family card client's HTTP discipline, with respx standing in for the network.

The discipline is `adapters.http_discipline`'s (tested there and through the portal's and
Kandas's clients); these tests check that the card's calls go through it, that its
answers parse into the contract's models, and the card-specific parts: queries split at
`MAX_QUERY_IINS` and merged back, IINs only in bodies, a malformed answer typed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pydantic
import pytest
import respx

from adapters.family_card import (
    BreakerState,
    FamilyCardClient,
    FamilyCardMalformed,
    HttpSettings,
    UpstreamCircuitOpen,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamUnavailable,
)
from contracts.family_card import (
    FAMILY_LOOKUP_PATH,
    MAX_QUERY_IINS,
    STATUS_CHANGES_PATH,
    Direction,
    Relation,
)
from contracts.iin import next_valid_iin
from tests.unit.test_kandas_adapter import FakeTime

BASE = "http://card.test"
Q3 = (date(2026, 7, 1), date(2026, 9, 30))


def iin(n: int) -> str:
    return next_valid_iin(date(1970 + n % 40, 1 + n % 12, 1 + n % 28), "male", n % 9000)


IIN, CHILD = iin(1), iin(2)


def settings(**changes: Any) -> HttpSettings:
    base: dict[str, Any] = {
        "base_url": BASE,
        "deadline": 10.0,
        "max_attempts": 4,
        "backoff_initial": 0.1,
        "backoff_max": 1.0,
        "breaker_failures": 100,
    }
    base.update(changes)
    return HttpSettings(**base)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def client(fake_time: FakeTime) -> AsyncIterator[FamilyCardClient]:
    async with FamilyCardClient(
        settings(), monotonic=fake_time.monotonic, sleep=fake_time.sleep
    ) as card:
        yield card


def change_json(family: str, day: str, ident: str) -> dict[str, Any]:
    return {
        "id": ident,
        "family_id": family,
        "fact": "employment",
        "member_iin": None,
        "from_status": "не работает",
        "to_status": "работает",
        "direction": "improved",
        "effective_on": day,
        "recorded_at": f"{day}T10:00:00+05:00",
        "reported_by": "Центр занятости населения",
    }


def feed_json(request: httpx.Request, families: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """A feed answering ``request``: every asked IIN in family F<last digit>, or unknown."""
    asked = json.loads(request.content)
    grouped: dict[str, list[str]] = {}
    unknown: list[str] = []
    for value in asked["iins"]:
        family = f"F{value[-1]}"
        if family in families:
            grouped.setdefault(family, []).append(value)
        else:
            unknown.append(value)
    return {
        "period_from": asked["period_from"],
        "period_to": asked["period_to"],
        "as_of": "2026-10-02T09:00:00+05:00",
        "families": [
            {"family_id": f, "iins": members, "changes": families[f]}
            for f, members in grouped.items()
        ],
        "unknown_iins": unknown,
    }


@respx.mock(base_url=BASE)
async def test_the_feed_parses_and_the_iins_travel_in_the_body(
    respx_mock: respx.MockRouter, client: FamilyCardClient
) -> None:
    family = f"F{IIN[-1]}"
    changes = [change_json(family, "2026-08-03", "c1")]
    route = respx_mock.post(STATUS_CHANGES_PATH).mock(
        side_effect=lambda request: httpx.Response(200, json=feed_json(request, {family: changes}))
    )
    feed = await client.status_changes([IIN, IIN], *Q3)
    sent = route.calls.last.request
    assert IIN not in str(sent.url)
    assert json.loads(sent.content) == {
        "iins": [IIN],  # each IIN once
        "period_from": "2026-07-01",
        "period_to": "2026-09-30",
    }
    assert [f.family_id for f in feed.families] == [family]
    only = feed.families[0].changes[0]
    assert only.direction is Direction.improved and only.effective_on == date(2026, 8, 3)
    assert feed.as_of.isoformat() == "2026-10-02T09:00:00+05:00"


@respx.mock(base_url=BASE)
async def test_many_iins_are_split_into_queries_and_merged(
    respx_mock: respx.MockRouter, client: FamilyCardClient
) -> None:
    iins = [iin(n) for n in range(MAX_QUERY_IINS + 40)]
    assert len(set(iins)) == len(iins)
    families = {f"F{d}": [change_json(f"F{d}", "2026-08-03", f"c{d}")] for d in "0123456789"}
    route = respx_mock.post(STATUS_CHANGES_PATH).mock(
        side_effect=lambda request: httpx.Response(200, json=feed_json(request, families))
    )
    feed = await client.status_changes(iins, *Q3)
    assert route.call_count == 2
    sizes = [len(json.loads(c.request.content)["iins"]) for c in route.calls]
    assert sizes == [MAX_QUERY_IINS, 40]
    # A family met in both queries comes back once, with the IINs of both, each change once.
    assert sorted(f.family_id for f in feed.families) == sorted({f"F{i[-1]}" for i in iins})
    for family in feed.families:
        assert len(family.changes) == 1
        assert sorted(family.iins) == sorted(i for i in iins if f"F{i[-1]}" == family.family_id)


async def test_a_bad_iin_fails_before_sending(client: FamilyCardClient) -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        route = mock.post(STATUS_CHANGES_PATH)
        with pytest.raises(pydantic.ValidationError) as caught:
            await client.status_changes([IIN, "12345"], *Q3)
        assert ("iins", 1) == tuple(caught.value.errors()[0]["loc"])
        with pytest.raises(ValueError, match="at least one IIN"):
            await client.status_changes([], *Q3)
        assert route.call_count == 0


@respx.mock(base_url=BASE)
async def test_transient_failures_are_retried(
    respx_mock: respx.MockRouter, client: FamilyCardClient, fake_time: FakeTime
) -> None:
    empty = {
        "period_from": "2026-07-01",
        "period_to": "2026-09-30",
        "as_of": "2026-10-02T09:00:00+05:00",
        "families": [],
        "unknown_iins": [IIN],
    }
    route = respx_mock.post(STATUS_CHANGES_PATH).mock(
        side_effect=[
            httpx.Response(503),
            httpx.ConnectError("refused"),
            httpx.Response(200, json=empty),
        ]
    )
    feed = await client.status_changes([IIN], *Q3)
    assert route.call_count == 3 and feed.unknown_iins == [IIN]
    assert len(fake_time.sleeps) == 2


@respx.mock(base_url=BASE)
async def test_a_dead_card_is_unavailable_then_the_breaker_opens(
    respx_mock: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = respx_mock.post(STATUS_CHANGES_PATH).mock(side_effect=httpx.ReadTimeout("slow"))
    async with FamilyCardClient(
        settings(breaker_failures=4, max_attempts=4),
        monotonic=fake_time.monotonic,
        sleep=fake_time.sleep,
    ) as card:
        with pytest.raises(UpstreamUnavailable) as caught:
            await card.status_changes([IIN], *Q3)
        assert "ReadTimeout" in str(caught.value) and route.call_count == 4
        assert card.caller.breaker_state(f"POST {STATUS_CHANGES_PATH}") is BreakerState.OPEN
        with pytest.raises(UpstreamCircuitOpen):
            await card.status_changes([IIN], *Q3)
        assert route.call_count == 4  # not even tried


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, content=b"<html>gateway timeout page</html>"),
        httpx.Response(200, json={"families": "many"}),
        httpx.Response(
            200,
            json={
                "period_from": "2026-01-01",
                "period_to": "2026-03-31",
                "as_of": "2026-10-02T09:00:00+05:00",
                "families": [],
            },
        ),
        httpx.Response(
            200,
            json={
                "period_from": "2026-07-01",
                "period_to": "2026-09-30",
                "as_of": "2026-10-02T09:00:00+05:00",
                "families": [{"family_id": "F", "iins": [iin(99)], "changes": []}],
            },
        ),
    ],
    ids=["not-json", "wrong-shape", "another-period", "iins-not-asked"],
)
async def test_a_malformed_answer_is_typed(
    client: FamilyCardClient, answer: httpx.Response
) -> None:
    with respx.mock(base_url=BASE) as mock:
        mock.post(STATUS_CHANGES_PATH).mock(return_value=answer)
        with pytest.raises(FamilyCardMalformed):
            await client.status_changes([IIN], *Q3)


@respx.mock(base_url=BASE)
async def test_a_refusal_names_the_field(
    respx_mock: respx.MockRouter, client: FamilyCardClient
) -> None:
    respx_mock.post(STATUS_CHANGES_PATH).respond(
        422,
        json={"title": "Invalid input", "errors": [{"field": "period_to", "reason": "too long"}]},
    )
    with pytest.raises(UpstreamRejected) as caught:
        await client.status_changes([IIN], *Q3)
    assert (caught.value.field, caught.value.reason) == ("period_to", "too long")


def family_json(asked: str) -> dict[str, Any]:
    return {
        "family_id": "F0001",
        "iin": asked,
        "as_of": "2026-10-02T09:00:00+05:00",
        "members": [
            {
                "iin": IIN,
                "last_name": "Ахметов",
                "first_name": "Ерлан",
                "birth_date": "1980-01-01",
                "relation": "self" if asked == IIN else "parent",
            },
            {
                "iin": CHILD,
                "last_name": "Ахметов",
                "first_name": "Арман",
                "birth_date": "2012-05-01",
                "relation": "child" if asked == IIN else "self",
            },
        ],
        "statuses": [{"fact": "low_income", "status": "малообеспеченная", "since": "2026-05-16"}],
    }


@respx.mock(base_url=BASE)
async def test_the_family_lookup(respx_mock: respx.MockRouter, client: FamilyCardClient) -> None:
    route = respx_mock.post(FAMILY_LOOKUP_PATH).respond(200, json=family_json(IIN))
    family = await client.family(IIN)
    assert json.loads(route.calls.last.request.content) == {"iin": IIN}
    assert [m.relation for m in family.members] == [Relation.self, Relation.child]
    assert family.statuses[0].status == "малообеспеченная"


@respx.mock(base_url=BASE)
async def test_the_lookup_not_found_and_for_the_wrong_person(
    respx_mock: respx.MockRouter, client: FamilyCardClient
) -> None:
    route = respx_mock.post(FAMILY_LOOKUP_PATH)
    route.respond(404, json={"errors": [{"field": "iin", "reason": "no family"}]})
    with pytest.raises(UpstreamNotFound):
        await client.family(IIN)
    route.respond(200, json=family_json(CHILD))
    with pytest.raises(FamilyCardMalformed, match="another person"):
        await client.family(IIN)
