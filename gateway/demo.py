"""`gateway demo`: one family's plan from submit to completion, watched live.

The demo plays the family support centre against a running system: it submits a
plan, follows the tasks as the mock bodies report on them, accepts every report, and
stops when the plan is completed. A developer sees in a minute that the whole chain
(API, outbox, RabbitMQ, the bodies, the status collector, the deadlines) works.

Everything that decides or draws is a pure function of the plan as the API returns
it, so it is tested without a server; `run_demo` only moves data between the API,
those functions and the terminal.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import httpx
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.table import Table
from rich.text import Text

from contracts.agencies import Agency
from contracts.iin import next_valid_iin
from contracts.plans import (
    DeadlineKind,
    DeadlineState,
    DeadlineView,
    PlanStatus,
    PlanView,
    TaskState,
    TaskView,
)
from gateway.reports.quarterly import SHORT_NAMES_RU
from gateway.web.i18n import translate

POLL_SECONDS = 0.5
HTTP_TIMEOUT_SECONDS = 10.0
RECENT_EVENTS = 6

# Distinct codes so that a script (or CI smoke test) can tell a dead system from a
# misconfigured key from a plan that really went wrong.
EXIT_COMPLETED = 0
EXIT_UNEXPECTED = 1
EXIT_UNREACHABLE = 3
EXIT_CREDENTIAL_REFUSED = 4
EXIT_SUBMIT_REFUSED = 5
EXIT_TASK_REFUSED = 6
EXIT_PLAN_CANCELLED = 7
EXIT_TIMEOUT = 8

RUN_HINT = "start the system first with the README's run command (`gateway up`), then retry"

STATE_STYLES: dict[TaskState, str] = {
    TaskState.created: "dim",
    TaskState.dispatched: "dim",
    TaskState.delivered: "cyan",
    TaskState.in_progress: "blue",
    TaskState.reported: "yellow",
    TaskState.accepted: "bold green",
    TaskState.returned: "magenta",
    TaskState.rejected_by_agency: "bold red",
    TaskState.failed: "bold red",
    TaskState.cancelled: "dim",
}

DEADLINE_STYLES: dict[DeadlineState, str] = {
    DeadlineState.on_time: "green",
    DeadlineState.at_risk: "yellow",
    DeadlineState.breached: "bold red",
}

# States in which the centre is no longer waiting on the body for this round.
SETTLED = frozenset({TaskState.accepted, TaskState.cancelled})
REFUSED = frozenset({TaskState.rejected_by_agency, TaskState.failed})


# --- the sample family and plan ----------------------------------------------------


@dataclass(frozen=True)
class SampleActivity:
    title: str
    description: str
    due_in_days: int
    for_children_only: bool = False


SAMPLE_ACTIVITIES: dict[str, SampleActivity] = {
    "health": SampleActivity(
        "Прикрепление к поликлинике и медицинский осмотр детей",
        "Прикрепить семью к городской поликлинике по месту фактического проживания, "
        "провести профилактический осмотр обоих детей и восстановить прививочные карты.",
        14,
    ),
    "education": SampleActivity(
        "Место в детском саду и зачисление в школу",
        "Предоставить место в государственном детском саду младшей дочери; зачислить сына "
        "в ближайшую школу и включить его в список на бесплатное горячее питание.",
        30,
        for_children_only=True,
    ),
    "housing": SampleActivity(
        "Постановка на учёт для получения социального жилья",
        "Принять заявление и поставить семью на учёт нуждающихся в жилище из государственного "
        "жилищного фонда как малообеспеченную; разъяснить порядок аренды жилья без права выкупа.",
        30,
    ),
    "internal_affairs": SampleActivity(
        "Восстановление документов и посещение инспектором по делам несовершеннолетних",
        "Восстановить утраченное удостоверение личности матери; инспектору по делам "
        "несовершеннолетних посетить семью и составить акт обследования условий жизни детей.",
        10,
    ),
}


def sample_family() -> list[dict[str, Any]]:
    """A mother with two children; the IINs are valid so the gateway takes them."""
    return [
        {
            "iin": next_valid_iin(date(1991, 5, 14), "female", 1),
            "last_name": "Жакупова",
            "first_name": "Айгерим",
            "middle_name": "Серикбаевна",
            "role": "applicant",
        },
        {
            "iin": next_valid_iin(date(2016, 9, 2), "male", 1),
            "last_name": "Жақыпов",
            "first_name": "Нұрлан",
            "middle_name": "Ерланұлы",
            "role": "child",
        },
        {
            "iin": next_valid_iin(date(2021, 2, 11), "female", 1),
            "last_name": "Жақыпова",
            "first_name": "Әмина",
            "middle_name": "Ерланқызы",
            "role": "child",
        },
    ]


def sample_plan(centre: str, now: datetime, agencies: Sequence[str]) -> dict[str, Any]:
    """The submit body: one activity per chosen body that has sample wording.

    `now` must be timezone-aware: it becomes `approved_at`, which the gateway refuses
    when naive, and the due dates count from its date.
    """
    members = sample_family()
    children = [m["iin"] for m in members if m["role"] == "child"]
    activities = []
    for code in agencies:
        sample = SAMPLE_ACTIVITIES.get(code)
        if sample is None:
            continue
        activities.append(
            {
                "agency": code,
                "title": sample.title,
                "description": sample.description,
                "due_date": (now.date() + timedelta(days=sample.due_in_days)).isoformat(),
                "beneficiary_iins": children if sample.for_children_only else [],
            }
        )
    return {
        "centre": centre,
        "external_id": f"DEMO-{now:%Y%m%d-%H%M%S}",
        "approved_at": now.isoformat(),
        "family": {
            "members": members,
            "address": "г. Алматы, Алатауский район, мкр. Шугыла, ул. Жуалы, д. 12, кв. 34",
        },
        "grounds": [
            "Малообеспеченность",
            "Отсутствие собственного жилья",
            "Утрата документов, удостоверяющих личность",
        ],
        "activities": activities,
    }


def demo_agencies(registry: Sequence[Agency]) -> list[str]:
    """Enabled bodies the demo has wording for: a disabled one would get a 422."""
    return [a.code for a in registry if a.enabled and a.code in SAMPLE_ACTIVITIES]


# --- decisions ----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    headline: str
    details: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_COMPLETED


def tasks_to_accept(plan: PlanView) -> list[str]:
    """The centre checks and accepts reports; here every report is good enough."""
    if plan.status is not PlanStatus.active:
        return []
    return [t.id for t in plan.tasks if t.state is TaskState.reported]


def open_tasks(plan: PlanView) -> list[TaskView]:
    return [t for t in plan.tasks if t.state not in SETTLED]


def agency_label(code: str, agencies: Mapping[str, Agency]) -> str:
    agency = agencies.get(code)
    return code if agency is None else f"{agency.name_en} ({agency.name_ru})"


def refusal_reason(plan: PlanView, task: TaskView) -> str:
    """A failed delivery leaves its reason on the timeline, not on the task."""
    if task.last_reason:
        return task.last_reason
    for event in reversed(plan.timeline):
        if event.task_id == task.id and event.to_state == task.state.value and event.reason:
            return event.reason
    return "no reason given"


def duration_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:.0f} s"


def completion_summary(plan: PlanView) -> tuple[str, ...]:
    assert plan.completed_at is not None
    accepted = sum(1 for t in plan.tasks if t.state is TaskState.accepted)
    took = (plan.completed_at - plan.created_at).total_seconds()
    return (
        f"completed at {plan.completed_at.isoformat(sep=' ', timespec='seconds')}"
        " (gateway's clock)",
        f"{len(plan.tasks)} tasks, {accepted} accepted; submit to completion {duration_text(took)}",
    )


def outcome(plan: PlanView, agencies: Mapping[str, Agency], *, timed_out: bool) -> Outcome | None:
    """How the demo ends with the plan as it stands, or None to keep watching.

    A refusal wins over the timeout: the refusal is the cause, and a developer who
    sees only "timed out" would look for it in the wrong place.
    """
    if plan.status is PlanStatus.completed and plan.completed_at is not None:
        return Outcome(EXIT_COMPLETED, f"plan {plan.id} is completed", completion_summary(plan))
    if plan.status is PlanStatus.cancelled:
        return Outcome(
            EXIT_PLAN_CANCELLED,
            f"plan {plan.id} was cancelled: {plan.cancel_reason or 'no reason given'}",
        )
    refused = [t for t in plan.tasks if t.state in REFUSED]
    if refused:
        return Outcome(
            EXIT_TASK_REFUSED,
            f"plan {plan.id} cannot complete: {len(refused)} task(s) refused by a body "
            "or undeliverable",
            tuple(
                f"task {t.seq} '{t.title}' is {t.state.value} at "
                f"{agency_label(t.agency, agencies)}: {refusal_reason(plan, t)}"
                for t in refused
            ),
        )
    if timed_out:
        return Outcome(
            EXIT_TIMEOUT,
            f"gave up waiting: plan {plan.id} is still {plan.status.value}",
            tuple(
                f"task {t.seq} at {agency_label(t.agency, agencies)} is {t.state.value}"
                for t in open_tasks(plan)
            ),
        )
    return None


def unreachable(api_url: str, error: Exception) -> Outcome:
    return Outcome(
        EXIT_UNREACHABLE,
        f"cannot reach the gateway at {api_url} ({type(error).__name__}: {error})",
        (RUN_HINT,),
    )


def problem_detail(response: httpx.Response) -> tuple[str, tuple[str, ...]]:
    """The problem document's detail and per-field reasons; raw text if it is not one."""
    try:
        body = response.json()
    except ValueError:
        return (response.text.strip()[:300] or response.reason_phrase, ())
    if not isinstance(body, dict):
        return (str(body)[:300], ())
    detail = str(body.get("detail") or body.get("title") or response.reason_phrase)
    errors = body.get("errors") or []
    reasons = tuple(
        f"{e.get('field', '?')}: {e.get('reason', '?')}" for e in errors if isinstance(e, dict)
    )
    return detail, reasons


