"""Load benchmark: many plans at once through the running system, end to end.

It measures what a centre and the bodies would feel: how long a submit takes, how
long until a body's system has a task, and how long until its `done` is on record.
The figures come from the gateway's own timestamps (`created_at`, `delivered_at`,
`reported_at`), so the bench's polling interval does not blur them; only the wall
time is measured by the bench itself.

The decisions and the arithmetic are pure functions, tested without a server;
`run_bench` is the thin part that talks HTTP.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from bench.baseline import BaselineResult, ratio, run_baseline
from bench.cpu import BODIES, GATEWAY, CpuMeter, ms_per_task
from contracts.iin import next_valid_iin
from contracts.plans import PlanView, TaskState

LIST_PAGE = 500  # the list endpoint's maximum page
HTTP_TIMEOUT_SECONDS = 30.0
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
PAUSE_PER_PAGE = 0.25
"""Seconds of pause between two rounds of watching, per list page the last round read."""
QUANTILES = (50.0, 95.0, 99.0)
# The baseline's bodies: as many queues as the gateway's bench deals activities to.
BASELINE_AGENCIES = ("body_a", "body_b", "body_c", "body_d", "body_e", "body_f")

# A task the bench stops waiting for: the body's word on it is final for this run.
FINAL_STATES = frozenset(
    {
        TaskState.reported,
        TaskState.accepted,
        TaskState.rejected_by_agency,
        TaskState.failed,
        TaskState.cancelled,
    }
)
REFUSED_STATES = frozenset({TaskState.rejected_by_agency, TaskState.failed, TaskState.cancelled})


class BenchError(Exception):
    """The run cannot start or go on: no gateway, or the key is refused."""


@dataclass(frozen=True)
class BenchConfig:
    api_url: str
    api_key: str
    centre: str = "demo-centre"
    plans: int = 200
    activities: int = 4
    concurrency: int = 16
    timeout: float = 300.0
    """Seconds from the first submit until the bench stops waiting for `done`s."""
    poll_seconds: float = 0.5
    retries: int = 3
    rate: float | None = None
    """Open-loop mode: submit at this many tasks a second (plans at rate / activities)."""
    baseline: bool = False
    """Also run the bare aio-pika pipeline (bench/baseline.py) first, in the same invocation."""
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    amqp_prefix: str = "gw"
    """The deployment's prefix: its processes are the ones whose CPU is counted."""
    burst: int | None = None
    """Burst mode: this many tasks (rounded up to whole plans), as fast as the API takes them."""

    @property
    def plan_count(self) -> int:
        """Plans to submit: `--burst` is given in tasks, `--plans` in plans."""
        if self.burst is not None:
            return math.ceil(self.burst / self.activities)
        return self.plans

    @property
    def mode(self) -> str:
        if self.burst is not None:
            return "burst"
        if self.rate is not None:
            return "rate"
        return "closed"


def submit_offsets(plans: int, tasks_per_second: float, activities: int) -> list[float]:
    """When each plan is sent in `--rate` mode, in seconds from the start.

    Open loop: the schedule does not wait for answers, so a slow gateway shows as
    latency rather than as a lower offered load (a closed loop hides that).
    """
    if tasks_per_second <= 0:
        raise ValueError("the rate must be positive")
    interval = activities / tasks_per_second
    return [i * interval for i in range(plans)]


