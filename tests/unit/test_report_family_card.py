"""The mock digital family card: deterministic, order-blind, inside the period."""

from __future__ import annotations

from datetime import date

from contracts.iin import next_valid_iin
from gateway.reports.family_card import FamilyCardSource, StatusChange
from mocks.family_card import TRANSITIONS, MockFamilyCard, changes_for


def _family(n: int) -> list[str]:
    return [
        next_valid_iin(date(1980, 1, 1 + n % 28), "female", n + 1),
        next_valid_iin(date(2012, 5, 1 + n % 28), "male", n + 100),
    ]


def test_same_family_same_answer_whatever_the_order() -> None:
    iins = _family(3)
    first = changes_for(iins, date(2025, 1, 1), date(2026, 12, 31))
    assert first == changes_for(list(reversed(iins)), date(2025, 1, 1), date(2026, 12, 31))


def test_changes_lie_in_the_period_and_use_known_transitions() -> None:
    known = {(a, b) for a, b, _ in TRANSITIONS}
    total = 0
    for n in range(40):
        changes = changes_for(_family(n), date(2026, 7, 1), date(2026, 9, 30))
        total += len(changes)
        for change in changes:
            assert date(2026, 7, 1) <= change.on <= date(2026, 9, 30)
            assert (change.from_status, change.to_status) in known
            assert "→" in change.text_ru
        assert changes == sorted(changes, key=lambda c: c.on)
    assert 0 < total < 40 * 3  # some families change, not all every month


def test_a_shorter_period_is_a_subset() -> None:
    iins = _family(7)
    whole = changes_for(iins, date(2026, 1, 1), date(2026, 12, 31))
    third = changes_for(iins, date(2026, 7, 1), date(2026, 9, 30))
    assert third == [c for c in whole if date(2026, 7, 1) <= c.on <= date(2026, 9, 30)]


def test_no_members_or_empty_period() -> None:
    assert changes_for([], date(2026, 1, 1), date(2026, 3, 31)) == []
    assert changes_for(_family(1), date(2026, 3, 31), date(2026, 1, 1)) == []


async def test_mock_satisfies_the_protocol() -> None:
    source: FamilyCardSource = MockFamilyCard()
    got = await source.status_changes(_family(2), date(2025, 1, 1), date(2026, 12, 31))
    assert all(isinstance(c, StatusChange) for c in got)
    assert got == changes_for(_family(2), date(2025, 1, 1), date(2026, 12, 31))
