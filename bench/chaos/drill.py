"""The chaos drill: a load of plans through the whole system while it is knocked over.

1. A throwaway RabbitMQ node, a fresh store, and the system as processes (two gateway
   processes, the mock bodies, the mock e-government bus failing a share of its calls).
2. Centres submit plans (and look people up in the registries) while the drill SIGKILLs
   gateway processes and restarts RabbitMQ; a reviewer accepts every report as it comes.
   One body's system is down all along: its tasks wait in its queue.
3. The simulated working day: the gateway's clock (`GATEWAY_CLOCK_FILE`) is moved to
   three quarters of the waiting tasks' routing term, then past its end, so the deadline
   watcher records a warning and then a breach for each; then the body comes back and
   works off its queue.
4. When every plan is completed (or time is up), the verdict is taken from the API and
   the bodies' journals (`bench.chaos.checks`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.chaos import nodes
from bench.chaos.checks import Verdict, judge
from bench.chaos.client import Api, gather_limited
from bench.chaos.system import ChaosSystem, DrillError
from bench.load import plan_body
from gateway.agencies import load_agencies
from gateway.clock_file import write_offset
from mocks.agencies.journal import journal
from mocks.agencies.schema import Effect
from mocks.population import generate_population

CENTRE = "chaos-centre"
ACTIVITIES = 4
DEFAULT_PG_URL = os.environ.get(
    "GATEWAY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@dataclass(frozen=True)
class DrillConfig:
    tasks: int = 10_000
    concurrency: int = 16
    gateway_kills: int = 3
    broker_restarts: int = 2
    broker_down_seconds: float = 3.0
    bus_failure_rate: float = 0.2
    lookup_every: int = 10
    """One registry lookup (a person from the mock bus) before every Nth plan."""
    down_agency: str = "housing"
    work_seconds: float = 1.0
    pg_admin_url: str = DEFAULT_PG_URL
    timeout: float = 3600.0
    root: Path | None = None
    keep: bool = False


@dataclass
class DrillResult:
    verdict: Verdict
    events: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.verdict.ok

    def report(self) -> str:
        lines = ["chaos drill", *(f"  event: {e}" for e in self.events)]
        lines += [f"  {k}: {v}" for k, v in self.figures.items()]
        lines += [f"  {line}" for line in self.verdict.lines()]
        if self.verdict.problems:
            lines += [f"  PROBLEM: {p}" for p in self.verdict.problems]
        lines.append("  verdict: " + ("nothing lost, nothing doubled" if self.ok else "FAILED"))
        return "\n".join(lines)


Progress = Callable[[str], None]


async def run_drill(config: DrillConfig, progress: Progress) -> DrillResult:
    plans = max(1, config.tasks // ACTIVITIES)
    root = config.root or Path(tempfile.mkdtemp(prefix="gateway-chaos-"))
    began = time.monotonic()
    result = DrillResult(Verdict())
    say = _stamped(progress, began)

    group, seconds = await asyncio.to_thread(nodes.start_node)
    node = group.nodes[0]
    result.figures["rabbitmq node start"] = f"{seconds:.1f} s ({node.nodename})"
    say(f"throwaway RabbitMQ {node.nodename} on {node.port}, started in {seconds:.1f} s")
    database = f"gw_chaos_{uuid.uuid4().hex[:10]}"
    await _admin_sql(config.pg_admin_url, f'CREATE DATABASE "{database}"')
    store_url = (
        make_url(config.pg_admin_url)
        .set(drivername="postgresql+asyncpg", database=database)
        .render_as_string(hide_password=False)
    )
    agencies = load_agencies().enabled_codes("ipr")
    if config.down_agency not in agencies:
        raise DrillError(f"{config.down_agency} is not an enabled body: {', '.join(agencies)}")
    system = ChaosSystem(
        root=root,
        database_url=store_url,
        amqp_url=node.url,
        prefix=f"chaos{uuid.uuid4().hex[:6]}",
        agencies=agencies,
        down_agency=config.down_agency,
        work_seconds=config.work_seconds,
    )
    api: Api | None = None
    reviewer: asyncio.Task[None] | None = None
    succeeded = False
    try:
        await asyncio.to_thread(system.start)
        say(f"system up: API {system.api_url}, store {database}, state in {root}")
        await asyncio.to_thread(  # a centre's key is issued for a registered centre only
            system.gateway,
            "centres",
            "add",
            CENTRE,
            "--name-ru",
            "ЦПС (учения)",
            "--name-kk",
            "Отбасыны қолдау орталығы (жаттығу)",
        )
        key = (
            await asyncio.to_thread(
                system.gateway,
                "clients",
                "add",
                "--name",
                "chaos",
                "--kind",
                "centre",
                "--scope",
                CENTRE,
            )
        ).strip()
        async with httpx.AsyncClient() as admin:
            fault = await admin.post(
                f"{system.bus_url}/__admin/faults",
                json={
                    "service": "*",
                    "kind": "soap_fault",
                    "code": "ESRV002",
                    "probability": config.bus_failure_rate,
                    "seed": 16,
                },
            )
            fault.raise_for_status()
        api = Api(system.api_url, key, connections=config.concurrency + 8)
        deadline = time.monotonic() + config.timeout
        reviewer = asyncio.create_task(_review_forever(api))
        submitted = await _load_under_fire(config, plans, system, api, node, result, say)
        await _settle_but_the_down_body(config, plans, system, api, deadline, say)
        await _the_working_day(config, system, api, submitted, result, deadline, say)
        await _wait(
            lambda: _all_completed(api, plans), system, deadline, "every plan completed", say
        )
        reviewer.cancel()
        await asyncio.gather(reviewer, return_exceptions=True)
        result.verdict = await _verdict(config, system, api, submitted)
        await _figures(system, api, result)
        succeeded = result.ok
        return result
    finally:
        if reviewer is not None:
            reviewer.cancel()
            await asyncio.gather(reviewer, return_exceptions=True)
        if api is not None:
            await api.aclose()
        await asyncio.to_thread(system.stop)
        await asyncio.to_thread(group.remove)
        await _admin_sql(config.pg_admin_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        result.figures["wall time"] = f"{time.monotonic() - began:.0f} s"
        if succeeded and not config.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            say(f"logs and journals kept in {root}")


# -- phase 2: load and faults ---------------------------------------------------------------


async def _load_under_fire(
    config: DrillConfig,
    plans: int,
    system: ChaosSystem,
    api: Api,
    node: nodes.Node,
    result: DrillResult,
    say: Progress,
) -> dict[str, str]:
    people = [p.iin for p in generate_population(42, families=12).people]
    agencies = list(system.agencies)
    run_id = uuid.uuid4().hex[:6]
    submitted: dict[str, str] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    progressed = asyncio.Event()
    for index in range(plans):
        queue.put_nowait(index)

    async def centre() -> None:
        while not queue.empty():
            index = queue.get_nowait()
            if config.lookup_every and index % config.lookup_every == 0:
                await api.lookup(people[index % len(people)])
            body = plan_body(
                centre=CENTRE,
                run_id=run_id,
                index=index,
                agencies=agencies,
                activities=ACTIVITIES,
                now=datetime.now(UTC),
            )
            key = f"chaos-{run_id}-{index}"
            submitted[key] = await api.submit(key, body)
            progressed.set()

    events = _schedule(config)

    async def faults() -> None:
        for fraction, kind, target in events:
            while len(submitted) < fraction * plans and not queue.empty():
                progressed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(progressed.wait(), 1.0)
            at = len(submitted)
            if kind == "kill":
                seconds = await asyncio.to_thread(_kill_and_restart, system, target)
                line = (
                    f"SIGKILL {target} at {at}/{plans} plans; serving again after {seconds:.1f} s"
                )
            else:
                seconds = await asyncio.to_thread(node.restart, config.broker_down_seconds)
                line = (
                    f"RabbitMQ restarted (stop_app, {config.broker_down_seconds:.0f} s, start_app)"
                    f" at {at}/{plans} plans; down {seconds:.1f} s"
                )
            result.events.append(line)
            say(line)

    faulting = asyncio.create_task(faults())
    try:
        await asyncio.gather(*(centre() for _ in range(config.concurrency)))
        say(f"{len(submitted)} plans submitted ({len(submitted) * ACTIVITIES} tasks)")
        await faulting
    finally:
        faulting.cancel()
        await asyncio.gather(faulting, return_exceptions=True)
    return submitted


def _schedule(config: DrillConfig) -> list[tuple[float, str, str]]:
    """Kills and broker restarts spread evenly over the load, alternating."""
    targets = ["gateway-api", "gateway-worker"]
    kinds: list[tuple[str, str]] = []
    kills, restarts = config.gateway_kills, config.broker_restarts
    k = 0
    while kills or restarts:
        if kills:
            kinds.append(("kill", targets[k % 2]))
            kills -= 1
            k += 1
        if restarts:
            kinds.append(("restart", "rabbitmq"))
            restarts -= 1
    count = len(kinds)
    return [((i + 1) / (count + 1), kind, target) for i, (kind, target) in enumerate(kinds)]


def _kill_and_restart(system: ChaosSystem, name: str) -> float:
    process = system.processes[name]
    began = time.monotonic()
    process.kill()
    time.sleep(1.0)
    system.start_process(name)
    return time.monotonic() - began


async def _review_forever(api: Api) -> None:
    """The centre's staff: accept each report as it arrives."""
    while True:
        try:
            _, items = await api.listing()
            todo = [i["id"] for i in items if i["task_states"].get("reported")]
            await gather_limited(4, [api.accept_reported(plan_id) for plan_id in todo])
        except asyncio.CancelledError:
            raise
        except Exception:  # the gateway is being killed; the next round tries again
            pass
        await asyncio.sleep(1.0)


