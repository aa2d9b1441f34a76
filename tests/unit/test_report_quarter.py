"""Quarter parsing and bounds: the period every figure of the report hangs on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.clock import ALMATY
from gateway.reports.quarter import Quarter, QuarterError, parse_quarter


def test_q3_is_july_to_october_in_almaty() -> None:
    q = parse_quarter("2026Q3")
    assert q == Quarter(2026, 3)
    assert q.start == datetime(2026, 7, 1, tzinfo=ALMATY)
    assert q.end == datetime(2026, 10, 1, tzinfo=ALMATY)
    assert q.label == "2026Q3" and q.title_ru == "III квартал 2026 г."


def test_q4_ends_on_new_year() -> None:
    q = parse_quarter("2026Q4")
    assert q.end == datetime(2027, 1, 1, tzinfo=ALMATY)
    assert q.previous() == Quarter(2026, 3) and Quarter(2027, 1).previous() == q


@pytest.mark.parametrize("text", ["2026q3", " 2026Q3 ", "2026-Q3"])
def test_tolerant_spellings(text: str) -> None:
    assert parse_quarter(text) == Quarter(2026, 3)


@pytest.mark.parametrize("text", ["", "2026", "2026Q5", "2026Q0", "Q3 2026", "26Q3", "2026-07"])
def test_bad_input_says_what_is_expected(text: str) -> None:
    with pytest.raises(QuarterError) as error:
        parse_quarter(text)
    assert "2026Q3" in str(error.value)


def test_year_out_of_range() -> None:
    with pytest.raises(QuarterError, match="outside"):
        parse_quarter("1999Q1")


def test_bounds_are_half_open_and_in_almaty_time() -> None:
    q = Quarter(2026, 3)
    assert q.contains(q.start)
    assert not q.contains(q.end)
    assert q.contains(q.end - timedelta(microseconds=1))
    # 30 September 20:00 UTC is already 1 October in Almaty (UTC+5).
    assert not q.contains(datetime(2026, 9, 30, 20, 0, tzinfo=UTC))
    assert Quarter.of(datetime(2026, 9, 30, 20, 0, tzinfo=UTC)) == Quarter(2026, 4)
    assert Quarter.of(datetime(2026, 6, 30, 19, 0, tzinfo=UTC)) == Quarter(2026, 3)
