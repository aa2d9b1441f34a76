"""Shared fixtures: real stores (SQLite and PostgreSQL) and the real RabbitMQ.

Every test that touches the broker gets its own name prefix, so tests never see each
other's queues; every PostgreSQL run gets its own database, dropped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.chaos import nodes
from bench.chaos.nodes import Node, Nodes
from gateway.store.engine import open_engine
from gateway.store.migrate import upgrade
from gateway.store.tables import metadata
from tests import broker_sweep


def pytest_sessionstart(session: pytest.Session) -> None:
    print(f"\n{broker_sweep.sweep(AMQP_URL)}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    print(f"\n{broker_sweep.sweep(AMQP_URL)}")


PG_ADMIN_URL = os.environ.get("GATEWAY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
AMQP_URL = os.environ.get("GATEWAY_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this run; its SQLAlchemy URL."""
    import asyncio

    name = f"gw_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(drivername="postgresql+asyncpg", database=name)
    yield url.render_as_string(hide_password=False)
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}"
    url: str = request.getfixturevalue("pg_database")
    return url


@pytest.fixture
async def engine(store_url: str) -> AsyncIterator[AsyncEngine]:
    engine = open_engine(store_url, pool_size=5)
    await upgrade(engine)
    yield engine
    if engine.dialect.name == "postgresql":
        # One PostgreSQL database serves the run; each test starts from empty tables.
        async with engine.begin() as conn:
            names = ", ".join(t.name for t in metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {names} CASCADE"))
    await engine.dispose()


@pytest.fixture
def amqp_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def harness(engine: AsyncEngine, amqp_prefix: str) -> AsyncIterator[object]:
    from tests.integration.harness import start_harness

    h, stop = await start_harness(
        engine, amqp_prefix, AMQP_URL, centre=f"centre-{uuid.uuid4().hex[:8]}"
    )
    yield h
    await stop()


@pytest.fixture(scope="session")
def rabbit_node_group() -> Iterator[Nodes]:
    """A RabbitMQ node of this test run's own (Debian's package), for tests that restart
    or kill the broker: the shared one on 5672 is never restarted. Stopped at the end."""
    if not nodes.available():
        pytest.skip("rabbitmq-server is not installed (apt-get install rabbitmq-server)")
    group, seconds = nodes.start_node()
    print(f"\nthrowaway RabbitMQ node {group.nodes[0].nodename} started in {seconds:.1f} s")
    try:
        yield group
    finally:
        group.remove()


@pytest.fixture
def rabbit_node(rabbit_node_group: Nodes) -> Node:
    """The run's own node, running (a test that failed half-way may have left it down)."""
    node = rabbit_node_group.nodes[0]
    if not nodes.port_open(node.port):
        if node.pid is not None and nodes.alive(node.pid):
            node.start_app()  # stopped with stop_app: the VM is still there
        else:
            node.start()
    return node