# -- phase 3: the working day ------------------------------------------------------------------


async def _settle_but_the_down_body(
    config: DrillConfig, plans: int, system: ChaosSystem, api: Api, deadline: float, say: Progress
) -> None:
    async def ready() -> bool:
        _, items = await api.listing()
        states: Counter[str] = Counter()
        for item in items:
            states.update(item["task_states"])
        up = ACTIVITIES - 1
        return states["accepted"] == up * plans and states["dispatched"] == plans

    await _wait(ready, system, deadline, "every task of the bodies that are up accepted", say)


async def _the_working_day(
    config: DrillConfig,
    system: ChaosSystem,
    api: Api,
    submitted: dict[str, str],
    result: DrillResult,
    deadline: float,
    say: Progress,
) -> None:
    ids = list(submitted.values())
    views = await gather_limited(8, [api.plan(i) for i in ids])
    routing = []
    for plan in views:
        for task in plan["tasks"]:
            if task["agency"] == config.down_agency:
                (clock,) = [d for d in task["deadlines"] if d["kind"] == "routing"]
                routing.append(
                    (
                        datetime.fromisoformat(clock["warn_at"]),
                        datetime.fromisoformat(clock["due_at"]),
                    )
                )
    last_due = max(d for _, d in routing)
    offsets: list[float] = []
    for moment in warning_steps(routing):
        offsets.append(await _move_clock(system, moment))
        await _wait(
            lambda at=moment: _events_recorded(  # type: ignore[misc]
                api, ids, config.down_agency, "deadline_warning", at
            ),
            system,
            deadline,
            f"routing warnings at {moment.isoformat()}",
            say,
        )
    offsets.append(await _move_clock(system, last_due + timedelta(minutes=1)))
    await _wait(
        lambda: _events_recorded(api, ids, config.down_agency, "deadline_breached"),
        system,
        deadline,
        "a routing breach for every waiting task",
        say,
    )
    line = (
        f"{config.down_agency} down while the gateway's clock moved {offsets[-1] / 3600:.1f} h "
        f"ahead (through the last working day of the routing term, to "
        f"{(last_due + timedelta(minutes=1)).isoformat()}): {len(routing)} tasks waited"
    )
    result.events.append(line)
    say(line)
    seconds = await asyncio.to_thread(system.start_process, "down-body")
    say(f"{config.down_agency} back after the simulated day ({seconds:.1f} s to start)")


