"""The report's exports: CSV and XLSX read back, the SVG parsed, JSON loadable."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import date, datetime

from openpyxl import load_workbook

from contracts.clock import ALMATY
from contracts.family_card import StatusFact
from gateway.reports import export
from gateway.reports.chart import bar_chart_svg, report_chart_svg
from gateway.reports.conclusion import conclude
from gateway.reports.family_card import (
    Direction,
    FamilyCardReading,
    NoDataReason,
    StatusChange,
)
from gateway.reports.quarter import Quarter
from gateway.reports.quarterly import AgencyFigures, FamilyStatus, QuarterlyReport

SVG = "{http://www.w3.org/2000/svg}"


CARD_URL = "http://card.test:8240"
FETCHED = datetime(2026, 10, 2, 9, 0, 30, tzinfo=ALMATY)


def sample_report(card: FamilyCardReading | None = None) -> QuarterlyReport:
    agencies = (
        AgencyFigures(
            "housing",
            "Жилищные отношения",
            received=10,
            delivered=9,
            delivered_on_time=7,
            reported=8,
            accepted=6,
            accepted_first_time=4,
            returned=3,
            breached_routing=3,
            breached_due_date=4,
            tasks_with_breach=4,
            tasks_with_centre_breach=3,
            median_days_to_accept=2.5,
            accept_samples=6,
        ),
        AgencyFigures("culture", "Культура & <искусство>", received=1, delivered=1),
    )
    total = AgencyFigures("", "Итого", received=11, delivered=10, median_days_to_accept=2.5)
    change = StatusChange(
        date(2026, 8, 3),
        "малообеспеченная",
        "вышла из ТЖС",
        Direction.improved,
        fact=StatusFact.difficult_situation,
        recorded_at=datetime(2026, 8, 5, 11, 15, tzinfo=ALMATY),
        reported_by="Отдел занятости и социальных программ",
    )
    if card is None:
        card = FamilyCardReading(
            url=CARD_URL,
            fetched_at=FETCHED,
            as_of=FETCHED,
            changes={"plan-1": (change,)},
        )
    families = tuple(
        FamilyStatus(plan_id, external, card.changes[plan_id])
        for plan_id, external in (("plan-1", "ИПР-0001"),)
        if plan_id in card.changes
    )
    return QuarterlyReport(
        centre="almaty-bostandyk",
        quarter=Quarter(2026, 3),
        generated_at=datetime(2026, 10, 2, 9, tzinfo=ALMATY),
        cutoff=Quarter(2026, 3).end,
        agencies=agencies,
        total=total,
        families_monitored=3,
        families=families,
        family_card=card,
        conclusion=conclude(agencies, families, card=card),
    )


def no_card_report() -> QuarterlyReport:
    return sample_report(
        FamilyCardReading.without_data(
            NoDataReason.unavailable,
            url=CARD_URL,
            detail="family_card: unreachable (ConnectError) on POST /api/v1/status-changes/query",
        )
    )


NO_DATA_RU = "Нет данных из Цифровой карты семьи (ЦКС недоступна или не ответила вовремя)"
NO_DATA_EN = "No data from the digital family card (ЦКС): the card is unreachable"


def test_csv_has_bom_semicolons_and_reads_back() -> None:
    data = export.to_csv(sample_report())
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Показатели по органам"]
    assert rows[1] == list(export.FIGURE_HEADERS)
    housing = dict(zip(rows[1], rows[2], strict=True))
    assert housing["Поступило"] == "10" and housing["Возвраты на доработку"] == "3"
    assert housing["Медиана, раб. дней от доставки до принятия"] == "2,5"
    assert rows[3][0] == "Культура & <искусство>" and rows[3][-1] == ""
    assert "Нарушен срок направления органу (п. 9)" not in rows[1]  # the centre's, apart
    titles = [r[0] for r in rows if len(r) == 1]
    assert titles == [
        "Показатели по органам",
        "Сроки центра (пп. 9, 11)",
        "Изменения статуса семей (ЦКС)",
        "Заключение",
        "Примечания",
    ]
    assert any("вышла из ТЖС" in cell for r in rows for cell in r)


def test_xlsx_has_a_sheet_per_section_and_reads_back() -> None:
    workbook = load_workbook(io.BytesIO(export.to_xlsx(sample_report())))
    assert workbook.sheetnames == [
        "Показатели",
        "Сроки центра",
        "Семьи (ЦКС)",
        "Заключение",
        "Примечания",
    ]
    centre = workbook["Сроки центра"]
    assert [c.value for c in centre[1]] == list(export.CENTRE_HEADERS)
    assert [c.value for c in centre[2]] == ["Жилищные отношения", "housing", 10, 3, 0, 3]
    sheet = workbook["Показатели"]
    header = [c.value for c in sheet[1]]
    assert header == list(export.FIGURE_HEADERS)
    first = [c.value for c in sheet[2]]
    assert first[:3] == ["Жилищные отношения", "housing", 10] and first[-1] == 2.5
    assert sheet["A4"].value == "Итого"
    assert sheet.freeze_panes == "A2"
    widths = [sheet.column_dimensions[letter].width for letter in "ABC"]
    assert all(export.MIN_COLUMN_WIDTH <= w <= export.MAX_COLUMN_WIDTH for w in widths)
    assert widths[0] >= len("Культура & <искусство>")
    families = workbook["Семьи (ЦКС)"]
    assert [c.value for c in families[1]] == list(export.FAMILY_HEADERS)
    assert [c.value for c in families[2]] == [
        "ИПР-0001",
        "plan-1",
        "03.08.2026",
        "трудная жизненная ситуация",
        "малообеспеченная",
        "вышла из ТЖС",
        "улучшение",
        "05.08.2026 11:15",
        "Отдел занятости и социальных программ",
        f"Цифровая карта семьи (ЦКС), {CARD_URL}",
        "02.10.2026 09:00",
    ]
    conclusion = workbook["Заключение"]
    rows = [[str(c.value) for c in row] for row in conclusion.iter_rows()]
    (centre_row,) = [r for r in rows if r[0] == "Центр поддержки семьи"]
    assert "нарушен срок направления ИПР органу" in centre_row[2]
    (housing_row,) = [r for r in rows if r[0] == "Жилищные отношения"]
    assert "направлен" not in housing_row[2]


def test_svg_is_well_formed_and_accessible() -> None:
    svg = report_chart_svg(sample_report())
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title is not None and "III квартал 2026" in (title.text or "")
    assert desc is not None and "Жилищные отношения: поступило 10" in (desc.text or "")
    assert set((root.get("aria-labelledby") or "").split()) == {title.get("id"), desc.get("id")}
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Культура & <искусство>" in texts  # escaped in the source, intact when parsed
    assert {"10", "7", "4"} <= set(texts)
    bars = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(bars) == 2 * 3
    widest = max(float(r.get("width") or 0) for r in bars)
    assert widest == 380.0


def test_svg_with_no_agencies() -> None:
    root = ET.fromstring(bar_chart_svg([], title="Пусто"))
    assert any("нет" in (t.text or "") for t in root.iter(f"{SVG}text"))


def test_json_and_text() -> None:
    data = json.loads(export.to_json(sample_report()))
    assert data["quarter"] == "2026Q3" and data["preliminary"] is False
    housing = data["agencies"][0]
    assert housing["breached_by_centre"] == {"routing": 3, "review": 0}
    assert housing["breached_by_body"] == {"due_date": 4}
    assert housing["tasks_with_centre_breach"] == 3
    assert data["period"]["start"] == "2026-07-01T00:00:00+05:00"
    text = export.to_text(sample_report())
    assert "III квартал 2026 г." in text and "Заключение по итогам мониторинга" in text
    assert "малообеспеченная → вышла из ТЖС (улучшение, внесено 05.08.2026 11:15)" in text


def test_text_names_the_card_and_when_it_was_read() -> None:
    text = export.to_text(sample_report())
    assert f"источник: Цифровая карта семьи (ЦКС), {CARD_URL}; получено 02.10.2026 09:00" in text
    assert (
        "ИПР-0001: 03.08.2026 трудная жизненная ситуация: малообеспеченная → вышла из ТЖС" in text
    )


def test_every_format_says_no_data_and_why_when_the_card_gave_none() -> None:
    report = no_card_report()
    text = export.to_text(report)
    assert NO_DATA_RU in text and NO_DATA_EN in text and "ConnectError" in text
    assert "изменений нет" not in text and "улучшение" not in text

    rows = list(csv.reader(io.StringIO(export.to_csv(report).decode("utf-8-sig")), delimiter=";"))
    at = rows.index(["Изменения статуса семей (ЦКС)"])
    assert rows[at + 2][0].startswith(NO_DATA_RU) and rows[at + 3][0].startswith(NO_DATA_EN)
    assert rows[at + 4] == []  # nothing else in the section: no invented rows

    book = load_workbook(io.BytesIO(export.to_xlsx(report)))
    cells = [c.value for row in book["Семьи (ЦКС)"].iter_rows(min_row=2) for c in row if c.value]
    assert len(cells) == 2
    assert cells[0].startswith(NO_DATA_RU) and cells[1].startswith(NO_DATA_EN)

    data = json.loads(export.to_json(report))
    assert data["families"] is None  # not [], which would read as "no changes"
    card = data["family_card"]
    assert card["available"] is False and card["url"] == CARD_URL and card["fetched_at"] is None
    assert card["no_data"]["reason"] == "unavailable"
    assert card["no_data"]["text_ru"] == NO_DATA_RU
    assert "ConnectError" in card["no_data"]["detail"]
    assert data["conclusion"]["families"].startswith(NO_DATA_RU)

    svg = ET.fromstring(report_chart_svg(report))
    texts = [t.text or "" for t in svg.iter(f"{SVG}text")]
    assert any(NO_DATA_RU in t for t in texts)
    desc = svg.find(f"{SVG}desc")
    assert desc is not None and NO_DATA_RU in (desc.text or "")


def test_json_and_svg_carry_the_card_source_and_time() -> None:
    data = json.loads(export.to_json(sample_report()))
    card = data["family_card"]
    assert card == {
        "source": "digital family card (ЦКС)",
        "url": CARD_URL,
        "available": True,
        "fetched_at": "2026-10-02T09:00:30+05:00",
        "as_of": "2026-10-02T09:00:30+05:00",
        "families_unknown_to_card": 0,
        "no_data": None,
    }
    change = data["families"][0]["changes"][0]
    assert change["fact"] == "difficult_situation" and change["direction"] == "improved"
    assert change["recorded_at"] == "2026-08-05T11:15:00+05:00"
    texts = [
        t.text or "" for t in ET.fromstring(report_chart_svg(sample_report())).iter(f"{SVG}text")
    ]
    assert "Семьи: изменение социального статуса в ЦКС у 1 из 3." in texts
    assert f"Источник: Цифровая карта семьи (ЦКС), {CARD_URL}." in texts
    assert any(t.startswith("Получено: 02.10.2026 09:00") for t in texts)