def refusal(response: httpx.Response, doing: str) -> Outcome:
    """An error answer turned into the exit the developer needs to act on."""
    detail, reasons = problem_detail(response)
    if response.status_code in (401, 403):
        return Outcome(
            EXIT_CREDENTIAL_REFUSED,
            f"the gateway refused the credential while {doing} ({response.status_code}: {detail})",
            (
                "pass a centre's key with --api-key, or use the demo centre's key that "
                "`gateway up` writes to the development credentials file",
            ),
        )
    if doing == "submitting the plan":
        return Outcome(
            EXIT_SUBMIT_REFUSED,
            f"the gateway refused the plan ({response.status_code}): {detail}",
            reasons,
        )
    return Outcome(EXIT_UNEXPECTED, f"{doing} failed ({response.status_code}): {detail}", reasons)


# --- drawing ------------------------------------------------------------------------


def current_deadline(task: TaskView, kind: DeadlineKind) -> DeadlineView | None:
    """The latest round's clock of that kind: a returned task restarts its review."""
    found = [d for d in task.deadlines if d.kind is kind]
    return max(found, key=lambda d: (d.round, d.starts_at)) if found else None


#: The terminal table speaks the workspace's language (Russian), in the workspace's words
#: (`gateway.web.i18n`), so a developer watching the demo and a worker at the page see the
#: same states; activity titles and agency names are Russian data already.
LANG = "ru"

