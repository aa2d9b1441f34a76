"""Reading the family card for the report: where from, when, or no data and why.

A fake `FamilyCardSource` stands in for the adapter: it answers with a feed in the
contract's own models, or raises the adapter's typed errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import pytest

from adapters.family_card import (
    FamilyCardClient,
    FamilyCardMalformed,
    HttpSettings,
    UpstreamCircuitOpen,
    UpstreamError,
    UpstreamNotFound,
    UpstreamRejected,
    UpstreamUnavailable,
)
from contracts.clock import ALMATY, ManualClock
from contracts.family_card import (
    Direction,
    FamilyChanges,
    StatusChange,
    StatusChangeFeed,
    StatusFact,
)
from contracts.iin import next_valid_iin
from gateway.reports.family_card import (
    FamilyCardReading,
    FamilyCardSource,
    NoDataReason,
    card_client,
    read_family_card,
)

URL = "http://card.test"
FIRST, LAST = date(2026, 7, 1), date(2026, 9, 30)
NOW = datetime(2026, 10, 2, 9, 0, tzinfo=ALMATY)
CARD_NOW = datetime(2026, 10, 2, 8, 59, tzinfo=ALMATY)


def iin(n: int) -> str:
    return next_valid_iin(date(1980, 1, 1 + n % 28), "female" if n % 2 else "male", n + 1)


def change(family: str, on: date, to: str = "вне ТЖС", ident: str = "") -> StatusChange:
    return StatusChange(
        id=ident or f"{family}-{on.isoformat()}",
        family_id=family,
        fact=StatusFact.difficult_situation,
        from_status="в ТЖС",
        to_status=to,
        direction=Direction.improved,
        effective_on=on,
        recorded_at=datetime.combine(on, datetime.min.time(), ALMATY).replace(hour=15),
        reported_by="Отдел занятости и социальных программ",
    )


class FakeCard:
    """Answers from families given as {card family id: (member IINs, changes)}."""

    base_url = URL

    def __init__(
        self,
        families: dict[str, tuple[Sequence[str], Sequence[StatusChange]]] | None = None,
        error: UpstreamError | None = None,
    ) -> None:
        self.families = families or {}
        self.error = error
        self.asked: list[list[str]] = []

    async def status_changes(
        self, iins: Sequence[str], period_from: date, period_to: date
    ) -> StatusChangeFeed:
        self.asked.append(list(iins))
        if self.error is not None:
            raise self.error
        found = [
            FamilyChanges(
                family_id=fid,
                iins=[i for i in iins if i in members],
                changes=list(changes),
            )
            for fid, (members, changes) in self.families.items()
            if any(i in members for i in iins)
        ]
        known = {i for members, _ in self.families.values() for i in members}
        return StatusChangeFeed(
            period_from=period_from,
            period_to=period_to,
            as_of=CARD_NOW,
            families=found,
            unknown_iins=[i for i in iins if i not in known],
        )


async def read(
    source: FamilyCardSource | None, families: dict[str, Sequence[str]]
) -> FamilyCardReading:
    return await read_family_card(source, families, FIRST, LAST, ManualClock(NOW))


async def test_changes_go_to_the_plans_whose_members_the_card_knows() -> None:
    a1, a2, b1, c1, x = iin(1), iin(2), iin(3), iin(4), iin(5)
    in_q3 = change("FA", date(2026, 8, 3))
    card = FakeCard(
        {
            "FA": ((a1, a2), (in_q3,)),
            "FB": ((b1,), (change("FB", date(2026, 9, 1), to="в ТЖС"),)),
            "FC": ((c1,), ()),
        }
    )
    reading = await read(
        card,
        {
            "plan-a": [a1, a2],  # two members of one card family: its changes once
            "plan-ab": [a2, b1],  # members of two card families: both families' changes
            "plan-c": [c1],  # known, no change
            "plan-x": [x],  # unknown to the card
        },
    )
    assert reading.available and reading.no_data is None
    assert (reading.url, reading.fetched_at, reading.as_of) == (URL, NOW, CARD_NOW)
    assert [c.on for c in reading.changes["plan-a"]] == [date(2026, 8, 3)]
    assert [c.on for c in reading.changes["plan-ab"]] == [date(2026, 8, 3), date(2026, 9, 1)]
    assert "plan-c" not in reading.changes and "plan-x" not in reading.changes
    assert reading.unknown == ("plan-x",)
    first = reading.changes["plan-a"][0]
    assert first.fact is StatusFact.difficult_situation and first.direction is Direction.improved
    assert first.recorded_at == in_q3.recorded_at and first.reported_by.startswith("Отдел")
    # One query for every family, each IIN once.
    assert len(card.asked) == 1 and sorted(card.asked[0]) == sorted({a1, a2, b1, c1, x})


async def test_a_change_outside_the_days_asked_is_not_shown() -> None:
    a = iin(1)
    card = FakeCard({"FA": ((a,), (change("FA", date(2026, 6, 30)), change("FA", LAST)))})
    reading = await read(card, {"p": [a]})
    assert [c.on for c in reading.changes["p"]] == [LAST]


async def test_no_card_configured_is_said_and_nothing_asked() -> None:
    reading = await read(None, {"p": [iin(1)]})
    assert reading.no_data is NoDataReason.not_configured and not reading.available
    assert reading.changes == {} and reading.fetched_at is None
    assert (
        reading.no_data_ru == "Нет данных из Цифровой карты семьи (подключение к ЦКС не настроено)"
    )
    assert card_client(None) is None and card_client("") is None


async def test_no_families_means_no_question() -> None:
    card = FakeCard()
    reading = await read(card, {"p": ["not-an-iin"]})
    assert reading.no_data is NoDataReason.no_families and card.asked == []


async def test_a_malformed_iin_in_the_store_is_not_sent() -> None:
    good = iin(1)
    card = FakeCard({"F": ((good,), ())})
    await read(card, {"p": [good, "123"]})
    assert card.asked == [[good]]


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (UpstreamUnavailable("family_card: unreachable (ConnectError)"), NoDataReason.unavailable),
        (UpstreamUnavailable("no answer within the 8.0s deadline"), NoDataReason.unavailable),
        (UpstreamCircuitOpen("circuit open"), NoDataReason.circuit_open),
        (FamilyCardMalformed("answer does not fit StatusChangeFeed"), NoDataReason.malformed),
        (UpstreamRejected("refused", problems=[]), NoDataReason.refused),
        (UpstreamNotFound("not found: /api/v1/status-changes/query"), NoDataReason.error),
        (UpstreamError("HTTP 500"), NoDataReason.error),
    ],
)
async def test_a_failed_call_gives_no_data_with_the_reason(
    error: UpstreamError, reason: NoDataReason
) -> None:
    reading = await read(FakeCard(error=error), {"p": [iin(1)]})
    assert reading.no_data is reason and not reading.available
    assert reading.changes == {} and reading.fetched_at is None and reading.url == URL
    assert reading.detail == str(error)
    assert reading.no_data_ru.startswith("Нет данных из Цифровой карты семьи (")
    assert reading.no_data_en.startswith("No data from the digital family card (ЦКС): ")
    assert str(error) in reading.no_data_en


async def test_the_adapter_is_a_source() -> None:
    client = card_client("http://127.0.0.1:8240")
    assert isinstance(client, FamilyCardClient)
    source: FamilyCardSource = client
    assert source.base_url == "http://127.0.0.1:8240"
    assert client.caller.settings.deadline <= HttpSettings(base_url="x").deadline
    await client.aclose()
