from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from contracts.clock import ALMATY
from gateway.workdays import (
    ENV_EXTRA_TRANSFERS,
    Transfer,
    WorkingCalendar,
    default_calendar,
    load_transfers,
)

PLUS5 = timezone(timedelta(hours=5))
PLUS6 = timezone(timedelta(hours=6))


@pytest.fixture(autouse=True)
def _fresh_default_calendar(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # An operator file set in the developer's shell must not leak into the
    # tests, and a calendar built by one test must not leak into the next.
    monkeypatch.delenv(ENV_EXTRA_TRANSFERS, raising=False)
    default_calendar.cache_clear()
    yield
    default_calendar.cache_clear()


@pytest.fixture
def cal() -> WorkingCalendar:
    return default_calendar()


def end_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=ALMATY)


# --- single days -----------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 1, 3), False),  # Friday, moved off by decree
        (date(2025, 1, 4), False),  # Saturday
        (date(2025, 1, 5), True),  # Sunday, worked by decree
        (date(2025, 1, 6), True),  # Monday
        (date(2025, 1, 7), False),  # Orthodox Christmas on a Tuesday
        (date(2024, 1, 7), False),  # Orthodox Christmas on a Sunday ...
        (date(2024, 1, 8), True),  # ... does not move to Monday
        (date(2024, 6, 16), False),  # Kurban Ait on a Sunday ...
        (date(2024, 6, 17), True),  # ... does not move either
        (date(2024, 7, 6), False),  # Capital Day on a Saturday ...
        (date(2024, 7, 8), False),  # ... moves to Monday
        (date(2024, 5, 4), True),  # Saturday worked by decree
        (date(2024, 5, 8), False),  # Wednesday off instead
        (date(2024, 5, 10), True),  # Friday after Victory Day, plain working day
        (date(2025, 3, 24), False),  # Nowruz carried over from the weekend
        (date(2025, 3, 26), True),
        (date(2025, 4, 15), True),  # ordinary Tuesday
        (date(2025, 4, 19), False),  # ordinary Saturday
    ],
)
def test_is_working_day(cal: WorkingCalendar, day: date, working: bool) -> None:
    assert cal.is_working_day(day) is working


def test_transfer_recorded_under_the_next_year_is_seen() -> None:
    # The 2014 decree made Saturday 28 December 2013 a working day; the
    # package only reports it when 2014 is loaded too.
    cal = WorkingCalendar()
    assert cal.is_working_day(date(2013, 12, 28)) is True
    assert cal.is_working_day(date(2014, 1, 3)) is False


def test_datetime_is_not_accepted_as_a_day(cal: WorkingCalendar) -> None:
    with pytest.raises(TypeError):
        cal.is_working_day(datetime(2025, 1, 5, 12, tzinfo=ALMATY))


# --- deadlines -------------------------------------------------------------


def test_friday_day_off_plus_one_is_the_working_sunday(cal: WorkingCalendar) -> None:
    result = cal.deadline(datetime(2025, 1, 3, 10, 0, tzinfo=ALMATY), 1)
    assert result == datetime(2025, 1, 5, 23, 59, 59, tzinfo=PLUS5)
    assert result.isoformat() == "2025-01-05T23:59:59+05:00"
    assert result.utcoffset() == timedelta(hours=5)
    assert result.tzinfo is ALMATY


def test_working_saturday_in_may_2024_counts(cal: WorkingCalendar) -> None:
    event = datetime(2024, 5, 3, 15, 0, tzinfo=ALMATY)  # Friday
    assert cal.deadline(event, 1) == end_of(date(2024, 5, 4))  # Saturday, worked
    assert cal.deadline(event, 2) == end_of(date(2024, 5, 6))  # Monday
    # Tue 7 May Defender's Day, Wed 8 May moved off, Thu 9 May Victory Day.
    assert cal.deadline(event, 3) == end_of(date(2024, 5, 10))


def test_term_spanning_nowruz_2025(cal: WorkingCalendar) -> None:
    event = datetime(2025, 3, 20, 9, 0, tzinfo=ALMATY)  # Thursday
    # Fri 21 .. Tue 25 March are all off (the weekend days carried over).
    assert cal.deadline(event, 1) == end_of(date(2025, 3, 26))
    assert cal.deadline(event, 3) == end_of(date(2025, 3, 28))
    assert cal.deadline(event, 5) == end_of(date(2025, 4, 1))