DEADLINE_WORDS = {
    DeadlineState.on_time: "в срок",
    DeadlineState.at_risk: "под угрозой",
    DeadlineState.breached: "нарушен",
}


def deadline_cell(task: TaskView, kind: DeadlineKind) -> Text:
    deadline = current_deadline(task, kind)
    if deadline is None:
        return Text("—", style="dim")
    style = DEADLINE_STYLES[deadline.state]
    label = DEADLINE_WORDS[deadline.state]
    if deadline.met_at is not None:
        return Text(
            f"соблюдён, {label}" if label != "нарушен" else "соблюдён с опозданием", style=style
        )
    return Text(f"{label}, до {deadline.due_at:%d.%m %H:%M}", style=style)


def state_cell(task: TaskView) -> Text:
    text = translate(LANG, f"state_{task.state.value}")
    if task.round:
        text += f" (доработка {task.round})"
    return Text(text, style=STATE_STYLES.get(task.state, ""))


def comment_cell(task: TaskView) -> Text:
    if task.state in REFUSED and task.last_reason:
        return Text(task.last_reason, style="red")
    return Text(task.last_comment or "", style="italic")


def agency_cell(code: str, agencies: Mapping[str, Agency]) -> Text:
    """The short Russian name (the registry's full names are a line each at 80 columns)."""
    agency = agencies.get(code)
    if code in SHORT_NAMES_RU:
        return Text(SHORT_NAMES_RU[code], style="bold")
    return Text(agency.name_ru if agency else code, style="bold")


