"""Removing the queues and exchanges that test runs leave on the shared broker.

Every test uses its own name prefix (`t` and 8–10 hex digits). Most tests delete their
own topology, but a run that was killed, or a test that failed half-way, leaves quorum
queues behind. Thousands of them made the shared node spend minutes recovering at each
start, and a later CI run on the same machine then timed out test after test. So the
suite sweeps such names before it starts and after it ends.

It runs only where GATEWAY_TEST_SWEEP=1 (.ci/run sets it): on a developer's machine a
second run may be going on against the same broker, and a run between a crash and a restart
has queues no one consumes from for a moment. Even then, a prefix some connection still
consumes from is left alone (see `leftovers`).

The body users that `gateway up` provisions for a test's prefix (`t….body.<code>`) are
swept the same way: the e2e fixture deletes its own, a killed run leaves them.

Listing needs `rabbitmqctl` (Debian's package, run as root or as the rabbitmq user);
without it the sweep is skipped and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess

import aio_pika

TEST_NAME = re.compile(r"^(t[0-9a-f]{8,10})\.")


def _rows(kind: str, columns: str, timeout: float) -> list[list[str]] | None:
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        return None
    try:
        out = subprocess.run(
            [ctl, "-q", f"list_{kind}", *columns.split(), "--no-table-headers"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (subprocess.TimeoutExpired, OSError):
        return None
    if out.returncode != 0:
        return None
    return [line.split("\t") for line in out.stdout.splitlines() if TEST_NAME.match(line)]


def _prefix(name: str) -> str:
    match = TEST_NAME.match(name)
    assert match is not None
    return match.group(1)


def leftovers(queues: list[tuple[str, int]], exchanges: list[str]) -> tuple[list[str], list[str]]:
    """What is safe to delete: the names of prefixes no one consumes from.

    Another test run may be going on against the same broker (two developers, one machine):
    a prefix with a consumer on any of its queues belongs to a live run and is left alone.
    """
    busy = {_prefix(name) for name, consumers in queues if consumers > 0}
    return (
        [name for name, _ in queues if _prefix(name) not in busy],
        [name for name in exchanges if _prefix(name) not in busy],
    )


def leftover_users(queues: list[tuple[str, int]], users: list[str]) -> list[str]:
    """The body users (`t….body.<code>`) of prefixes no one consumes from."""
    busy = {_prefix(name) for name, consumers in queues if consumers > 0}
    return [user for user in users if TEST_NAME.match(user) and _prefix(user) not in busy]


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


def _delete_users(users: list[str], timeout: float) -> None:
    from gateway.broker.provision import ProvisionError, Rabbitmqctl, delete_users

    if not users:
        return
    with contextlib.suppress(ProvisionError):  # best effort, as for the queues
        asyncio.run(asyncio.wait_for(delete_users(Rabbitmqctl(), users), timeout))


def sweep(url: str, *, timeout: float = 120.0) -> str:
    """Delete the test-named queues and exchanges of runs that are over; say what was done."""
    if os.environ.get("GATEWAY_TEST_SWEEP", "0") != "1":
        return "broker sweep off (GATEWAY_TEST_SWEEP=1 turns it on; .ci/run does)"
    queue_rows = _rows("queues", "name consumers", timeout)
    exchange_rows = _rows("exchanges", "name", timeout)
    if queue_rows is None or exchange_rows is None:
        return "broker sweep skipped: rabbitmqctl is not available to list queues"
    listed = [(row[0], int(row[1])) for row in queue_rows if len(row) == 2 and row[1].isdigit()]
    queues, exchanges = leftovers(listed, [row[0] for row in exchange_rows])
    users = leftover_users(listed, [row[0] for row in _rows("users", "", timeout) or []])
    try:
        _delete_users(users, timeout)
    except TimeoutError:
        return f"broker sweep incomplete (TimeoutError): {len(users)} test users listed"
    if not queues and not exchanges:
        return f"broker sweep: no test queues left over; {len(users)} test users deleted"
    try:
        asyncio.run(asyncio.wait_for(_delete(url, queues, exchanges), timeout))
    except (TimeoutError, OSError, aio_pika.exceptions.AMQPException) as exc:
        return f"broker sweep incomplete ({type(exc).__name__}): {len(queues)} queues listed"
    return (
        f"broker sweep: deleted {len(queues)} test queues, {len(exchanges)} exchanges "
        f"and {len(users)} users"
    )
