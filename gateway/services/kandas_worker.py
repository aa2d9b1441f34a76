"""The adaptation worker's pass (order 170 p.34-50), run by the watcher part of a process.

Each pass delivers the outbox rows owed to the Kandas system and the family card, runs
the monitoring that has come due, and opens the period cases (monthly report, quality
evaluation) whose period has ended, so their terms are watched. Every step finds its
work in the store, so a pass that fails or a process that restarts loses nothing.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.clock import Clock
from gateway.domain.kandas_quality import QualityRules
from gateway.services import http_outbox, kandas_monitoring, kandas_periods
from gateway.services.context import Context
from gateway.services.http_outbox import Handler

log = logging.getLogger("gateway.adaptation")


async def run_once(
    engine: AsyncEngine,
    ctx: Context,
    rules: QualityRules,
    handlers: dict[str, Handler],
    kandas: kandas_monitoring.KandasReader | None,
    card: kandas_monitoring.CardReader | None,
    police: kandas_monitoring.ResidenceChecker | None,
    clock: Clock,
) -> int:
    done = await http_outbox.deliver(engine, handlers, clock.now())
    done += await kandas_monitoring.run_due(engine, kandas, card, police, clock.now())
    done += await kandas_periods.open_due_periods(engine, ctx, rules, clock.now())
    return done


async def run(
    engine: AsyncEngine,
    ctx: Context,
    rules: QualityRules,
    handlers: dict[str, Handler],
    kandas: kandas_monitoring.KandasReader | None,
    card: kandas_monitoring.CardReader | None,
    police: kandas_monitoring.ResidenceChecker | None,
    clock: Clock,
    poll_seconds: float,
) -> None:
    while True:
        try:
            done = await run_once(engine, ctx, rules, handlers, kandas, card, police, clock)
            if done:
                log.info("adaptation worker: %d item(s) done", done)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("adaptation worker pass failed; trying again next time")
        await asyncio.sleep(poll_seconds)
