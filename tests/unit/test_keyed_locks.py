"""Reports on one task are applied in the order the queue delivered them."""

from __future__ import annotations

import asyncio

from gateway.keyed_locks import KeyedLocks


async def test_same_key_runs_in_arrival_order_other_keys_run_alongside() -> None:
    locks = KeyedLocks()
    order: list[str] = []
    release = asyncio.Event()

    async def work(key: str, name: str, wait: bool) -> None:
        async with locks.hold(key):
            order.append(f"start {name}")
            if wait:
                await release.wait()
            order.append(f"end {name}")

    first = asyncio.create_task(work("task-1", "received", wait=True))
    await asyncio.sleep(0)
    queued = [asyncio.create_task(work("task-1", n, wait=False)) for n in ("in_progress", "done")]
    other = asyncio.create_task(work("task-2", "other", wait=False))
    await other  # a different task is not held up
    assert order == ["start received", "start other", "end other"]
    release.set()
    await asyncio.gather(first, *queued)
    assert order[3:] == [
        "end received",
        "start in_progress",
        "end in_progress",
        "start done",
        "end done",
    ]
    assert len(locks) == 0  # nothing left behind once nobody waits
