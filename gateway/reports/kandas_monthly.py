"""The monthly appendix 3 report of order 170 (p.39), built from the gateway's own records.

One row per IIN of every family member in the career centre's adaptation plans approved
by the end of the month (and of later plans with work done in the month), one column per
service: 27 columns as the form has them (1 the row number, 2 the IIN, 3-27 services
1-25). A service cell is the date it was reported done within the month, or empty. Due
to the local executive body by the 5th of the next month. The figures come from the work
reports the career centre filed here, never from the Kandas system's copy, and the report
says so (`source`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from gateway.domain.kandas_services import REPORT_COLUMNS, load_services

FORM = "order No. 170 of 30 May 2024, appendix 3"
SOURCE = "work reports filed with the gateway (kandas_work_reports), order 170 p.35-37"


@dataclass(frozen=True, slots=True)
class Column:
    number: int
    key: str
    title_ru: str
    title_kk: str


@dataclass(frozen=True, slots=True)
class MonthlyReport:
    career_centre: str
    month: str
    due_by: date
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]
    form: str = FORM
    source: str = SOURCE


def month_bounds(month: str) -> tuple[date, date]:
    """`YYYY-MM` as [first day, first day of the next month); ValueError if malformed."""
    year_s, _, month_s = month.partition("-")
    if len(year_s) != 4 or len(month_s) != 2 or not (year_s + month_s).isdigit():
        raise ValueError("month: must be YYYY-MM, e.g. 2026-11")
    year, number = int(year_s), int(month_s)
    if not 1 <= number <= 12:
        raise ValueError("month: must be YYYY-MM, e.g. 2026-11")
    first = date(year, number, 1)
    return first, date(year + (number == 12), number % 12 + 1, 1)


def columns() -> tuple[Column, ...]:
    return (
        Column(1, "row", "№ п/п", "№"),
        Column(
            2,
            "iin",
            "ИИН кандасов и членов их семей",
            "Қандастар мен олардың отбасы мүшелерінің жеке сәйкестендіру нөмірі",
        ),
        *(
            Column(s.report_column, f"service_{s.code}", s.name_ru, s.name_kk)
            for s in load_services()
        ),
    )


def build(
    career_centre: str,
    month: str,
    adaptations: Sequence[Any],
    reports: Sequence[Any],
) -> MonthlyReport:
    """`adaptations` of the centre (with `id`, `approved_at` date via `approved_on`,
    `members`), `reports` of those adaptations (`adaptation_id`, `member_iin`,
    `service_code`, `done_on`)."""
    first, following = month_bounds(month)
    done: dict[str, dict[int, date]] = {}
    for r in reports:
        if first <= r.done_on < following:
            cell = done.setdefault(r.member_iin, {})
            cell[r.service_code] = max(cell.get(r.service_code, r.done_on), r.done_on)
    rows: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for a in sorted(adaptations, key=lambda a: (a.approved_on, a.id)):
        for member in a.members:
            iin = member["iin"]
            if iin in seen:
                continue
            if a.approved_on >= following and iin not in done:
                continue
            seen.add(iin)
            cells = done.get(iin, {})
            rows.append(
                (
                    str(len(rows) + 1),
                    iin,
                    *(
                        cells[s.code].isoformat() if s.code in cells else ""
                        for s in load_services()
                    ),
                )
            )
    report = MonthlyReport(
        career_centre=career_centre,
        month=month,
        due_by=date(following.year, following.month, 5),
        columns=columns(),
        rows=tuple(rows),
    )
    assert len(report.columns) == REPORT_COLUMNS and all(len(r) == REPORT_COLUMNS for r in rows)
    return report


def to_csv(report: MonthlyReport, language: str = "ru") -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [f"{report.form}; {report.career_centre}; {report.month}; source: {report.source}"]
    )
    writer.writerow([c.number for c in report.columns])
    writer.writerow([c.title_kk if language == "kk" else c.title_ru for c in report.columns])
    writer.writerows(report.rows)
    return out.getvalue()


def to_xlsx(report: MonthlyReport, language: str = "ru") -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = report.month
    sheet.append([f"{report.form}; {report.career_centre}; {report.month}"])
    sheet.append([f"Источник / Дереккөз: {report.source}"])
    sheet.append([c.number for c in report.columns])
    sheet.append([c.title_kk if language == "kk" else c.title_ru for c in report.columns])
    for row in report.rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_json(report: MonthlyReport) -> dict[str, Any]:
    return {
        "career_centre": report.career_centre,
        "month": report.month,
        "due_by": report.due_by.isoformat(),
        "form": report.form,
        "source": report.source,
        "columns": [
            {"number": c.number, "key": c.key, "title_ru": c.title_ru, "title_kk": c.title_kk}
            for c in report.columns
        ],
        "rows": [list(r) for r in report.rows],
    }
