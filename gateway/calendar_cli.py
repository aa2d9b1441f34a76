"""`gateway calendar show YEAR` and `gateway calendar dispute DAY`: the calendar's sources.

Kept out of `gateway/cli.py`, which only mounts these commands on its calendar group.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

WEEKDAYS_RU = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")


def _day(text: str, hint: str) -> date:
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"'{text}' is not a YYYY-MM-DD date", param_hint=hint) from None


def show(
    year: Annotated[int, typer.Argument(help="The year, e.g. 2026.", min=1991, max=2100)],
) -> None:
    """Every day off and every moved working day of YEAR with its source, and the disputes."""
    from gateway.calendar_sources import gateway_day, load_disputes, package_source, year_days
    from gateway.workdays import default_calendar

    calendar = default_calendar()
    disputes = {d.day: d for d in load_disputes() if d.day.year == year}
    days = year_days(calendar, year)
    weekends = sum(
        1
        for n in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)
        if date.fromordinal(date(year, 1, 1).toordinal() + n).weekday() >= 5
    )
    typer.echo(f"Производственный календарь Республики Казахстан, {year} год")
    typer.echo(
        f"Источники: пакет {package_source()}, решения о переносе в данных шлюза и в файле "
        f"оператора; версия календаря {calendar.version}."
    )
    typer.echo(
        f"Суббота и воскресенье — выходные ({weekends} дн.), кроме рабочих дней, перенесённых "
        "решением; ниже — все остальные выходные и все перенесённые рабочие дни."
    )
    typer.echo("")
    listed = {d.day for d in days}
    days += [gateway_day(calendar, day) for day in disputes if day not in listed]
    for entry in sorted(days, key=lambda d: d.day):
        status = "рабочий" if entry.working else "выходной"
        mark = "  [ОСПАРИВАЕТСЯ]" if entry.day in disputes else ""
        typer.echo(
            f"{entry.day.isoformat()} {WEEKDAYS_RU[entry.day.weekday()]}  {status:<8}  "
            f"{entry.what} — источник: {entry.source}{mark}"
        )
    if disputes:
        typer.echo("")
        typer.echo("Оспариваемые дни (сроки через них отмечены на страницах планов):")
        for day, dispute in sorted(disputes.items()):
            typer.echo(f"{day.isoformat()}: {dispute.reason} (запись: {dispute.file})")
            for claim in dispute.claims:
                says = {"working": "рабочий", "day_off": "выходной"}.get(claim.says, "неизвестно")
                typer.echo(f"  – {claim.source}: {says}. {claim.note}".rstrip())


def dispute(
    day: Annotated[str, typer.Argument(help="The day, YYYY-MM-DD.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the day is disputed.")] = "",
    clear: Annotated[
        bool, typer.Option("--clear", help="Settle: remove the operator's dispute of DAY.")
    ] = False,
) -> None:
    """Mark DAY disputed (or, with --clear, no longer) in the operator's file.

    The file is GATEWAY_CALENDAR_DISPUTES (default .gateway/calendar-disputes.json); the
    plan pages flag every deadline whose term crosses a disputed day, at once.
    """
    from gateway.calendar_sources import add_dispute, disputes_file, remove_dispute

    when = _day(day, "DAY")
    if clear:
        if not remove_dispute(when):
            typer.echo(f"в {disputes_file()} нет спора о {when.isoformat()}", err=True)
            raise typer.Exit(1)
        typer.echo(f"{when.isoformat()}: спор снят ({disputes_file()})")
        return
    if not reason.strip():
        raise typer.BadParameter("a reason is required", param_hint="--reason")
    path = add_dispute(when, reason.strip())
    typer.echo(f"{when.isoformat()}: отмечен как оспариваемый ({path})")


def register(calendar_app: typer.Typer) -> None:
    calendar_app.command("show")(show)
    calendar_app.command("dispute")(dispute)