async def _move_clock(system: ChaosSystem, moment: datetime) -> float:
    offset = (moment - datetime.now(UTC)).total_seconds()
    write_offset(system.clock_file, offset)
    await asyncio.sleep(0.5)  # each process re-reads the file within 0.2 s
    return offset


def warning_steps(routing: list[tuple[datetime, datetime]]) -> list[datetime]:
    """The fewest clock positions that put every task between its warning point and its
    due time once (tasks approved on different days have different windows)."""
    steps: list[datetime] = []
    remaining = sorted(routing, key=lambda pair: pair[1])
    while remaining:
        first_due = remaining[0][1]
        batch = [(w, d) for w, d in remaining if w <= first_due - timedelta(minutes=1)]
        steps.append(max(w for w, _ in batch) + timedelta(minutes=1))
        remaining = [pair for pair in remaining if pair not in batch]
    return steps


async def _events_recorded(
    api: Api, ids: list[str], agency: str, kind: str, by: datetime | None = None
) -> bool:
    """Every `agency` task (whose warning point is before `by`) has a routing `kind` event."""
    views = await gather_limited(8, [api.plan(i) for i in ids])
    for plan in views:
        waiting = {
            t["id"]
            for t in plan["tasks"]
            if t["agency"] == agency
            and (
                by is None
                or any(
                    d["kind"] == "routing" and datetime.fromisoformat(d["warn_at"]) < by
                    for d in t["deadlines"]
                )
            )
        }
        seen = {
            e["task_id"]
            for e in plan["timeline"]
            if e["type"] == kind and (e.get("data") or {}).get("kind") == "routing"
        }
        if not waiting <= seen:
            return False
    return True