def test_ten_working_days_over_new_year_2025(cal: WorkingCalendar) -> None:
    event = datetime(2024, 12, 27, 18, 0, tzinfo=ALMATY)  # Friday
    # Working: Dec 30, 31, Jan 5 (Sun), 6, 8, 9, 10, 13, 14, 15.
    assert cal.deadline(event, 10) == end_of(date(2025, 1, 15))


def test_the_event_day_never_counts(cal: WorkingCalendar) -> None:
    early = datetime(2025, 4, 14, 0, 0, 1, tzinfo=ALMATY)  # Monday
    assert cal.deadline(early, 1) == end_of(date(2025, 4, 15))


def test_utc_evening_is_already_the_next_day_in_almaty(cal: WorkingCalendar) -> None:
    # 20:00 UTC on Monday 14 April is 01:00 on Tuesday 15 April in Almaty.
    event = datetime(2025, 4, 14, 20, 0, tzinfo=UTC)
    assert cal.deadline(event, 1) == end_of(date(2025, 4, 16))
    # 18:59 UTC is still Monday (23:59) in Almaty; 19:00 UTC is Tuesday 00:00.
    monday_late = datetime(2025, 4, 14, 18, 59, tzinfo=UTC)
    assert cal.deadline(monday_late, 1) == end_of(date(2025, 4, 15))
    tuesday_midnight = datetime(2025, 4, 14, 19, 0, tzinfo=UTC)
    assert cal.deadline(tuesday_midnight, 1) == end_of(date(2025, 4, 16))


def test_other_offsets_are_converted(cal: WorkingCalendar) -> None:
    # 23:30 in Moscow (+03) is 01:30 next day in Almaty.
    moscow = timezone(timedelta(hours=3))
    assert cal.deadline(datetime(2025, 4, 14, 23, 30, tzinfo=moscow), 1) == end_of(
        date(2025, 4, 16)
    )


def test_naive_datetime_is_almaty_time(cal: WorkingCalendar) -> None:
    # Read as UTC this would be 04:30 on the 15th in Almaty and give the 16th.
    assert cal.deadline(datetime(2025, 4, 14, 23, 30), 1) == end_of(date(2025, 4, 15))


def test_almaty_offset_before_march_2024_is_plus_six(cal: WorkingCalendar) -> None:
    result = cal.deadline(datetime(2024, 1, 10, 12, tzinfo=ALMATY), 1)
    assert result.isoformat() == "2024-01-11T23:59:59+06:00"
    assert result == datetime(2024, 1, 11, 23, 59, 59, tzinfo=PLUS6)


