"""The migrations build exactly the schema the code declares, on both stores."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.migrate import upgrade
from gateway.store.tables import metadata

pytestmark = pytest.mark.integration


async def test_migrations_match_the_tables(engine: AsyncEngine) -> None:
    def diff(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []
    await upgrade(engine)  # a second run is a no-op, as at every start
