"""`gateway clients revoke|rotate`: the operator's side of a key's lifecycle."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any, TypeVar

import typer

from gateway.config import Settings

OPERATOR = "operator:cli"
_T = TypeVar("_T")


def _run_or_exit(coro: Coroutine[Any, Any, _T]) -> _T:
    from gateway.errors import GatewayError

    try:
        return asyncio.run(coro)
    except GatewayError as error:
        typer.echo(f"error: {error.detail}", err=True)
        raise typer.Exit(2) from None


def revoke_client(settings: Settings, client_id: str) -> None:
    from contracts.clock import SystemClock
    from gateway.services.clients import revoke
    from gateway.store.engine import open_engine

    async def run() -> None:
        engine = open_engine(settings.database_url)
        try:
            async with engine.begin() as conn:
                await revoke(conn, client_id, actor=OPERATOR, now=SystemClock().now())
        finally:
            await engine.dispose()

    _run_or_exit(run())
    typer.echo(f"client {client_id} revoked")


def rotate_client(settings: Settings, client_id: str, overlap_seconds: float | None) -> None:
    from contracts.clock import SystemClock
    from gateway.services.clients import rotate
    from gateway.store.engine import open_engine

    seconds = settings.key_overlap_seconds if overlap_seconds is None else overlap_seconds

    async def run() -> tuple[str, datetime]:
        engine = open_engine(settings.database_url)
        try:
            async with engine.begin() as conn:
                return await rotate(
                    conn,
                    client_id,
                    overlap=timedelta(seconds=seconds),
                    actor=OPERATOR,
                    now=SystemClock().now(),
                )
        finally:
            await engine.dispose()

    key, until = _run_or_exit(run())
    typer.echo(key)
    typer.echo(f"the previous key works until {until}", err=True)
