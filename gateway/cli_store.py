"""Running one operator's use case from a terminal: one transaction on the configured store.

The CLI sub-apps (`gateway centres`, `gateway incidents`) work on the store directly, with
the rules of the admin API; a refusal is printed as the API's problem detail and the
command exits 2 (3 when something named does not exist), so scripts can tell them apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.config import Settings
from gateway.errors import GatewayError

T = TypeVar("T")


def run_in_store(
    work: Callable[[AsyncConnection], Awaitable[T]],
    *,
    write: bool = True,
    upgrade_first: bool = False,
) -> T:
    """`work` in one transaction (`write`) or on a plain connection; `upgrade_first`
    brings the store's schema up to date before, as `gateway clients add` does."""
    from gateway.store.engine import open_engine
    from gateway.store.migrate import upgrade

    async def run() -> T:
        engine = open_engine(Settings().database_url)
        try:
            if upgrade_first:
                await upgrade(engine)
            if write:
                async with engine.begin() as conn:
                    return await work(conn)
            async with engine.connect() as conn:
                return await work(conn)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except GatewayError as error:
        typer.echo(f"error: {error.detail}", err=True)
        raise typer.Exit(2 if error.status != 404 else 3) from None
