"""How many submit groups are written at once: the scheduling of `SubmitGroup`, with the
group's transaction replaced by one the test holds open (the transaction itself is
tested on both stores in tests/integration/test_submit_group.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, cast

from gateway.api.submit_group import SubmitGroup, _Submit
from gateway.auth import Caller, ClientKind
from gateway.services import plans as plan_service

CALLER = Caller(client_id="c-test", kind=ClientKind.centre, scope="demo-centre")


class HeldGroups:
    """Stands in for `_write_group`: records each group, holds the first until released,
    answers each submit with its own position so a test can see who was answered."""

    def __init__(self) -> None:
        self.groups: list[int] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.release_first = asyncio.Event()

    async def __call__(self, group: list[_Submit]) -> None:
        self.groups.append(len(group))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if len(self.groups) == 1:
                await self.release_first.wait()
            await asyncio.sleep(0.001)  # a transaction's round trips
        finally:
            self.in_flight -= 1
        for item in group:
            result = plan_service.SubmitResult(str(item.submission), True)
            item.answer.set_result((result, cast(Any, None)))


def _group(writers: int) -> tuple[SubmitGroup, HeldGroups]:
    group = SubmitGroup(cast(Any, None), cast(Any, None), linger_seconds=0.001, max_writers=writers)
    held = HeldGroups()
    group._write_group = held  # type: ignore[method-assign]
    return group, held


def _submit(group: SubmitGroup, n: int) -> asyncio.Task[Any]:
    now = datetime.now(UTC)
    submission = cast(Any, f"plan-{n}")
    return asyncio.create_task(group.submit(submission, CALLER, idempotency_key=None, now=now))


async def _first_in_its_transaction(
    writers: int, n: int
) -> tuple[SubmitGroup, HeldGroups, asyncio.Task[Any]]:
    """A group whose first submit (plan-n) is in its held transaction."""
    group, held = _group(writers)
    first = _submit(group, n)
    while not held.groups:
        await asyncio.sleep(0.001)
    return group, held, first


async def _second_while_first_is_written(
    writers: int,
) -> tuple[HeldGroups, asyncio.Task[Any], asyncio.Task[Any]]:
    group, held, first = await _first_in_its_transaction(writers, 1)
    return held, first, _submit(group, 2)


async def test_a_submit_arriving_while_a_group_is_written_gets_a_writer_of_its_own() -> None:
    held, first, second = await _second_while_first_is_written(writers=2)

    result, _ = await asyncio.wait_for(second, 1)

    assert result.plan_id == "plan-2"
    assert not first.done()  # still in its transaction
    held.release_first.set()
    assert (await first)[0].plan_id == "plan-1"


async def test_with_one_writer_a_submit_waits_for_the_group_being_written() -> None:
    held, first, second = await _second_while_first_is_written(writers=1)

    await asyncio.sleep(0.05)

    assert not second.done()
    held.release_first.set()
    assert (await second)[0].plan_id == "plan-2"
    assert (await first)[0].plan_id == "plan-1"
    assert held.groups == [1, 1]


async def test_every_submit_is_answered_once_and_no_more_groups_run_than_writers() -> None:
    # The first group stays in its (held) transaction until the end, so on any machine
    # the other 199 submits can only be written by the one writer that is left.
    group, held, first = await _first_in_its_transaction(writers=2, n=0)
    rest = []
    for n in range(1, 200):
        rest.append(_submit(group, n))
        if n % 7 == 0:
            await asyncio.sleep(0)  # arrivals spread over the loop's turns

    answers = await asyncio.wait_for(asyncio.gather(*rest), 5)

    assert not first.done()
    assert held.most_in_flight == 2
    held.release_first.set()
    answers.insert(0, await asyncio.wait_for(first, 1))
    assert [a[0].plan_id for a in answers] == [f"plan-{n}" for n in range(200)]
    assert sum(held.groups) == 200
    assert held.groups[0] == 1
    assert len(held.groups) < 200  # they did share groups
