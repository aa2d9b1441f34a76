"""`/ready`: whether this process can do its work now, and how far behind it is.

`checks` is what a load balancer or an orchestrator reads (every entry "ok", or the
process is not ready); `details` is for the operator: which broker node it is connected
to and since when, how many times it reconnected, and the outbox's size and the age of
its oldest message (what a broker outage leaves behind, and what drains after it).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import text

from gateway.api.deps import AppState

DATABASE_PROBE_SECONDS = 5.0


async def _database(state: AppState) -> str:
    monitor = state.backlog
    if monitor is not None and monitor.latest is not None:
        if monitor.store_slow:
            return "slow: no answer within the store timeout"
        return "ok"
    try:
        async with asyncio.timeout(DATABASE_PROBE_SECONDS):
            async with state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except TimeoutError:
        return f"slow: no answer within {DATABASE_PROBE_SECONDS:.0f} s"
    except Exception as error:
        return f"failing: {type(error).__name__}"
    return "ok"


async def _broker(state: AppState) -> str:
    if state.broker_ready is None:
        return "not used by this process"
    return "ok" if await state.broker_ready() else "down"


def _details(state: AppState) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if state.broker_status is not None:
        details["broker"] = state.broker_status()
    monitor = state.backlog
    if monitor is not None:
        outbox: dict[str, Any] = {"limit": state.settings.outbox_backlog_limit or None}
        if monitor.latest is not None:
            outbox.update(monitor.latest.as_json())
            outbox["sampled_seconds_ago"] = round(time.monotonic() - monitor.latest.sampled_at, 1)
        details["outbox"] = outbox
    return details


async def readiness(state: AppState) -> JSONResponse:
    checks = {"database": await _database(state), "broker": await _broker(state)}
    ok = all(v == "ok" or v.startswith("not used") for v in checks.values())
    body: dict[str, Any] = {"status": "ready" if ok else "not ready", "checks": checks}
    details = _details(state)
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=200 if ok else 503)
