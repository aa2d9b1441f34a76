"""`gateway report …` and `gateway digest …`: the reports from the command line.

Kept beside the reports rather than in `gateway/cli.py`, which only mounts these apps, so
the reports can grow options without touching the shared command file.
"""

from __future__ import annotations

import asyncio
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from gateway.config import Settings

report_app = typer.Typer(help="Monitoring reports (order 192 p.13–14).", no_args_is_help=True)
digest_app = typer.Typer(help="The daily escalation digest.", no_args_is_help=True)


class ReportFormat(StrEnum):
    text = "text"
    csv = "csv"
    xlsx = "xlsx"
    json = "json"
    svg = "svg"


@report_app.command("quarterly")
def quarterly(
    centre: Annotated[str, typer.Option("--centre", help="The centre's code.")],
    quarter: Annotated[str, typer.Option("--quarter", help="Like 2026Q3 (Almaty time).")],
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help="text, csv, xlsx, json or svg (the chart).")
    ] = ReportFormat.text,
    output: Annotated[
        Path | None, typer.Option("--output", help="Write to this file instead of the terminal.")
    ] = None,
) -> None:
    """The quarterly monitoring report of a centre: figures per body and the conclusion.

    Family-card data comes from the card at GATEWAY_FAMILY_CARD_URL; unset or failing,
    the report says it has none and why.
    """
    from contracts.clock import SystemClock
    from gateway.reports import export
    from gateway.reports.chart import report_chart_svg
    from gateway.reports.family_card import card_client
    from gateway.reports.quarter import QuarterError, parse_quarter
    from gateway.reports.quarterly import QuarterlyReport, build_quarterly_report
    from gateway.store.engine import open_engine
    from gateway.store.migrate import upgrade

    try:
        period = parse_quarter(quarter)
    except QuarterError as error:
        raise typer.BadParameter(str(error), param_hint="--quarter") from None
    settings = Settings()

    async def run() -> QuarterlyReport:
        engine = open_engine(settings.database_url)
        card = card_client(settings.family_card_url)
        clock = SystemClock()
        try:
            await upgrade(engine)
            return await build_quarterly_report(
                engine, centre, period, source=card, now=clock.now(), clock=clock
            )
        finally:
            if card is not None:
                await card.aclose()
            await engine.dispose()

    report = asyncio.run(run())
    data: bytes
    if fmt is ReportFormat.text:
        data = export.to_text(report).encode()
    elif fmt is ReportFormat.csv:
        data = export.to_csv(report)
    elif fmt is ReportFormat.json:
        data = export.to_json(report).encode() + b"\n"
    elif fmt is ReportFormat.svg:
        data = report_chart_svg(report).encode() + b"\n"
    else:
        data = export.to_xlsx(report)
        # A workbook on a terminal is noise: without --output it goes to a file.
        output = output or Path(f"report-{centre}-{period.label}.xlsx")
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    output.write_bytes(data)
    typer.echo(f"записано: {output}", err=True)


@digest_app.command("send")
def digest_send(
    centre: Annotated[
        str | None, typer.Option("--centre", help="Only this centre. Default: every centre.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the digests instead of sending them.")
    ] = False,
) -> None:
    """Build today's escalation digests and send them now (working day or not)."""
    from contracts.clock import SystemClock
    from gateway.reports.digest import send_digests
    from gateway.reports.mail import ConsoleSender, load_recipients, sender_from_settings
    from gateway.store.engine import open_engine
    from gateway.store.migrate import upgrade

    settings = Settings()
    try:
        recipients = load_recipients(settings.digest_recipients)
        sender = ConsoleSender() if dry_run else sender_from_settings(settings)
    except (OSError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None

    async def run() -> int:
        engine = open_engine(settings.database_url)
        try:
            await upgrade(engine)
            sent = await send_digests(
                engine, sender, SystemClock().now(), recipients=recipients, centre=centre
            )
            return len(sent)
        finally:
            await engine.dispose()

    count = asyncio.run(run())
    if count == 0:
        typer.echo("эскалаций нет: сроки не под угрозой, дайджест не нужен", err=True)
    else:
        typer.echo(f"дайджестов: {count}", err=True)


@report_app.command("send")
def send_conclusion(
    centre: Annotated[str, typer.Option("--centre", help="The centre's code.")],
    quarter: Annotated[str, typer.Option("--quarter", help="A finished quarter, like 2026Q3.")],
) -> None:
    """Send the quarter's conclusion to the authorised body (p.14), once per quarter.

    It is queued through the outbox; a running `gateway serve` sends it by the sender in
    GATEWAY_CONCLUSION_SENDER (default: the digest's) to GATEWAY_CONCLUSION_RECIPIENTS.
    """
    from contracts.clock import SystemClock
    from gateway.errors import GatewayError
    from gateway.reports.family_card import card_client
    from gateway.reports.quarter import QuarterError, parse_quarter
    from gateway.reports.quarterly import build_quarterly_report
    from gateway.runtime import build_context
    from gateway.services.conclusions import Dispatch, request_sending
    from gateway.store.engine import open_engine
    from gateway.store.migrate import upgrade

    try:
        period = parse_quarter(quarter)
    except QuarterError as error:
        raise typer.BadParameter(str(error), param_hint="--quarter") from None
    settings = Settings()

    async def run() -> Dispatch:
        engine = open_engine(settings.database_url)
        card = card_client(settings.family_card_url)
        clock = SystemClock()
        try:
            await upgrade(engine)
            report = await build_quarterly_report(
                engine, centre, period, source=card, now=clock.now(), clock=clock
            )
            return await request_sending(
                engine,
                build_context(settings),
                report,
                recipients=settings.conclusion_addresses,
                actor="operator:cli",
                now=clock.now(),
            )
        finally:
            if card is not None:
                await card.aclose()
            await engine.dispose()

    try:
        dispatch = asyncio.run(run())
    except GatewayError as error:
        typer.echo(f"не отправлено: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"заключение {dispatch.centre} за {dispatch.quarter} поставлено в очередь на отправку: "
        + ", ".join(dispatch.recipients),
        err=True,
    )
