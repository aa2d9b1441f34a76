"""The quarterly report as text, CSV, XLSX and JSON.

All formats are built from one list of sections (`sections`), so a column added once shows
up everywhere and the formats cannot disagree.

CSV: one file, the sections one after another, each headed by its title and separated by
an empty line; UTF-8 with a byte order mark and `;` as the separator. Excel with a Russian
locale opens such a file by double-click with Cyrillic intact and columns split (without
the BOM it guesses a Windows code page; with `,` it puts each row in one cell, because the
comma is the locale's decimal separator). Numbers use a decimal comma for the same reason.

XLSX: a sheet per section, Russian headers, frozen header row, column widths from content.

The family card's figures carry their source (the card's address) and the moment they
were fetched in every format; when the card gave nothing, every format says "no data"
with the reason, in Russian and English, where the changes would be.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.clock import to_almaty
from gateway.reports.conclusion import number_ru
from gateway.reports.family_card import CARD_NAME_RU, DIRECTION_RU, FACT_RU, FamilyCardReading
from gateway.reports.quarterly import AgencyFigures, QuarterlyReport

Cell = str | int | float | None

FIGURE_HEADERS: tuple[str, ...] = (
    "Орган",
    "Код",
    "Поступило",
    "Доставлено",
    "Доставлено в срок",
    "Отчитались об исполнении",
    "Принято",
    "Принято с первого раза",
    "Возвраты на доработку",
    "Отклонено органом",
    "Не доставлено (сбой)",
    "Отменено",
    "Нарушен срок исполнения по ИПР (срок органа)",
    "Медиана, раб. дней от доставки до принятия",
)

#: The centre's own terms, per body whose task they concern: kept out of the bodies' table
#: so that no reader takes the centre's delay for the body's (p.9, p.11).
CENTRE_HEADERS: tuple[str, ...] = (
    "Орган (чьё поручение)",
    "Код",
    "Поступило",
    "Нарушен срок направления органу (п. 9)",
    "Нарушен срок проверки отчёта или отказа (п. 11)",
    "Поручений с нарушением сроков центра",
)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def when(moment: datetime) -> str:
    return to_almaty(moment).strftime("%d.%m.%Y %H:%M")


def figure_row(f: AgencyFigures) -> tuple[Cell, ...]:
    return (
        f.name,
        f.agency,
        f.received,
        f.delivered,
        f.delivered_on_time,
        f.reported,
        f.accepted,
        f.accepted_first_time,
        f.returned,
        f.rejected,
        f.failed,
        f.cancelled,
        f.breached_due_date,
        f.median_days_to_accept,
    )


def centre_row(f: AgencyFigures) -> tuple[Cell, ...]:
    return (
        f.name,
        f.agency,
        f.received,
        f.breached_routing,
        f.breached_review,
        f.tasks_with_centre_breach,
    )


FAMILY_HEADERS: tuple[str, ...] = (
    "ИПР",
    "Идентификатор плана",
    "Дата изменения",
    "Что изменилось",
    "Было",
    "Стало",
    "Оценка",
    "Внесено в ЦКС",
    "Сообщил",
    "Источник",
    "Получено из ЦКС",
)


def card_line(card: FamilyCardReading) -> str:
    """One line on the card: where from and when, or no data and why (Russian, English)."""
    if not card.available:
        return f"{card.no_data_ru}. {card.no_data_en}."
    fetched = when(card.fetched_at) if card.fetched_at else "—"
    line = f"источник: {card.source_ru}; получено {fetched} (время Алматы)"
    if card.as_of is not None:
        line += f"; данные карты на {when(card.as_of)}"
    return line


def header_lines(report: QuarterlyReport) -> list[tuple[str, str]]:
    period_end = when(report.cutoff)
    card = report.family_card
    lines = [
        ("Отчёт", "Мониторинг совместной работы по ИПР (приказ № 192, пп. 13–14)"),
        ("Центр поддержки семьи", report.centre),
        ("Квартал", f"{report.quarter.title_ru} ({report.quarter.label})"),
        ("Период", f"{when(report.quarter.start)} — {period_end} (время Алматы)"),
        ("Сформирован", when(report.generated_at)),
        ("Статус", "предварительный (квартал не закончился)" if report.preliminary else "итоговый"),
        ("Семей под наблюдением", str(report.families_monitored)),
        (CARD_NAME_RU, card_line(card)),
    ]
    if card.available and card.unknown:
        lines.append(("Семей, не найденных в ЦКС", str(len(card.unknown))))
    return lines


def family_rows(report: QuarterlyReport) -> tuple[tuple[Cell, ...], ...]:
    card = report.family_card
    if not card.available:
        return ((card.no_data_ru,), (card.no_data_en,))
    fetched = when(card.fetched_at) if card.fetched_at else ""
    return tuple(
        (
            family.external_id or "",
            family.plan_id,
            change.on.strftime("%d.%m.%Y"),
            FACT_RU[change.fact] if change.fact else "",
            change.from_status,
            change.to_status,
            DIRECTION_RU[change.direction],
            when(change.recorded_at) if change.recorded_at else "",
            change.reported_by,
            card.source_ru,
            fetched,
        )
        for family in report.families
        for change in family.changes
    )


def sections(report: QuarterlyReport) -> list[Section]:
    figures = tuple(figure_row(f) for f in (*report.agencies, report.total))
    centre = tuple(centre_row(f) for f in (*report.agencies, report.total))
    families = family_rows(report)
    findings: tuple[tuple[Cell, ...], ...] = (
        *(
            (
                finding.name,
                finding.rating,
                "; ".join(finding.shortcomings),
                "; ".join(dict.fromkeys(finding.proposals)),
            )
            for finding in report.conclusion.findings
        ),
        ("Социальный статус семей", report.conclusion.families, "", ""),
    )
    notes = tuple((k, v) for k, v in header_lines(report)) + tuple(
        ("Определение", note) for note in report.notes
    )
    return [
        Section("figures", "Показатели по органам", FIGURE_HEADERS, figures),
        Section("centre", "Сроки центра (пп. 9, 11)", CENTRE_HEADERS, centre),
        Section(
            "families",
            "Изменения статуса семей (ЦКС)",
            FAMILY_HEADERS,
            families,
        ),
        Section(
            "conclusion",
            "Заключение",
            ("Орган", "Оценка работы", "Недостатки", "Предложения"),
            findings,
        ),
        Section("notes", "Примечания", ("Параметр", "Значение"), notes),
    ]


# --- CSV ---------------------------------------------------------------------------------

CSV_DELIMITER = ";"


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return number_ru(value)
    return str(value)


def to_csv(report: QuarterlyReport) -> bytes:
    """UTF-8 with BOM, `;`-separated: see the module docstring for why."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    for index, section in enumerate(sections(report)):
        if index:
            writer.writerow([])
        writer.writerow([section.title])
        writer.writerow(section.headers)
        for row in section.rows:
            writer.writerow([_csv_cell(c) for c in row])
    return buffer.getvalue().encode("utf-8-sig")