def tasks_table(plan: PlanView, agencies: Mapping[str, Agency], elapsed: float) -> Table:
    """Every cell wraps (nothing is cut with an ellipsis), so an 80-column terminal shows
    all of it, only taller."""
    table = Table(
        title=f"План {plan.id} — {translate(LANG, 'plan_status_' + plan.status.value).lower()}",
        caption=f"{elapsed:.1f} с после отправки · опрос каждые {POLL_SECONDS} с · "
        "демо принимает каждый отчёт за центр",
        expand=True,
    )
    table.add_column("№", justify="right", no_wrap=True)
    table.add_column("Орган", ratio=2, overflow="fold")
    table.add_column("Мероприятие", ratio=4, overflow="fold")
    table.add_column("Состояние", ratio=2, overflow="fold")
    table.add_column("Направление", ratio=2, overflow="fold")
    table.add_column("Проверка", ratio=2, overflow="fold")
    table.add_column("Комментарий", ratio=3, overflow="fold")
    for task in plan.tasks:
        table.add_row(
            str(task.seq),
            agency_cell(task.agency, agencies),
            task.title,
            state_cell(task),
            deadline_cell(task, DeadlineKind.routing),
            deadline_cell(task, DeadlineKind.review),
            comment_cell(task),
        )
    return table


def events_table(plan: PlanView, limit: int = RECENT_EVENTS) -> Table:
    seq_of = {t.id: t.seq for t in plan.tasks}
    table = Table(title="Последнее в журнале плана", title_justify="left", box=None, expand=True)
    table.add_column("время", style="dim", no_wrap=True)
    table.add_column("№", no_wrap=True)
    table.add_column("кто", style="dim", overflow="fold", ratio=2)
    table.add_column("событие", overflow="fold", ratio=3)
    table.add_column("изменение", overflow="fold", ratio=4)
    for event in plan.timeline[-limit:]:
        change = ""
        if event.from_state or event.to_state:
            change = f"{_state_ru(event.from_state)} → {_state_ru(event.to_state)}"
        if event.reason:
            change += f" ({event.reason})"
        task = str(seq_of.get(event.task_id, "")) if event.task_id else ""
        what = translate(LANG, f"event_{event.type}")
        if what == f"event_{event.type}":
            what = event.type
        table.add_row(f"{event.at:%H:%M:%S.%f}"[:-3], task, event.actor, what, change)
    return table


def _state_ru(state: str | None) -> str:
    if not state:
        return ""
    label = translate(LANG, f"state_{state}")
    return state if label == f"state_{state}" else label


#: Below this width the tables give way to one block per task: seven columns at 80
#: characters would break words in half.
WIDE = 110


def task_lines(plan: PlanView, agencies: Mapping[str, Agency], elapsed: float) -> Group:
    """The tasks as blocks of lines that wrap at word boundaries, for a narrow terminal."""
    title = translate(LANG, "plan_status_" + plan.status.value).lower()
    parts: list[RenderableType] = [Text(f"План {plan.id} — {title}", style="bold")]
    for task in plan.tasks:
        head = Text(f"{task.seq}. ")
        head.append_text(agency_cell(task.agency, agencies))
        head.append(" — ")
        head.append_text(state_cell(task))
        clocks = Text("   Направление: ")
        clocks.append_text(deadline_cell(task, DeadlineKind.routing))
        clocks.append(" · Проверка: ")
        clocks.append_text(deadline_cell(task, DeadlineKind.review))
        parts += [head, Text(f"   {task.title}"), clocks]
        comment = comment_cell(task)
        if comment.plain:
            parts.append(Text("   Комментарий: ").append_text(comment))
    parts.append(
        Text(
            f"{elapsed:.1f} с после отправки · опрос каждые {POLL_SECONDS} с · "
            "демо принимает каждый отчёт за центр",
            style="dim",
        )
    )
    return Group(*parts)


def event_lines(plan: PlanView, limit: int = RECENT_EVENTS) -> Group:
    seq_of = {t.id: t.seq for t in plan.tasks}
    parts: list[RenderableType] = [Text("Последнее в журнале плана", style="bold")]
    for event in plan.timeline[-limit:]:
        what = translate(LANG, f"event_{event.type}")
        line = Text(f"{event.at:%H:%M:%S} ", style="dim")
        if event.task_id in seq_of:
            line.append(f"№{seq_of[event.task_id]} ")
        line.append(event.type if what == f"event_{event.type}" else what)
        if event.from_state or event.to_state:
            line.append(f": {_state_ru(event.from_state)} → {_state_ru(event.to_state)}")
        if event.reason:
            line.append(f" ({event.reason})")
        line.append(f" — {event.actor}", style="dim")
        parts.append(line)
    return Group(*parts)


