"""Where each day of the working-day calendar comes from, and which days are disputed.

`gateway.workdays` answers "is this a working day?"; this module answers "says who?".
Every day off and every moved working day of a year is listed with its source: the
`holidays` package (with its version and the holiday's name), a decree line in our data
file, or a line in the operator's file. Sources can disagree (for 2026 the package has no
Constitution Day while a published calendar gives 31 August off), and the calendar must
not pick silently: such a day is a *dispute*, kept as data (`gateway/data/calendar_
disputes.json` and the operator's file named by `GATEWAY_CALENDAR_DISPUTES`). A dispute
changes no deadline; it marks every term that crosses the day, so the centre sees that
the due date may be a day off from what another calendar says.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import holidays

from contracts.clock import to_almaty
from gateway.workdays import PACKAGED_TRANSFERS, WorkingCalendar

__all__ = [
    "ENV_DISPUTES",
    "CalendarDay",
    "Claim",
    "Dispute",
    "add_dispute",
    "crossed",
    "disputes_file",
    "load_disputes",
    "remove_dispute",
    "year_days",
]

ENV_DISPUTES = "GATEWAY_CALENDAR_DISPUTES"
PACKAGED_DISPUTES = Path(__file__).resolve().parent / "data" / "calendar_disputes.json"
DEFAULT_OPERATOR_DISPUTES = Path(".gateway") / "calendar-disputes.json"

Says = Literal["working", "day_off", "unknown"]


@dataclass(frozen=True)
class Claim:
    source: str
    says: Says
    note: str = ""


@dataclass(frozen=True)
class Dispute:
    day: date
    reason: str
    claims: tuple[Claim, ...]
    file: str
    """The file that records the dispute (ours, or the operator's)."""


@dataclass(frozen=True)
class CalendarDay:
    day: date
    working: bool
    what: str
    """The holiday's or decree's wording."""
    source: str


def package_source() -> str:
    return f"holidays {importlib.metadata.version('holidays')}"


def _is_ours(path: str) -> bool:
    return Path(path).resolve() == PACKAGED_TRANSFERS


def year_days(calendar: WorkingCalendar, year: int) -> list[CalendarDay]:
    """Every day off that is not a plain Saturday or Sunday, every weekend day off by a
    holiday, and every moved working day of `year`, with its source; sorted by date.
    Where a decree line overrides the package, the decree is the source shown."""
    # The package's own (Kazakh) names: the official ones, and the same on every machine
    # whatever its locale.
    package = holidays.country_holidays("KZ", years=range(year - 1, year + 2), language="kk")
    found: dict[date, CalendarDay] = {}
    pkg = package_source()
    for day in sorted(d for d in package if d.year == year):
        found[day] = CalendarDay(day, calendar.is_working_day(day), str(package[day]), pkg)
    for day in sorted(d for d in package.weekend_workdays if d.year == year):
        found[day] = CalendarDay(
            day, calendar.is_working_day(day), "рабочий день (перенос по решению)", pkg
        )
    for transfer in calendar.transfers:
        origin = "решение в данных шлюза" if _is_ours(transfer.source) else "файл оператора"
        source = f"{origin} ({transfer.source or '—'})"
        for moved, label in ((transfer.working_day, "рабочий"), (transfer.day_off, "выходной")):
            if moved is not None and moved.year == year:
                found[moved] = CalendarDay(
                    moved, calendar.is_working_day(moved), f"{label}: {transfer.decree}", source
                )
    return [found[d] for d in sorted(found)]


def gateway_day(calendar: WorkingCalendar, day: date) -> CalendarDay:
    """A day neither the package nor a decree names: a plain weekday or weekend."""
    return CalendarDay(
        day,
        calendar.is_working_day(day),
        "ни пакет, ни решения о переносе не называют этот день",
        f"{package_source()} и решения о переносе",
    )


# --- disputes ---------------------------------------------------------------------------


def disputes_file() -> Path:
    """The operator's file of disputes (written by `gateway calendar dispute`)."""
    named = os.environ.get(ENV_DISPUTES, "").strip()
    return Path(named) if named else DEFAULT_OPERATOR_DISPUTES


def _parse(document: Any, where: str) -> list[Dispute]:
    if not isinstance(document, dict) or not isinstance(document.get("disputes"), list):
        raise ValueError(f"{where}: expected an object with a 'disputes' list")
    result = []
    for index, entry in enumerate(document["disputes"]):
        at = f"{where}: disputes[{index}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{at}: expected an object")
        raw = entry.get("day")
        if not isinstance(raw, str) or len(raw) != 10:
            raise ValueError(f"{at}.day: expected YYYY-MM-DD, got {raw!r}")
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"{at}.reason: a non-empty text is required")
        claims = []
        for claim in entry.get("claims") or []:
            says = claim.get("says", "unknown")
            if says not in ("working", "day_off", "unknown"):
                raise ValueError(f"{at}.claims: 'says' must be working, day_off or unknown")
            claims.append(Claim(str(claim.get("source", "")), says, str(claim.get("note", ""))))
        result.append(Dispute(date.fromisoformat(raw), reason.strip(), tuple(claims), where))
    return result


