"""Removing the queues and exchanges that test runs leave on the shared broker.

Every test uses its own name prefix (`t` and 8–10 hex digits). Most tests delete their
own topology, but a run that was killed, or a test that failed half-way, leaves quorum
queues behind. Thousands of them made the shared node spend minutes recovering at each
start, and a later CI run on the same machine then timed out test after test. So the
suite sweeps such names before it starts and after it ends.

Listing needs `rabbitmqctl` (Debian's package, run as root or as the rabbitmq user);
without it the sweep is skipped and says so.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess

import aio_pika

TEST_NAME = re.compile(r"^t[0-9a-f]{8,10}\.")


def _list(kind: str, timeout: float) -> list[str] | None:
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        return None
    try:
        out = subprocess.run(
            [ctl, "-q", f"list_{kind}", "name", "--no-table-headers"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (subprocess.TimeoutExpired, OSError):
        return None
    if out.returncode != 0:
        return None
    return [line.strip() for line in out.stdout.splitlines() if TEST_NAME.match(line.strip())]


async def _delete(url: str, queues: list[str], exchanges: list[str]) -> None:
    connection = await aio_pika.connect(url, timeout=15)
    try:
        channel = await connection.channel()
        for queue in queues:
            await channel.queue_delete(queue)
        for name in exchanges:
            await channel.exchange_delete(name)
    finally:
        await connection.close()


def sweep(url: str, *, timeout: float = 120.0) -> str:
    """Delete every test-named queue and exchange; a line saying what was done."""
    queues = _list("queues", timeout)
    exchanges = _list("exchanges", timeout)
    if queues is None or exchanges is None:
        return "broker sweep skipped: rabbitmqctl is not available to list queues"
    if not queues and not exchanges:
        return "broker sweep: no test queues left over"
    try:
        asyncio.run(asyncio.wait_for(_delete(url, queues, exchanges), timeout))
    except (TimeoutError, OSError, aio_pika.exceptions.AMQPException) as exc:
        return f"broker sweep incomplete ({type(exc).__name__}): {len(queues)} queues listed"
    return f"broker sweep: deleted {len(queues)} test queues and {len(exchanges)} exchanges"
