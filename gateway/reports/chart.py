"""A server-rendered bar chart of the quarterly figures, as an SVG string.

Rendered on the server so the web page needs no charting script and the chart reads the
same in a printed report; horizontal bars because the bodies' Russian names are long. The
SVG carries a title and a description (`role="img"`, `aria-labelledby`) and every bar its
value as text, so a screen reader or a grey-scale print loses nothing the colours say.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

from gateway.reports.export import when
from gateway.reports.quarterly import AgencyFigures, QuarterlyReport

SERIES: tuple[tuple[str, str, str], ...] = (
    ("received", "Поступило", "#4C78A8"),
    ("delivered_on_time", "Доставлено в срок", "#54A24B"),
    ("breached_due_date", "Нарушен срок органа по ИПР", "#E45756"),
)
LABEL_WIDTH = 300
BAR_AREA = 380
VALUE_WIDTH = 40
BAR_HEIGHT = 14
BAR_GAP = 3
GROUP_GAP = 14
TOP = 56
LEGEND_HEIGHT = 28
FOOTNOTE_HEIGHT = 16
FONT = 'font-family="Arial, sans-serif"'


def _value(figures: AgencyFigures, attr: str) -> int:
    return int(getattr(figures, attr))


def bar_chart_svg(
    figures: Sequence[AgencyFigures],
    *,
    title: str,
    chart_id: str = "quarterly-chart",
    footnotes: Sequence[str] = (),
) -> str:
    """Grouped horizontal bars per body: received, on time, with a breach.

    ``footnotes`` are lines under the legend (and in the description), for what the
    chart does not draw but a reader of it must not miss, such as the family card.
    """
    width = LABEL_WIDTH + BAR_AREA + VALUE_WIDTH + 20
    group_height = len(SERIES) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP
    body_height = max(1, len(figures)) * (group_height + GROUP_GAP)
    height = TOP + body_height + LEGEND_HEIGHT + 10 + FOOTNOTE_HEIGHT * len(footnotes)
    peak = max((_value(f, attr) for f in figures for attr, _, _ in SERIES), default=0)
    scale = BAR_AREA / peak if peak else 0.0
    desc = (
        "; ".join(
            f"{f.name}: "
            + ", ".join(f"{label.lower()} {_value(f, attr)}" for attr, label, _ in SERIES)
            for f in figures
        )
        or "Поручений в периоде нет."
    )
    if footnotes:
        desc = " ".join([desc.rstrip(".") + ".", *footnotes])
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" id={quoteattr(chart_id)}>',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(desc)}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="10" y="24" {FONT} font-size="15" font-weight="bold" fill="#222">'
        f"{escape(title)}</text>",
    ]
    x0 = LABEL_WIDTH
    parts.append(
        f'<line x1="{x0}" y1="{TOP - 6}" x2="{x0}" y2="{TOP + body_height - GROUP_GAP + 6}" '
        'stroke="#888" stroke-width="1"/>'
    )
    if not figures:
        parts.append(
            f'<text x="{x0 + 8}" y="{TOP + 12}" {FONT} font-size="12" fill="#555">'
            "Поручений в периоде нет</text>"
        )
    for index, f in enumerate(figures):
        y = TOP + index * (group_height + GROUP_GAP)
        parts.append(
            f'<text x="{x0 - 8}" y="{y + group_height / 2 + 4:.1f}" text-anchor="end" {FONT} '
            f'font-size="12" fill="#222">{escape(f.name)}</text>'
        )
        for series_index, (attr, label, colour) in enumerate(SERIES):
            value = _value(f, attr)
            bar_y = y + series_index * (BAR_HEIGHT + BAR_GAP)
            bar_width = value * scale
            parts.append(
                f'<rect x="{x0}" y="{bar_y}" width="{bar_width:.1f}" height="{BAR_HEIGHT}" '
                f'fill="{colour}"><title>{escape(f"{f.name}: {label.lower()} {value}")}'
                "</title></rect>"
            )
            parts.append(
                f'<text x="{x0 + bar_width + 4:.1f}" y="{bar_y + BAR_HEIGHT - 3}" {FONT} '
                f'font-size="11" fill="#222">{value}</text>'
            )
    legend_y = TOP + body_height + 8
    x = 10
    for _, label, colour in SERIES:
        parts.append(
            f'<rect x="{x}" y="{legend_y}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16}" y="{legend_y + 10}" {FONT} font-size="12" fill="#222">'
            f"{escape(label)}</text>"
        )
        x += 16 + 8 * len(label) + 24
    for index, note in enumerate(footnotes):
        y = legend_y + LEGEND_HEIGHT + 6 + index * FOOTNOTE_HEIGHT
        parts.append(
            f'<text x="10" y="{y}" {FONT} font-size="11" fill="#333">{escape(note)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def family_footnotes(report: QuarterlyReport) -> list[str]:
    """The families' line of a chart: counted from the card with its source, or no data."""
    card = report.family_card
    if not card.available:
        return [f"Семьи: {card.no_data_ru}."]
    changed = len(report.families)
    return [
        f"Семьи: изменение социального статуса в ЦКС у {changed} из {report.families_monitored}.",
        f"Источник: {card.source_ru}.",
        f"Получено: {when(card.fetched_at) if card.fetched_at else '—'} (время Алматы)"
        + (f"; данные карты на {when(card.as_of)}." if card.as_of else "."),
    ]


def report_chart_svg(report: QuarterlyReport) -> str:
    """The chart for a report: its bodies, titled with the centre and the quarter, with the
    family card's line under it (a chart on its own must not lose where that came from)."""
    return bar_chart_svg(
        report.agencies,
        title=f"Поручения по органам, {report.quarter.title_ru}: {report.centre}",
        chart_id=f"chart-{report.quarter.label}",
        footnotes=family_footnotes(report),
    )