def _read(path: Path) -> list[Dispute]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON: {error}") from error
    return _parse(document, str(path))


_cache: dict[tuple[str, float], list[Dispute]] = {}


def _read_cached(path: Path) -> list[Dispute]:
    """Re-read when the file changes, so a dispute the operator adds shows at once."""
    try:
        stamp = path.stat().st_mtime
    except FileNotFoundError:
        return []
    key = (str(path), stamp)
    if key not in _cache:
        if len(_cache) > 16:
            _cache.clear()
        _cache[key] = _read(path)
    return _cache[key]


def load_disputes(operator_file: Path | None = None) -> list[Dispute]:
    """Ours, then the operator's (a missing operator file is no dispute at all)."""
    found = _read_cached(PACKAGED_DISPUTES) + _read_cached(operator_file or disputes_file())
    return sorted(found, key=lambda d: d.day)


def _write(path: Path, disputes: Iterable[Dispute]) -> None:
    document = {
        "description": "Disputed days added by an operator (gateway calendar dispute).",
        "disputes": [
            {
                "day": d.day.isoformat(),
                "reason": d.reason,
                "claims": [{"source": c.source, "says": c.says, "note": c.note} for c in d.claims],
            }
            for d in sorted(disputes, key=lambda d: d.day)
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", "utf-8")
    temporary.replace(path)


def add_dispute(
    day: date, reason: str, claims: Sequence[Claim] = (), path: Path | None = None
) -> Path:
    """Mark `day` disputed in the operator's file (replacing an earlier line for it)."""
    target = path or disputes_file()
    existing = [d for d in (_read(target) if target.exists() else []) if d.day != day]
    _write(target, [*existing, Dispute(day, reason, tuple(claims), str(target))])
    return target


def remove_dispute(day: date, path: Path | None = None) -> bool:
    """Settle `day` in the operator's file; False when the file has no such dispute."""
    target = path or disputes_file()
    if not target.exists():
        return False
    existing = _read(target)
    kept = [d for d in existing if d.day != day]
    if len(kept) == len(existing):
        return False
    _write(target, kept)
    return True


def crossed(disputes: Sequence[Dispute], starts_at: datetime, due_at: datetime) -> list[Dispute]:
    """The disputed days a term runs through: after its start's Almaty day (the day of
    the event never counts), up to and including its due day. Whichever way the dispute
    is settled, such a term's end may move by a day; a term that ends before the day does
    not."""
    first = to_almaty(starts_at).date() + timedelta(days=1)
    last = to_almaty(due_at).date()
    return [d for d in disputes if first <= d.day <= last]
