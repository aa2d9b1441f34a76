"""The digest over a real store (SQLite and PostgreSQL): what is at risk, what is breached."""

from __future__ import annotations

import asyncio
from datetime import date
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from contracts.amqp import Topology
from contracts.messages import ReportStatus
from gateway.agencies import load_agencies
from gateway.deadline_watcher import scan
from gateway.reports.digest import build_digests, send_digests
from gateway.reports.mail import FileSender
from gateway.services.context import Context
from gateway.workdays import default_calendar
from tests.integration.test_report_quarterly import CENTRE, OTHER_CENTRE, Seeder, at

pytestmark = pytest.mark.integration


async def seed(engine: AsyncEngine) -> dict[str, str]:
    agencies = load_agencies()
    ctx = Context(default_calendar(), agencies, Topology("t-digest", agencies.enabled_codes()))
    s = Seeder(engine, ctx)
    # Wednesday 1 July: routing due Friday 3 July 23:59:59, warning at three quarters.
    plan, tasks = await s.submit(
        at(7, 1), {"health": None, "education": date(2026, 7, 3), "housing": None}
    )
    await s.report(tasks["health"], "health", ReportStatus.received, at(7, 2))
    await s.report(tasks["health"], "health", ReportStatus.done, at(7, 2, 12))
    await s.submit(at(7, 1), {"housing": None}, centre=OTHER_CENTRE)
    cancelled, _ = await s.submit(at(7, 1), {"internal_affairs": None})
    await s.cancel(cancelled, at(7, 1, 12))
    return {"plan": plan, **tasks}


async def test_digest_lists_unmet_terms_at_risk_then_breached(engine: AsyncEngine) -> None:
    await seed(engine)
    assert await build_digests(engine, at(7, 1, 12)) == []  # nothing at risk yet

    # Friday 3 July, 20:00: routing of education and housing at risk, and education's own
    # term (end of 3 July) too. Health's report waits for the centre's review, due on
    # Tuesday 7 July (6 July is a holiday), so not at risk yet.
    (mine,) = await build_digests(engine, at(7, 3, 20), centre=CENTRE)
    kinds = sorted((i.agency, i.kind, i.state) for i in mine.items)
    assert kinds == [
        ("education", "due_date", "at_risk"),
        ("education", "routing", "at_risk"),
        ("housing", "routing", "at_risk"),
    ]
    assert "под угрозой 3" in mine.subject

    # Wednesday 8 July: all breached; the cancelled plan never shows up.
    later = at(7, 8)
    await scan(engine, later)
    digests = await build_digests(engine, later)
    assert sorted(d.centre for d in digests) == sorted([CENTRE, OTHER_CENTRE])
    (mine,) = [d for d in digests if d.centre == CENTRE]
    assert {i.state for i in mine.items} == {"breached"} and mine.breached == 4
    assert "internal_affairs" not in {i.agency for i in mine.items}
    assert [name for name, _ in mine.by_agency()] == [
        "Жилищные отношения",
        "Здравоохранение",
        "Образование",
    ]
    assert "срок 03.07.2026 23:59" in mine.text


async def test_send_writes_one_eml_per_centre(engine: AsyncEngine, tmp_path: Path) -> None:
    await seed(engine)
    outbox = tmp_path / "outbox-mail"
    sender = FileSender(outbox)
    sent = await send_digests(engine, sender, at(7, 7), recipients={CENTRE: ["head@example.kz"]})
    assert sorted(d.centre for d in sent) == sorted([CENTRE, OTHER_CENTRE])
    names = sorted(p.name for p in outbox.iterdir())
    assert names == sorted([f"2026-07-07-{CENTRE}.eml", f"2026-07-07-{OTHER_CENTRE}.eml"])
    mine = outbox / f"2026-07-07-{CENTRE}.eml"
    message = BytesParser(policy=policy.default).parsebytes(mine.read_bytes())
    assert message["To"] == "head@example.kz"
    assert "Образование" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_cli_dry_run_prints(engine: AsyncEngine, store_url: str, tmp_path: Path) -> None:
    await seed(engine)
    from gateway.cli import app

    outbox = tmp_path / "outbox"

    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["digest", "send", "--centre", CENTRE, "--dry-run"],
        env={"GATEWAY_DATABASE_URL": store_url, "GATEWAY_DIGEST_OUTBOX_DIR": str(outbox)},
    )
    assert result.exit_code == 0, result.output
    assert f"Тема: ЦПС {CENTRE}" in result.stdout and OTHER_CENTRE not in result.stdout
    assert not outbox.exists()  # a dry run writes nothing