# --- XLSX --------------------------------------------------------------------------------

SHEET_TITLES = {
    "figures": "Показатели",
    "centre": "Сроки центра",
    "families": "Семьи (ЦКС)",
    "conclusion": "Заключение",
    "notes": "Примечания",
}
MAX_COLUMN_WIDTH = 60
MIN_COLUMN_WIDTH = 8


def to_xlsx(report: QuarterlyReport) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    workbook.remove(workbook.active)
    for section in sections(report):
        sheet = workbook.create_sheet(SHEET_TITLES[section.key])
        sheet.append(list(section.headers))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in section.rows:
            sheet.append(list(row))
        sheet.freeze_panes = "A2"
        widths = _column_widths(section.headers, section.rows)
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[_column_letter(index)].width = width
        if section.key == "conclusion" or section.key == "notes":
            for row_cells in sheet.iter_rows(min_row=2):
                for cell in row_cells:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index))


def _column_widths(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> list[float]:
    """Wide enough for the content, capped so long texts wrap instead of running off."""
    widths: list[float] = []
    for col, header in enumerate(headers):
        # Headers wrap, so they count by their longest word rather than their length.
        longest = max((len(word) for word in header.split()), default=0)
        for row in rows:
            value = row[col] if col < len(row) else None
            longest = max(longest, len(_csv_cell(value)))
        widths.append(float(min(MAX_COLUMN_WIDTH, max(MIN_COLUMN_WIDTH, longest + 2))))
    return widths


# --- JSON --------------------------------------------------------------------------------


def to_json_data(report: QuarterlyReport) -> dict[str, Any]:
    """Plain data for the web page and for machines; times in Almaty, ISO 8601."""

    def figures(f: AgencyFigures) -> dict[str, Any]:
        return {
            "agency": f.agency,
            "name": f.name,
            "received": f.received,
            "delivered": f.delivered,
            "delivered_on_time": f.delivered_on_time,
            "reported": f.reported,
            "accepted": f.accepted,
            "accepted_first_time": f.accepted_first_time,
            "returned": f.returned,
            "rejected": f.rejected,
            "failed": f.failed,
            "cancelled": f.cancelled,
            # Whose duty each term is, kept apart (p.9, p.11 the centre's; p.10 the body's).
            "breached_by_body": {"due_date": f.breached_due_date},
            "breached_by_centre": {"routing": f.breached_routing, "review": f.breached_review},
            "tasks_with_breach": f.tasks_with_breach,
            "tasks_with_centre_breach": f.tasks_with_centre_breach,
            "median_working_days_delivery_to_acceptance": f.median_days_to_accept,
            "acceptance_samples": f.accept_samples,
        }

    return {
        "centre": report.centre,
        "quarter": report.quarter.label,
        "period": {
            "start": report.quarter.start.isoformat(),
            "end": report.quarter.end.isoformat(),
            "cutoff": to_almaty(report.cutoff).isoformat(),
        },
        "generated_at": to_almaty(report.generated_at).isoformat(),
        "preliminary": report.preliminary,
        "agencies": [figures(f) for f in report.agencies],
        "total": figures(report.total),
        "families_monitored": report.families_monitored,
        "family_card": card_json(report.family_card),
        # None, not [], when the card gave nothing: "no data" must not read as "no changes".
        "families": [
            {
                "plan_id": family.plan_id,
                "external_id": family.external_id,
                "changes": [
                    {
                        "on": c.on.isoformat(),
                        "fact": c.fact.value if c.fact else None,
                        "from": c.from_status or None,
                        "to": c.to_status,
                        "direction": c.direction.value,
                        "recorded_at": to_almaty(c.recorded_at).isoformat()
                        if c.recorded_at
                        else None,
                        "reported_by": c.reported_by or None,
                    }
                    for c in family.changes
                ],
            }
            for family in report.families
        ]
        if report.family_card.available
        else None,
        "conclusion": {
            "findings": [
                {
                    "agency": f.agency,
                    "name": f.name,
                    "rating": f.rating,
                    "shortcomings": list(f.shortcomings),
                    "proposals": list(f.proposals),
                }
                for f in report.conclusion.findings
            ],
            "families": report.conclusion.families,
            "text": report.conclusion.text,
        },
        "notes": list(report.notes),
    }


def card_json(card: FamilyCardReading) -> dict[str, Any]:
    def moment(value: datetime | None) -> str | None:
        return to_almaty(value).isoformat() if value is not None else None

    return {
        "source": "digital family card (ЦКС)",
        "url": card.url,
        "available": card.available,
        "fetched_at": moment(card.fetched_at),
        "as_of": moment(card.as_of),
        "families_unknown_to_card": len(card.unknown) if card.available else None,
        "no_data": None
        if card.available
        else {
            "reason": card.no_data.value if card.no_data else None,
            "text_ru": card.no_data_ru,
            "text_en": card.no_data_en,
            "detail": card.detail or None,
        },
    }


def to_json(report: QuarterlyReport) -> str:
    return json.dumps(to_json_data(report), ensure_ascii=False, indent=2)


# --- text --------------------------------------------------------------------------------

TEXT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Пост.", "received"),
    ("Дост.", "delivered"),
    ("В срок", "delivered_on_time"),
    ("Отч.", "reported"),
    ("Прин.", "accepted"),
    ("1-й раз", "accepted_first_time"),
    ("Возвр.", "returned"),
    ("Откл.", "rejected"),
    ("Н.ИПР", "breached_due_date"),
)
CENTRE_TEXT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Пост.", "received"),
    ("Н.напр", "breached_routing"),
    ("Н.пров", "breached_review"),
)