# --- statistics ---------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile by linear interpolation between closest ranks.

    The same definition as numpy's default and Excel's PERCENTILE.INC, so figures can
    be checked against a spreadsheet; with few samples p99 is close to the maximum
    rather than jumping to it.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile must be within 0 to 100, got {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def percentiles(
    values: Sequence[float], quantiles: Iterable[float] = QUANTILES
) -> dict[str, float | None]:
    """`{"p50": ..., ...}`; None when there is nothing to measure, never a made-up 0."""
    return {f"p{q:g}": (round(percentile(values, q), 3) if values else None) for q in quantiles}


# --- the load -----------------------------------------------------------------------


def plan_body(
    *,
    centre: str,
    run_id: str,
    index: int,
    agencies: Sequence[str],
    activities: int,
    now: datetime,
) -> dict[str, Any]:
    """One plan for the load: a parent and a child, `activities` tasks round the bodies.

    Birth dates follow the index so that families differ, as real ones do; the IINs
    stay valid because the gateway refuses a bad one before anything is routed.
    """
    if not agencies:
        raise ValueError("no agency to give the activities to")
    parent = next_valid_iin(date(1975, 1, 1) + timedelta(days=index % 9000), "female", 1)
    child = next_valid_iin(date(2012, 1, 1) + timedelta(days=index % 4000), "male", 1)
    return {
        "centre": centre,
        "external_id": f"BENCH-{run_id}-{index:06d}",
        "approved_at": now.isoformat(),
        "family": {
            "members": [
                {
                    "iin": parent,
                    "last_name": "Сериккызы",
                    "first_name": "Гульнар",
                    "role": "applicant",
                },
                {"iin": child, "last_name": "Серикулы", "first_name": "Арман", "role": "child"},
            ],
            "address": "г. Астана, район Сарыарка, ул. Бейбитшилик, д. 1",
        },
        "grounds": ["Нагрузочный тест"],
        "activities": [
            {
                "agency": agencies[n % len(agencies)],
                "title": f"Мероприятие {n + 1} (нагрузочный тест)",
                "description": "Проверка пропускной способности шлюза.",
                "due_date": (now.date() + timedelta(days=30)).isoformat(),
            }
            for n in range(activities)
        ],
    }


@dataclass(frozen=True)
class Submitted:
    index: int
    plan_id: str | None
    latency_ms: float | None
    attempts: int
    created_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class TaskTiming:
    plan_id: str
    task_id: str
    agency: str
    state: TaskState
    delivered_ms: float | None
    done_ms: float | None
    done_at: datetime | None


def _ms(later: datetime | None, earlier: datetime) -> float | None:
    return None if later is None else (later - earlier).total_seconds() * 1000.0


def task_timings(plan: PlanView) -> list[TaskTiming]:
    """Each task's time from the plan's submit to delivery and to `done`, per the gateway."""
    return [
        TaskTiming(
            plan_id=plan.id,
            task_id=t.id,
            agency=t.agency,
            state=t.state,
            delivered_ms=_ms(t.delivered_at, plan.created_at),
            done_ms=_ms(t.reported_at, plan.created_at),
            done_at=t.reported_at,
        )
        for t in plan.tasks
    ]


def is_settled(task_states: dict[str, int]) -> bool:
    """From the list endpoint's per-state counts: has every task had its final word?"""
    known = {s.value for s in FINAL_STATES}
    return bool(task_states) and all(state in known for state in task_states)


@dataclass(frozen=True)
class Report:
    plans: int
    plans_submitted: int
    submit_failures: int
    submit_retries: int
    activities: int
    concurrency: int
    tasks: int
    tasks_done: int
    tasks_not_done: int
    tasks_refused: int
    timed_out: bool
    wall_seconds: float
    submit_seconds: float
    done_window_seconds: float | None
    tasks_per_second: float | None
    submit_latency_ms: dict[str, float | None]
    submit_to_delivered_ms: dict[str, float | None]
    submit_to_done_ms: dict[str, float | None]
    all_delivered_seconds: float | None = None
    """From the first plan's `created_at` to the last task's `delivered_at`."""
    mode: str = "closed"
    offered_tasks_per_second: float | None = None
    gateway_cpu_seconds: float | None = None
    gateway_cpu_ms_per_task: float | None = None
    gateway_processes: int = 0
    bodies_cpu_seconds: float | None = None
    bodies_cpu_ms_per_task: float | None = None
    baseline_tasks: int | None = None
    baseline_tasks_per_second: float | None = None
    baseline_seconds: float | None = None
    baseline_cpu_ms_per_task: float | None = None
    ratio: float | None = None
    errors: list[str] = field(default_factory=list)


def summarize(
    config: BenchConfig,
    submits: Sequence[Submitted],
    plans: Sequence[PlanView],
    *,
    wall_seconds: float,
    submit_seconds: float,
    timed_out: bool,
) -> Report:
    """The figures of a run from what was submitted and the plans as last read.

    Throughput counts from the first plan's `created_at` to the last `reported_at`,
    both on the gateway's clock: the bench's own clock would add its polling delay.
    """
    ok = [s for s in submits if s.plan_id is not None]
    timings = [t for plan in plans for t in task_timings(plan)]
    done = [t for t in timings if t.done_at is not None]
    tasks = len(ok) * config.activities
    window: float | None = None
    rate: float | None = None
    delivered_window: float | None = None
    if done and plans:
        start = min(p.created_at for p in plans)
        end = max(t.done_at for t in done if t.done_at is not None)
        window = (end - start).total_seconds()
        rate = len(done) / window if window > 0 else None
    delivered = [t.delivered_ms for t in timings if t.delivered_ms is not None]
    if plans and len(delivered) == tasks:
        start = min(p.created_at for p in plans)
        last = max(tk.delivered_at for p in plans for tk in p.tasks if tk.delivered_at is not None)
        delivered_window = (last - start).total_seconds()
    errors = sorted({s.error for s in submits if s.error})
    return Report(
        plans=config.plan_count,
        plans_submitted=len(ok),
        submit_failures=len(submits) - len(ok),
        submit_retries=sum(s.attempts - 1 for s in submits),
        activities=config.activities,
        concurrency=config.concurrency,
        tasks=tasks,
        tasks_done=len(done),
        tasks_not_done=tasks - len(done),
        tasks_refused=sum(1 for t in timings if t.state in REFUSED_STATES),
        timed_out=timed_out,
        wall_seconds=round(wall_seconds, 3),
        submit_seconds=round(submit_seconds, 3),
        done_window_seconds=None if window is None else round(window, 3),
        tasks_per_second=None if rate is None else round(rate, 1),
        submit_latency_ms=percentiles([s.latency_ms for s in ok if s.latency_ms is not None]),
        submit_to_delivered_ms=percentiles(
            [t.delivered_ms for t in timings if t.delivered_ms is not None]
        ),
        submit_to_done_ms=percentiles([t.done_ms for t in done if t.done_ms is not None]),
        all_delivered_seconds=None if delivered_window is None else round(delivered_window, 3),
        mode=config.mode,
        offered_tasks_per_second=config.rate if config.mode == "rate" else None,
        errors=errors[:5],
    )


def _quantiles_text(figures: dict[str, float | None], keys: Sequence[str]) -> str:
    return "  ".join(
        f"{key} {'-' if figures.get(key) is None else f'{figures[key]:.1f}'} ms" for key in keys
    )


def format_report(report: Report) -> str:
    submit_rate = (
        f"{report.plans_submitted / report.submit_seconds:.1f} plans/s"
        if report.submit_seconds > 0
        else "-"
    )
    throughput = (
        f"{report.tasks_per_second:.1f} tasks/s ({report.tasks_done} done in "
        f"{report.done_window_seconds:.2f} s, first submit to last done recorded)"
        if report.tasks_per_second is not None and report.done_window_seconds is not None
        else "- (no task done)"
    )
    all_q = ("p50", "p95", "p99")
    lines = [
        (
            "plans",
            f"{report.plans_submitted} submitted of {report.plans} "
            f"({report.submit_failures} failed, {report.submit_retries} retries)",
        ),
        ("tasks", f"{report.tasks} ({report.activities} per plan)"),
        ("concurrency", f"{report.concurrency} clients"),
        (
            "wall time",
            f"{report.wall_seconds:.2f} s (first submit to the bench seeing the last done)",
        ),
        ("submit phase", f"{report.submit_seconds:.2f} s ({submit_rate})"),
        ("throughput", throughput),
        ("submit latency", _quantiles_text(report.submit_latency_ms, all_q)),
        ("submit → delivered", _quantiles_text(report.submit_to_delivered_ms, all_q)),
        ("submit → done", _quantiles_text(report.submit_to_done_ms, ("p50", "p99"))),
        (
            "not done",
            f"{report.tasks_not_done}"
            + (" (timed out)" if report.timed_out else "")
            + (
                f", {report.tasks_refused} refused by a body or failed"
                if report.tasks_refused
                else ""
            ),
        ),
    ]
    lines[6:6] = _extra_lines(report)
    text = "\n".join(f"{name:<20}{value}" for name, value in lines)
    if report.errors:
        text += "\nsubmit errors:\n" + "\n".join(f"  {e}" for e in report.errors)
    return text


def _figure(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:g}{unit}"


def _extra_lines(report: Report) -> list[tuple[str, str]]:
    """The mode, the baseline beside the gateway, the CPU and the time to deliver all."""
    lines: list[tuple[str, str]] = []
    if report.mode == "rate":
        lines.append(("mode", f"fixed rate, {_figure(report.offered_tasks_per_second)} tasks/s"))
    elif report.mode == "burst":
        lines.append(("mode", f"burst of {report.tasks} tasks"))
    if report.baseline_tasks is not None:
        lines.append(
            (
                "baseline",
                f"{_figure(report.baseline_tasks_per_second)} tasks/s "
                f"(bare aio-pika pipeline, {report.baseline_tasks} tasks in "
                f"{_figure(report.baseline_seconds, ' s')})",
            )
        )
        lines.append(("ratio", f"{_figure(report.ratio)} (gateway tasks/s / baseline tasks/s)"))
        lines.append(
            (
                "baseline CPU",
                f"{_figure(report.baseline_cpu_ms_per_task, ' ms')} a task (the bare "
                "pipeline's relay, bodies and collector sides, in one process)",
            )
        )
    lines.append(
        (
            "gateway CPU",
            f"{_figure(report.gateway_cpu_ms_per_task, ' ms')} a task "
            f"({_figure(report.gateway_cpu_seconds, ' s')} in "
            f"{report.gateway_processes} process(es))",
        )
    )
    lines.append(
        (
            "bodies CPU",
            f"{_figure(report.bodies_cpu_ms_per_task, ' ms')} a task "
            f"({_figure(report.bodies_cpu_seconds, ' s')}, the mock bodies)",
        )
    )
    lines.append(
        (
            "all delivered",
            f"{_figure(report.all_delivered_seconds, ' s')} after the first submit"
            if report.all_delivered_seconds is not None
            else "- (not every task was delivered)",
        )
    )
    return lines


# --- talking to the gateway ---------------------------------------------------------


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(body, dict) and body.get("detail"):
        return str(body["detail"])
    return str(body)[:200]


def _refuse_if_unauthorised(response: httpx.Response, doing: str) -> None:
    if response.status_code in (401, 403):
        raise BenchError(
            f"the gateway refused the credential while {doing} "
            f"({response.status_code}: {_detail(response)}); pass a centre's key with --api-key"
        )


async def _enabled_agencies(client: httpx.AsyncClient) -> list[str]:
    response = await client.get("/api/v1/agencies")
    _refuse_if_unauthorised(response, "reading the agency registry")
    if response.status_code != 200:
        raise BenchError(f"reading the agency registry failed: {_detail(response)}")
    return sorted(
        a["code"] for a in response.json() if a.get("enabled") and "ipr" in a.get("flows", ["ipr"])
    )


async def _submit(
    client: httpx.AsyncClient,
    index: int,
    body: dict[str, Any],
    key: str,
    retries: int,
    patient_until: float | None = None,
) -> Submitted:
    """Submit with retries under one Idempotency-Key, so a retry never makes a second plan.

    The latency counts from the first attempt: that is what the centre's system waits.
    A 503 with `Retry-After` (the gateway's back-pressure) is waited out as a well-behaved
    centre's system would, and does not use up a retry while `patient_until` (a monotonic
    time) is ahead: a burst then measures what the API takes, not how soon the client
    gives up.
    """
    started = time.perf_counter()
    error = "not attempted"
    attempt = 0
    failures = 0
    while failures <= retries:
        attempt += 1
        pause = 0.1 * 2**failures
        try:
            response = await client.post(
                "/api/v1/plans", json=body, headers={"Idempotency-Key": key}
            )
        except httpx.TransportError as exc:
            error = f"{type(exc).__name__}: {exc}"
            failures += 1
        else:
            if response.status_code in (200, 201):
                data = response.json()
                return Submitted(
                    index,
                    str(data["id"]),
                    (time.perf_counter() - started) * 1000.0,
                    attempt,
                    created_at=datetime.fromisoformat(data["created_at"]),
                )
            _refuse_if_unauthorised(response, "submitting a plan")
            error = f"{response.status_code}: {_detail(response)}"
            if response.status_code not in RETRYABLE_STATUS:
                return Submitted(index, None, None, attempt, error=error)
            waited = _retry_after(response)
            if (
                waited is not None
                and patient_until is not None
                and time.monotonic() + waited < patient_until
            ):
                pause = waited  # back-pressure: not a failure of the submit
            else:
                failures += 1
        if failures <= retries:
            await asyncio.sleep(pause)
    return Submitted(index, None, None, attempt, error=error)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.strip().isdigit() else None


async def _submit_all(
    client: httpx.AsyncClient, config: BenchConfig, agencies: Sequence[str]
) -> list[Submitted]:
    run_id = uuid.uuid4().hex[:12]
    now = datetime.now().astimezone()
    # Bodies are built before the clock starts: IIN generation is not the gateway's cost.
    bodies = [
        plan_body(
            centre=config.centre,
            run_id=run_id,
            index=i,
            agencies=agencies,
            activities=config.activities,
            now=now,
        )
        for i in range(config.plan_count)
    ]
    results: list[Submitted] = []
    fatal: list[BenchError] = []
    if config.rate is not None and config.burst is None:
        return await _submit_at_rate(client, config, bodies, run_id, config.rate)
    indices: Iterator[int] = iter(range(config.plan_count))
    patient = time.monotonic() + config.timeout if config.burst is not None else None

    async def worker() -> None:
        # A refused key refuses every submit: stop all clients at the first refusal
        # rather than send the rest only to be refused too.
        for i in indices:
            if fatal:
                return
            try:
                results.append(
                    await _submit(
                        client, i, bodies[i], f"bench-{run_id}-{i}", config.retries, patient
                    )
                )
            except BenchError as error:
                fatal.append(error)

    await asyncio.gather(*(worker() for _ in range(config.concurrency)))
    if fatal:
        raise fatal[0]
    return sorted(results, key=lambda s: s.index)


async def _submit_at_rate(
    client: httpx.AsyncClient,
    config: BenchConfig,
    bodies: Sequence[dict[str, Any]],
    run_id: str,
    tasks_per_second: float,
) -> list[Submitted]:
    """Send each plan at its scheduled moment, whether or not earlier ones were answered."""
    offsets = submit_offsets(len(bodies), tasks_per_second, config.activities)
    loop = asyncio.get_running_loop()
    t0 = loop.time()

    async def one(i: int) -> Submitted:
        delay = t0 + offsets[i] - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        return await _submit(client, i, bodies[i], f"bench-{run_id}-{i}", config.retries)

    results = await asyncio.gather(*(one(i) for i in range(len(bodies))), return_exceptions=True)
    for result in results:
        if isinstance(result, BenchError):
            raise result
        if isinstance(result, BaseException):
            raise result
    return [r for r in results if isinstance(r, Submitted)]


async def _settled_by_list(
    client: httpx.AsyncClient, pending: set[str], oldest: datetime, max_pages: int | None = None
) -> tuple[set[str], set[str], int]:
    """Pending plans the list shows as settled, those it did not show at all, and how many
    pages that took.

    One list page covers up to 500 plans, so a round costs a request or two instead of
    one read per plan; the list is newest first, so paging stops once it is past the
    run's first plan.
    """
    settled: set[str] = set()
    seen: set[str] = set()
    offset = 0
    pages = 0
    while True:
        pages += 1
        response = await client.get("/api/v1/plans", params={"limit": LIST_PAGE, "offset": offset})
        _refuse_if_unauthorised(response, "listing plans")
        response.raise_for_status()
        items = response.json()["items"]
        for item in items:
            if item["id"] in pending:
                seen.add(item["id"])
                if is_settled(item["task_states"]):
                    settled.add(item["id"])
        older = bool(items) and datetime.fromisoformat(items[-1]["created_at"]) < oldest
        if seen >= pending or len(items) < LIST_PAGE or older or pages == max_pages:
            return settled, pending - seen, pages
        offset += LIST_PAGE


def _open_on_first_page(settled: set[str], open_: set[str], unseen: set[str]) -> bool:
    """Whether a plan the first page showed is still open (`open_` minus those it did not
    show at all)."""
    return bool(open_ - unseen - settled)


async def _read_plans(
    client: httpx.AsyncClient, plan_ids: Iterable[str], concurrency: int
) -> list[PlanView]:
    gate = asyncio.Semaphore(concurrency)

    async def read(plan_id: str) -> PlanView:
        async with gate:
            response = await client.get(f"/api/v1/plans/{plan_id}")
        _refuse_if_unauthorised(response, "reading a plan")
        response.raise_for_status()
        return PlanView.model_validate(response.json())

    return list(await asyncio.gather(*(read(p) for p in plan_ids)))


async def _wait_for_done(
    client: httpx.AsyncClient,
    config: BenchConfig,
    submits: Sequence[Submitted],
    give_up_at: float,
    progress: Callable[[str], None],
    on_settled: Callable[[], None] = lambda: None,
) -> tuple[list[PlanView], bool]:
    """Poll the plan list until every task has had its body's final word or time is up.

    While the system works, only the list is polled (a request or two a round), so the
    bench's own watching costs the gateway little; `on_settled` is called once the list
    shows every plan settled, before the plans are read in full for their timestamps
    (which do not change after that, as nobody reviews during the bench). The CPU meters
    stop there: reading the results is the bench's work, not the system's.
    """
    pending = {s.plan_id for s in submits if s.plan_id is not None}
    created = [s.created_at for s in submits if s.created_at is not None]
    if not pending or not created:
        on_settled()
        return [], False
    oldest = min(created) - timedelta(seconds=1)
    settled_ids: set[str] = set()
    last_note = 0.0
    # The newest plans settle last (the pipeline is first in, first out): while the first
    # list page still shows one open, reading the other pages would only load the gateway.
    newest_first = len(pending) > LIST_PAGE
    while True:
        if newest_first:
            head, _unseen, pages = await _settled_by_list(
                client, pending - settled_ids, oldest, max_pages=1
            )
            settled_ids |= head
            newest_first = _open_on_first_page(head, pending - settled_ids, _unseen)
            if newest_first:
                await asyncio.sleep(config.poll_seconds)
                continue
        settled, _unseen, pages = await _settled_by_list(client, pending - settled_ids, oldest)
        settled_ids |= settled
        now = time.monotonic()
        open_plans = len(pending) - len(settled_ids)
        if now - last_note >= 2.0 or not open_plans:
            progress(f"settled {len(settled_ids)}/{len(pending)} plans")
            last_note = now
        if not open_plans or now >= give_up_at:
            break
        # A burst of tens of thousands of plans is tens of list pages a round: the pause
        # grows with them, so that watching does not become the gateway's main load.
        await asyncio.sleep(max(config.poll_seconds, PAUSE_PER_PAGE * pages))
    on_settled()
    views = await _read_plans(client, pending, config.concurrency)
    finished = [v for v in views if all(t.state in FINAL_STATES for t in v.tasks)]
    done = sum(1 for v in views for t in v.tasks if t.reported_at)
    progress(f"done {done}/{len(pending) * config.activities} tasks")
    return views, len(finished) < len(views)


async def run_bench(config: BenchConfig, progress: Callable[[str], None]) -> Report:
    """Baseline first (when asked), then the gateway, with the CPU of its processes."""
    baseline: BaselineResult | None = None
    if config.baseline:
        progress(f"baseline: {config.plan_count * config.activities} tasks, bare aio-pika")
        baseline = await run_baseline(
            config.amqp_url,
            config.amqp_prefix,
            BASELINE_AGENCIES[: max(1, min(config.activities, len(BASELINE_AGENCIES)))],
            config.plan_count * config.activities,
            give_up_after=config.timeout,
        )
        progress(f"baseline: {baseline.tasks_per_second} tasks/s")
    gateway_cpu = CpuMeter(GATEWAY, config.amqp_prefix)
    bodies_cpu = CpuMeter(BODIES, config.amqp_prefix)
    if not gateway_cpu.pids:
        progress(f"no `gateway serve` process with prefix {config.amqp_prefix!r}: no CPU figure")
    gateway_cpu.start()
    bodies_cpu.start()
    spent: list[float | None] = []

    def stop_meters() -> None:
        spent.extend([gateway_cpu.stop(), bodies_cpu.stop()])

    report = await _run_gateway(config, progress, on_settled=stop_meters)
    gateway_s, bodies_s = spent if spent else (gateway_cpu.stop(), bodies_cpu.stop())
    return with_measures(
        report,
        gateway_cpu_seconds=gateway_s,
        gateway_processes=len(gateway_cpu.pids),
        bodies_cpu_seconds=bodies_s,
        baseline=baseline,
    )


def with_measures(
    report: Report,
    *,
    gateway_cpu_seconds: float | None,
    gateway_processes: int,
    bodies_cpu_seconds: float | None,
    baseline: BaselineResult | None,
) -> Report:
    """The report with the CPU per done task and the baseline beside the gateway."""
    return replace(
        report,
        gateway_cpu_seconds=gateway_cpu_seconds,
        gateway_cpu_ms_per_task=ms_per_task(gateway_cpu_seconds, report.tasks_done),
        gateway_processes=gateway_processes,
        bodies_cpu_seconds=bodies_cpu_seconds,
        bodies_cpu_ms_per_task=ms_per_task(bodies_cpu_seconds, report.tasks_done),
        baseline_tasks=None if baseline is None else baseline.tasks,
        baseline_tasks_per_second=None if baseline is None else baseline.tasks_per_second,
        baseline_seconds=None if baseline is None else baseline.seconds,
        baseline_cpu_ms_per_task=None
        if baseline is None
        else ms_per_task(baseline.cpu_seconds, baseline.tasks_done),
        ratio=None
        if baseline is None
        else ratio(report.tasks_per_second, baseline.tasks_per_second),
    )


async def _run_gateway(
    config: BenchConfig,
    progress: Callable[[str], None],
    on_settled: Callable[[], None] = lambda: None,
) -> Report:
    connections = config.concurrency if config.rate is None else max(config.concurrency, 64)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(
        base_url=config.api_url,
        headers={"Authorization": f"Bearer {config.api_key}"},
        timeout=HTTP_TIMEOUT_SECONDS,
        limits=limits,
    ) as client:
        try:
            agencies = await _enabled_agencies(client)
        except httpx.TransportError as error:
            raise BenchError(
                f"cannot reach the gateway at {config.api_url} ({type(error).__name__}: {error}); "
                "start the system first, e.g. `gateway up --work-seconds 0`"
            ) from None
        if not agencies:
            raise BenchError("the registry has no enabled agency to send tasks to")
        progress(
            f"submitting {config.plan_count} plans x {config.activities} activities "
            f"({', '.join(agencies)}) from {config.concurrency} clients"
        )
        started = time.monotonic()
        submits = await _submit_all(client, config, agencies)
        submit_seconds = time.monotonic() - started
        failed = sum(1 for s in submits if s.plan_id is None)
        progress(
            f"submitted {len(submits) - failed} plans in {submit_seconds:.2f} s, {failed} failed"
        )
        plans, timed_out = await _wait_for_done(
            client, config, submits, started + config.timeout, progress, on_settled
        )
        wall = time.monotonic() - started
    return summarize(
        config,
        submits,
        plans,
        wall_seconds=wall,
        submit_seconds=submit_seconds,
        timed_out=timed_out,
    )