@pytest.mark.parametrize("n", [0, -1])
def test_non_positive_term_is_rejected(cal: WorkingCalendar, n: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        cal.deadline(datetime(2025, 4, 14, 12, tzinfo=ALMATY), n)


def test_non_integer_term_is_rejected(cal: WorkingCalendar) -> None:
    with pytest.raises(TypeError):
        cal.deadline(datetime(2025, 4, 14, 12, tzinfo=ALMATY), 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cal.deadline(datetime(2025, 4, 14, 12, tzinfo=ALMATY), True)


# --- working_days_between --------------------------------------------------


def test_working_days_between(cal: WorkingCalendar) -> None:
    delivered = datetime(2025, 1, 3, 10, 0, tzinfo=ALMATY)  # Friday, off
    # Sat 4 off, Sun 5 worked, Mon 6 worked.
    assert cal.working_days_between(delivered, datetime(2025, 1, 6, 9, tzinfo=ALMATY)) == 2
    assert cal.working_days_between(delivered, datetime(2025, 1, 7, 9, tzinfo=ALMATY)) == 2
    assert cal.working_days_between(delivered, datetime(2025, 1, 8, 9, tzinfo=ALMATY)) == 3
    # Same Almaty day: nothing elapsed.
    assert cal.working_days_between(delivered, delivered + timedelta(hours=5)) == 0


def test_working_days_between_is_zero_when_end_not_after_start(cal: WorkingCalendar) -> None:
    start = datetime(2025, 4, 14, 12, tzinfo=ALMATY)
    assert cal.working_days_between(start, start) == 0
    assert cal.working_days_between(start, start - timedelta(days=10)) == 0


def test_working_days_between_uses_almaty_dates(cal: WorkingCalendar) -> None:
    start = datetime(2025, 4, 14, 12, tzinfo=ALMATY)  # Monday
    # 19:30 UTC on Monday is 00:30 Tuesday in Almaty.
    assert cal.working_days_between(start, datetime(2025, 4, 14, 19, 30, tzinfo=UTC)) == 1
    assert cal.working_days_between(start, datetime(2025, 4, 14, 18, 30, tzinfo=UTC)) == 0
    # Naive end is Almaty time.
    assert cal.working_days_between(start, datetime(2025, 4, 15, 0, 30)) == 1


def test_working_days_between_inverts_deadline(cal: WorkingCalendar) -> None:
    event = datetime(2024, 1, 1, 16, 45, tzinfo=ALMATY)
    while event.year < 2026:
        for n in (1, 2, 5, 15):
            assert cal.working_days_between(event, cal.deadline(event, n)) == n
        event += timedelta(days=3)


# --- fraction_point --------------------------------------------------------


def test_fraction_point_three_quarters(cal: WorkingCalendar) -> None:
    event = datetime(2025, 4, 14, 12, 0, tzinfo=ALMATY)  # Monday noon
    # Deadline Tue 15 April 23:59:59, i.e. 35:59:59 = 129599 s later;
    # 0.75 of that is 97199.25 s = 26:59:59.25.
    warn = cal.fraction_point(event, 1, 0.75)
    assert warn == datetime(2025, 4, 15, 14, 59, 59, 250000, tzinfo=ALMATY)
    assert warn.tzinfo is ALMATY
    assert cal.fraction_point(event, 1, 0.0) == event
    assert cal.fraction_point(event, 1, 1.0) == cal.deadline(event, 1)


def test_fraction_point_across_the_2024_offset_change(cal: WorkingCalendar) -> None:
    # Almaty went from +06 to +05 at the start of 1 March 2024, so real time
    # from event to deadline is one hour longer than the wall-clock difference.
    event = datetime(2024, 2, 28, 0, 0, tzinfo=ALMATY)  # 27 Feb 18:00 UTC
    deadline = cal.deadline(event, 2)  # Thu 29 Feb, Fri 1 Mar
    assert deadline == datetime(2024, 3, 1, 18, 59, 59, tzinfo=UTC)
    # 3 days 00:59:59 real time; half of it is 1 day 12:29:59.5.
    half = cal.fraction_point(event, 2, 0.5)
    assert half == datetime(2024, 2, 29, 6, 29, 59, 500000, tzinfo=UTC)


def test_fraction_point_naive_and_utc_events(cal: WorkingCalendar) -> None:
    naive = datetime(2025, 4, 14, 12, 0)
    aware = datetime(2025, 4, 14, 7, 0, tzinfo=UTC)  # same instant
    assert cal.fraction_point(naive, 1, 0.75) == cal.fraction_point(aware, 1, 0.75)
    assert cal.fraction_point(naive, 1, 0.75).utcoffset() == timedelta(hours=5)


@pytest.mark.parametrize("fraction", [-0.1, 1.5, float("nan"), float("inf")])
def test_fraction_point_rejects_bad_fraction(cal: WorkingCalendar, fraction: float) -> None:
    with pytest.raises(ValueError):
        cal.fraction_point(datetime(2025, 4, 14, 12, tzinfo=ALMATY), 1, fraction)


def test_fraction_point_rejects_zero_term(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError):
        cal.fraction_point(datetime(2025, 4, 14, 12, tzinfo=ALMATY), 0, 0.75)


# --- transfers and data files ----------------------------------------------


def test_packaged_transfers_only_repeat_the_package() -> None:
    packaged = WorkingCalendar(load_transfers())
    bare = WorkingCalendar()
    day = date(2023, 1, 1)
    while day < date(2027, 1, 1):
        assert packaged.is_working_day(day) == bare.is_working_day(day), day
        day += timedelta(days=1)


def test_packaged_file_parses_and_has_known_decrees() -> None:
    transfers = load_transfers()
    pairs = {(t.working_day, t.day_off) for t in transfers}
    assert (date(2025, 1, 5), date(2025, 1, 3)) in pairs
    assert (date(2024, 5, 4), date(2024, 5, 8)) in pairs
    assert all(t.decree for t in transfers)


def _write(path: Path, transfers: list[dict[str, str | None]]) -> Path:
    path.write_text(json.dumps({"description": "test", "transfers": transfers}), "utf-8")
    return path


def test_extra_file_from_environment_is_merged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A made-up decree in a far year so it cannot be mistaken for a real one:
    # Saturday 8 November 2031 worked, Monday 10 November 2031 off.
    saturday, monday = date(2031, 11, 8), date(2031, 11, 10)
    before = default_calendar()
    assert before.is_working_day(saturday) is False
    assert before.is_working_day(monday) is True

    extra = _write(
        tmp_path / "extra.json",
        [{"working_day": "2031-11-08", "day_off": "2031-11-10", "decree": "test decree"}],
    )
    monkeypatch.setenv(ENV_EXTRA_TRANSFERS, str(extra))
    default_calendar.cache_clear()
    cal = default_calendar()

    assert cal.is_working_day(saturday) is True
    assert cal.is_working_day(monday) is False
    # Packaged decrees are still there.
    assert cal.is_working_day(date(2025, 1, 5)) is True
    assert cal.version != before.version
    friday = datetime(2031, 11, 7, 12, tzinfo=ALMATY)
    assert cal.deadline(friday, 1) == end_of(saturday)
    assert cal.deadline(friday, 2) == end_of(date(2031, 11, 11))
    assert before.deadline(friday, 2) == end_of(date(2031, 11, 11))
    assert before.deadline(friday, 1) == end_of(monday)


def test_one_sided_transfers(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "one_sided.json",
        [
            {"working_day": None, "day_off": "2031-11-12", "decree": "extra day off"},
            {"working_day": "2031-11-15", "day_off": None, "decree": "extra working day"},
        ],
    )
    cal = WorkingCalendar(load_transfers(path))
    assert cal.is_working_day(date(2031, 11, 12)) is False  # Wednesday
    assert cal.is_working_day(date(2031, 11, 15)) is True  # Saturday


def test_our_transfers_override_the_package() -> None:
    # E.g. a decree cancelling a transfer the package has: make 3 Jan 2025
    # working again.
    cal = WorkingCalendar([Transfer(working_day=date(2025, 1, 3), day_off=None, decree="t")])
    assert cal.is_working_day(date(2025, 1, 3)) is True


def test_duplicate_entries_are_harmless(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = _write(
        tmp_path / "dup.json",
        [{"working_day": "2025-01-05", "day_off": "2025-01-03", "decree": "repeated"}],
    )
    monkeypatch.setenv(ENV_EXTRA_TRANSFERS, str(extra))
    merged = load_transfers()
    monkeypatch.delenv(ENV_EXTRA_TRANSFERS)
    assert len(merged) == len(load_transfers())
    assert WorkingCalendar(merged).version == WorkingCalendar(load_transfers()).version


def test_missing_extra_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_EXTRA_TRANSFERS, str(tmp_path / "absent.json"))
    with pytest.raises(FileNotFoundError):
        default_calendar()


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        '{"transfers": {}}',
        '{"transfers": [{"working_day": "2031-11-08", "day_off": null}]}',
        '{"transfers": [{"working_day": "08.11.2031", "day_off": null, "decree": "x"}]}',
        '{"transfers": [{"working_day": "20311108", "day_off": null, "decree": "x"}]}',
        '{"transfers": [{"working_day": "2031-02-30", "day_off": null, "decree": "x"}]}',
        '{"transfers": [{"working_day": null, "day_off": null, "decree": "x"}]}',
        '{"transfers": [{"working_day": "2031-11-08", "day_of": "2031-11-10", "decree": "x"}]}',
    ],
)
def test_malformed_files_are_rejected(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, "utf-8")
    with pytest.raises(ValueError):
        load_transfers(path)


def test_contradictory_transfers_are_rejected() -> None:
    with pytest.raises(ValueError, match="both"):
        Transfer(working_day=date(2031, 11, 8), day_off=date(2031, 11, 8), decree="x")
    with pytest.raises(ValueError, match="both working and off"):
        WorkingCalendar(
            [
                Transfer(working_day=date(2031, 11, 8), day_off=None, decree="a"),
                Transfer(working_day=None, day_off=date(2031, 11, 8), decree="b"),
            ]
        )


# --- version ---------------------------------------------------------------


def test_version_is_short_stable_and_tracks_the_data() -> None:
    a = Transfer(working_day=date(2031, 11, 8), day_off=date(2031, 11, 10), decree="a")
    b = Transfer(working_day=None, day_off=date(2031, 12, 31), decree="b")
    v1 = WorkingCalendar([a, b]).version
    assert v1 == WorkingCalendar([b, a]).version
    assert v1 == WorkingCalendar([a, b]).version
    assert v1 != WorkingCalendar([a]).version
    assert v1 != WorkingCalendar().version
    assert len(v1) <= 20
    assert default_calendar().version == WorkingCalendar(load_transfers()).version


def test_default_calendar_is_cached() -> None:
    assert default_calendar() is default_calendar()
