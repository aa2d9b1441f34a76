"""Kazakhstan working-day calendar for statutory response terms.

Terms set by law ("within N working days") are counted in the calendar of
the Republic of Kazakhstan, in Almaty time, no matter where the gateway or
the caller runs.  Public holidays come from the ``holidays`` package; the
government's yearly decrees that swap a weekend day with a weekday are only
known to that package up to the year it was released, so they can also be
supplied from a JSON data file that an operator extends without a new
release.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import holidays

from contracts.clock import ALMATY, to_almaty

__all__ = [
    "ENV_EXTRA_TRANSFERS",
    "PACKAGED_TRANSFERS",
    "Transfer",
    "WorkingCalendar",
    "default_calendar",
    "load_transfers",
]


#: Name of the environment variable pointing at an operator-maintained JSON file
#: with extra decrees; kept outside the package so a new year's decree does not
#: need a release.
ENV_EXTRA_TRANSFERS = "GATEWAY_WORKDAY_TRANSFERS"

PACKAGED_TRANSFERS = Path(__file__).resolve().parent / "data" / "workday_transfers.json"
_PACKAGED_TRANSFERS = PACKAGED_TRANSFERS
_END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True)
class Transfer:
    """One line of a government decree on moving days.

    A decree usually swaps a weekend day (made working) with a weekday (made a
    day off); either side may be missing so that a one-off extra day off, or
    an extra working day, can be recorded as well.
    """

    working_day: date | None
    day_off: date | None
    decree: str
    source: str = ""
    """The file the line came from (ours in the package, or the operator's), for
    `gateway calendar show`; not part of the calendar's version."""

    def __post_init__(self) -> None:
        # Reject entries that would silently do nothing or contradict
        # themselves: a typo in the data file must not go unnoticed.
        if self.working_day is None and self.day_off is None:
            raise ValueError(f"transfer {self.decree!r} has neither working_day nor day_off")
        if self.working_day is not None and self.working_day == self.day_off:
            raise ValueError(
                f"transfer {self.decree!r} makes {self.working_day} both working and a day off"
            )


@dataclass(frozen=True)
class _YearDays:
    """Precomputed exceptions to the plain Mon-Fri rule for one year."""

    days_off: frozenset[date]
    working_days: frozenset[date]


class WorkingCalendar:
    """Working days of Kazakhstan: package holidays plus decree transfers.

    Our own transfers win over the package's data, so an operator can correct
    the package for a year it got wrong.  Entries that repeat what the package
    already knows change nothing.
    """

    def __init__(self, transfers: Iterable[Transfer] = ()) -> None:
        self._transfers: tuple[Transfer, ...] = tuple(transfers)
        extra_working: set[date] = set()
        extra_off: set[date] = set()
        for transfer in self._transfers:
            if transfer.working_day is not None:
                extra_working.add(transfer.working_day)
            if transfer.day_off is not None:
                extra_off.add(transfer.day_off)
        clash = extra_working & extra_off
        if clash:
            listed = ", ".join(d.isoformat() for d in sorted(clash))
            raise ValueError(f"transfers declare these dates both working and off: {listed}")
        self._extra_working = frozenset(extra_working)
        self._extra_off = frozenset(extra_off)
        self._years: dict[int, _YearDays] = {}
        self._lock = threading.Lock()
        self._version = _calendar_version(self._transfers)

    @property
    def transfers(self) -> tuple[Transfer, ...]:
        return self._transfers

    @property
    def version(self) -> str:
        """Identifies the data behind a computed deadline.

        Stored next to a deadline so that, after a decree is added or the
        ``holidays`` package is upgraded, one can tell which deadlines were
        computed with the older calendar.
        """
        return self._version

    def is_working_day(self, day: date) -> bool:
        if isinstance(day, datetime):
            # A datetime is a date subclass; silently using its (possibly
            # non-Almaty) date would give the wrong day near midnight.
            raise TypeError("is_working_day expects a date; convert datetimes with to_almaty()")
        year = self._year(day.year)
        if day in year.working_days:
            return True
        if day in year.days_off:
            return False
        return day.weekday() < 5

    def deadline(self, event: datetime, working_days: int) -> datetime:
        """End of the last working day of a term counted from ``event``.

        The day of the event itself never counts, however early the event is;
        the term ends at 23:59:59 Almaty time of its last working day.
        """
        _require_positive(working_days)
        day = to_almaty(event).date()
        remaining = working_days
        while remaining:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return datetime.combine(day, _END_OF_DAY, tzinfo=ALMATY)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Working days elapsed, counted the same way as terms are.

        Counts days after the start's Almaty date up to and including the
        end's, so ``working_days_between(e, deadline(e, n)) == n``.
        """
        start_local = to_almaty(start)
        end_local = to_almaty(end)
        if end_local <= start_local:
            return 0
        count = 0
        day = start_local.date()
        last = end_local.date()
        while day < last:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def fraction_point(self, event: datetime, working_days: int, fraction: float) -> datetime:
        """Moment when ``fraction`` of the term's wall time has passed.

        Used for early warnings ("three quarters of the limit used").  The
        arithmetic is done in UTC: Python subtracts datetimes sharing a tzinfo
        by wall clock, which is off by an hour across a UTC offset change
        (Almaty moved from +06 to +05 on 1 March 2024).
        """
        if not math.isfinite(fraction) or not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction must be between 0 and 1, got {fraction!r}")
        start = to_almaty(event).astimezone(UTC)
        end = self.deadline(event, working_days).astimezone(UTC)
        return (start + (end - start) * fraction).astimezone(ALMATY)

    def _year(self, year: int) -> _YearDays:
        cached = self._years.get(year)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._years.get(year)
            if cached is None:
                cached = self._compute_year(year)
                self._years[year] = cached
            return cached

    def _compute_year(self, year: int) -> _YearDays:
        # Neighbouring years are loaded as well: a decree filed under one year
        # can move a day in the previous or next one (the 2014 decree made
        # Saturday 28 December 2013 a working day), and the package records
        # such a day while populating the decree's year.  Current releases
        # pull that year in themselves; loading it here does not rely on that.
        package = holidays.country_holidays("KZ", years=range(year - 1, year + 2))
        package_off = {d for d in package if d.year == year}
        package_working = {d for d in package.weekend_workdays if d.year == year}
        ours_working = {d for d in self._extra_working if d.year == year}
        ours_off = {d for d in self._extra_off if d.year == year}
        return _YearDays(
            days_off=frozenset((package_off | ours_off) - ours_working),
            working_days=frozenset((package_working - ours_off) | ours_working),
        )


def load_transfers(path: Path | None = None) -> list[Transfer]:
    """Decree transfers from a JSON file.

    With no ``path`` the file shipped in the package is read and, when the
    ``GATEWAY_WORKDAY_TRANSFERS`` environment variable names another file,
    that file is merged in; a named file that is missing is an error rather
    than being skipped, because silently losing a decree shifts deadlines.
    """
    if path is not None:
        return _read_transfer_file(path)
    transfers = _read_transfer_file(_PACKAGED_TRANSFERS)
    extra = os.environ.get(ENV_EXTRA_TRANSFERS, "").strip()
    if extra:
        transfers.extend(_read_transfer_file(Path(extra)))
    return _dedupe(transfers)


@cache
def default_calendar() -> WorkingCalendar:
    """Process-wide calendar; built once because loading holidays is slow.

    Call ``default_calendar.cache_clear()`` after changing the transfer files
    or the environment variable.
    """
    return WorkingCalendar(load_transfers())


def _require_positive(working_days: int) -> None:
    if isinstance(working_days, bool) or not isinstance(working_days, int):
        raise TypeError(f"working_days must be an int, got {type(working_days).__name__}")
    if working_days < 1:
        raise ValueError(f"working_days must be at least 1, got {working_days}")


def _read_transfer_file(path: Path) -> list[Transfer]:
    with path.open(encoding="utf-8") as handle:
        try:
            document = json.load(handle)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON: {exc}") from exc
    return _parse_transfers(document, str(path))


def _parse_transfers(document: Any, source: str) -> list[Transfer]:
    if not isinstance(document, dict) or not isinstance(document.get("transfers"), list):
        raise ValueError(f"{source}: expected an object with a 'transfers' list")
    result: list[Transfer] = []
    for index, entry in enumerate(document["transfers"]):
        where = f"{source}: transfers[{index}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected an object")
        unknown = set(entry) - {"working_day", "day_off", "decree"}
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
        decree = entry.get("decree")
        if not isinstance(decree, str) or not decree.strip():
            raise ValueError(f"{where}: 'decree' must be a non-empty string")
        try:
            result.append(
                Transfer(
                    working_day=_parse_day(entry.get("working_day"), f"{where}.working_day"),
                    day_off=_parse_day(entry.get("day_off"), f"{where}.day_off"),
                    decree=decree,
                    source=source,
                )
            )
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from exc
    return result


def _parse_day(raw: Any, where: str) -> date | None:
    if raw is None:
        return None
    # Only the YYYY-MM-DD form: fromisoformat also accepts "20240504" and
    # week dates, which would make a mistyped entry look valid.
    if not isinstance(raw, str) or len(raw) != 10 or raw[4] != "-" or raw[7] != "-":
        raise ValueError(f"{where}: expected a YYYY-MM-DD string or null, got {raw!r}")
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc


def _dedupe(transfers: Iterable[Transfer]) -> list[Transfer]:
    # The operator file may repeat a decree that a later release ships in the
    # package; the repeat must not count twice nor change the version hash.
    seen: set[tuple[date | None, date | None]] = set()
    result: list[Transfer] = []
    for transfer in transfers:
        key = (transfer.working_day, transfer.day_off)
        if key not in seen:
            seen.add(key)
            result.append(transfer)
    return result


def _calendar_version(transfers: Iterable[Transfer]) -> str:
    # Only the dates matter for results, so decree wording and entry order
    # are left out of the hash.
    pairs = sorted(
        {
            (
                t.working_day.isoformat() if t.working_day else "",
                t.day_off.isoformat() if t.day_off else "",
            )
            for t in transfers
        }
    )
    payload = json.dumps({"holidays": _holidays_version(), "transfers": pairs})
    return "kz-" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:12]


@cache
def _holidays_version() -> str:
    return importlib.metadata.version("holidays")