def to_text(report: QuarterlyReport) -> str:
    """For the terminal: a compact table with a legend, the families and the conclusion."""
    lines = [f"{k}: {v}" for k, v in header_lines(report)]
    rows = [*report.agencies, report.total]
    name_width = max(len(f.name) for f in rows)
    head = f"{'Орган':<{name_width}}  " + " ".join(f"{h:>7}" for h, _ in TEXT_COLUMNS)
    head += "  Медиана"
    lines += ["", "Показатели по органам", head, "-" * len(head)]
    for f in rows:
        median = "—" if f.median_days_to_accept is None else number_ru(f.median_days_to_accept)
        cells = " ".join(f"{getattr(f, attr):>7}" for _, attr in TEXT_COLUMNS)
        lines.append(f"{f.name:<{name_width}}  {cells}  {median:>7}")
    head = f"{'Орган (чьё поручение)':<{name_width}}  " + " ".join(
        f"{h:>7}" for h, _ in CENTRE_TEXT_COLUMNS
    )
    lines += ["", "Сроки центра (пп. 9, 11)", head, "-" * len(head)]
    for f in rows:
        cells = " ".join(f"{getattr(f, attr):>7}" for _, attr in CENTRE_TEXT_COLUMNS)
        lines.append(f"{f.name:<{name_width}}  {cells}")
    lines += [
        "",
        "Пост. — поступило; Дост. — доставлено; В срок — доставлено в срок направления; "
        "Отч. — отчитались; Прин. — принято; 1-й раз — принято с первого раза; "
        "Возвр. — возвраты на доработку; Откл. — отклонено органом; Н.ИПР — нарушен срок "
        "органа по ИПР; Медиана — рабочих дней от доставки до принятия. Сроки центра: "
        "Н.напр — нарушен срок направления органу (п. 9), Н.пров — нарушен срок проверки "
        "отчёта или отказа (п. 11).",
        "",
        "Изменения статуса семей (ЦКС)",
        f"  {card_line(report.family_card)}",
    ]
    # With no data the line above says so and why; there is no list to show.
    for family in report.families:
        for change in family.changes:
            fact = f"{FACT_RU[change.fact]}: " if change.fact else ""
            recorded = f", внесено {when(change.recorded_at)}" if change.recorded_at else ""
            lines.append(
                f"  {family.external_id or family.plan_id}: {change.on:%d.%m.%Y} "
                f"{fact}{change.text_ru} ({DIRECTION_RU[change.direction]}{recorded})"
            )
    if report.family_card.available and not report.families:
        lines.append("  изменений нет")
    lines += ["", report.conclusion.text, "", "Примечания"]
    lines += [f"  – {note}" for note in report.notes]
    return "\n".join(lines) + "\n"