class PlanDisplay:
    """Chooses the layout by the terminal's width, at every refresh."""

    def __init__(self, plan: PlanView, agencies: Mapping[str, Agency], elapsed: float) -> None:
        self.plan, self.agencies, self.elapsed = plan, agencies, elapsed

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if options.max_width >= WIDE:
            yield tasks_table(self.plan, self.agencies, self.elapsed)
            yield events_table(self.plan)
        else:
            yield task_lines(self.plan, self.agencies, self.elapsed)
            yield event_lines(self.plan)


def render(plan: PlanView, agencies: Mapping[str, Agency], elapsed: float) -> RenderableType:
    return PlanDisplay(plan, agencies, elapsed)


# --- the run ------------------------------------------------------------------------


class _Stop(Exception):
    def __init__(self, result: Outcome) -> None:
        super().__init__(result.headline)
        self.result = result


def _expect(response: httpx.Response, doing: str, *ok: int) -> Any:
    if response.status_code not in ok:
        raise _Stop(refusal(response, doing))
    return response.json()


async def run_demo(api_url: str, api_key: str, centre: str, timeout: float) -> int:  # noqa: ASYNC109
    """Play the centre for one plan; the return value is the process's exit code.

    `timeout` bounds the wait for the plan, not any single request; it is checked right
    after a fresh read, so the message names the open tasks as they stand then.
    """
    console = Console(highlight=False)
    headers = {"Authorization": f"Bearer {api_key}"}
    try:
        async with httpx.AsyncClient(
            base_url=api_url, headers=headers, timeout=HTTP_TIMEOUT_SECONDS
        ) as client:
            result = await _follow_one_plan(client, console, centre, timeout)
    except _Stop as stop:
        result = stop.result
    except httpx.TransportError as error:
        result = unreachable(api_url, error)
    _print_outcome(console, result)
    return result.exit_code


async def _follow_one_plan(
    client: httpx.AsyncClient, console: Console, centre: str, give_up_after: float
) -> Outcome:
    registry = [
        Agency.model_validate(a)
        for a in _expect(await client.get("/api/v1/agencies"), "reading the agency registry", 200)
    ]
    agencies = {a.code: a for a in registry}
    codes = demo_agencies(registry)
    if not codes:
        return Outcome(
            EXIT_UNEXPECTED,
            "none of the bodies the demo has a sample activity for is enabled: "
            + ", ".join(SAMPLE_ACTIVITIES),
        )

    body = sample_plan(centre, datetime.now().astimezone(), codes)
    started = time.monotonic()
    plan = PlanView.model_validate(
        _expect(
            await client.post(
                "/api/v1/plans", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
            ),
            "submitting the plan",
            200,
            201,
        )
    )
    console.print(
        f"submitted plan [bold]{plan.id}[/] ({body['external_id']}) with "
        f"{len(plan.tasks)} activities for {', '.join(codes)}"
    )

    accepted: set[str] = set()
    with Live(render(plan, agencies, 0.0), console=console, auto_refresh=False) as live:
        while True:
            tick = time.monotonic()
            plan = PlanView.model_validate(
                _expect(await client.get(f"/api/v1/plans/{plan.id}"), "reading the plan", 200)
            )
            for task_id in tasks_to_accept(plan):
                if task_id in accepted:
                    continue
                response = await client.post(
                    f"/api/v1/plans/{plan.id}/tasks/{task_id}/review", json={"decision": "accept"}
                )
                # 409: the task moved on between our read and our review; the next
                # read shows where it went.
                if response.status_code != 409:
                    _expect(response, "accepting a report", 200)
                    accepted.add(task_id)
            elapsed = time.monotonic() - started
            live.update(render(plan, agencies, elapsed), refresh=True)
            result = outcome(plan, agencies, timed_out=elapsed >= give_up_after)
            if result is not None:
                return result
            await asyncio.sleep(max(0.0, POLL_SECONDS - (time.monotonic() - tick)))


def _print_outcome(console: Console, result: Outcome) -> None:
    style = "bold green" if result.ok else "bold red"
    console.line()
    console.print(Text(("done: " if result.ok else "error: ") + result.headline, style=style))
    for line in result.details:
        console.print(f"  {line}", markup=False)