# -- phase 4: the verdict -----------------------------------------------------------------------


async def _all_completed(api: Api, plans: int) -> bool:
    total, items = await api.listing()
    return total == plans and all(i["status"] == "completed" for i in items)


async def _verdict(
    config: DrillConfig, system: ChaosSystem, api: Api, submitted: dict[str, str]
) -> Verdict:
    total, _ = await api.listing()
    views = await gather_limited(8, [api.plan(i) for i in sorted(set(submitted.values()))])
    taken = {
        code: [
            e.task_id or ""
            for e in journal(system.mock_state, code)
            if e.effect is Effect.taken and e.type == "task.assigned"
        ]
        for code in system.agencies
    }
    return judge(
        submitted=submitted,
        plans=views,
        plans_listed=total,
        taken=taken,
        down_agency=config.down_agency,
        activities=ACTIVITIES,
    )


async def _figures(system: ChaosSystem, api: Api, result: DrillResult) -> None:
    stats = api.stats
    result.figures["client retries"] = (
        f"{stats.network_errors} after a connection error, {stats.refused_503} after a 503 "
        "(back-pressure), "
        f"{stats.server_errors} after a 500"
    )
    result.figures["registry lookups"] = ", ".join(
        f"{count} x {status}" for status, count in sorted(stats.lookups.items())
    )
    result.figures["reviews"] = f"{stats.accepted} accepted, {stats.review_conflicts} already done"
    async with httpx.AsyncClient() as admin:
        faults = (
            await admin.get(f"{system.bus_url}/__admin/requests/count?fault=soap_fault")
        ).json()
        calls = (await admin.get(f"{system.bus_url}/__admin/requests/count")).json()
    result.figures["bus"] = f"{calls['count']} calls, {faults['count']} answered with a fault"
    for name, process in system.processes.items():
        text = process.log.read_text(errors="replace") if process.log.exists() else ""
        lost = text.count("lost RabbitMQ")
        back = text.count("RabbitMQ connected again") + text.count("RabbitMQ is back")
        tracebacks = text.count("Traceback (most recent call last)")
        result.figures[f"log {name}"] = (
            f"{process.kills} kill(s); 'lost RabbitMQ' x{lost}, back x{back}, "
            f"{tracebacks} traceback(s)"
        )


# -- helpers ----------------------------------------------------------------------------------


async def _wait(
    check: Callable[[], Any], system: ChaosSystem, deadline: float, what: str, say: Progress
) -> None:
    began = time.monotonic()
    while True:
        try:
            if await check():
                say(f"{what} ({time.monotonic() - began:.0f} s)")
                return
        except Exception as error:  # a process restarting: look again
            last = repr(error)
        else:
            last = ""
        dead = system.died()
        if dead:
            raise DrillError(
                f"waiting for {what}: {', '.join(dead)} died:\n{system.processes[dead[0]].tail()}"
            )
        if time.monotonic() > deadline:
            raise DrillError(f"timed out waiting for {what} {last}")
        await asyncio.sleep(1.0)


async def _admin_sql(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _stamped(progress: Progress, began: float) -> Progress:
    def say(line: str) -> None:
        progress(f"[{time.monotonic() - began:6.0f} s] {line}")

    return say
