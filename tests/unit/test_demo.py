from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from rich.console import Console

from contracts.agencies import Agency
from contracts.plans import (
    DeadlineKind,
    DeadlineState,
    DeadlineView,
    EventView,
    PlanStatus,
    PlanSubmission,
    PlanView,
    TaskState,
    TaskView,
)
from gateway import demo

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)

AGENCIES = {
    a.code: a
    for a in (
        Agency(
            code="health",
            enabled=True,
            name_ru="Здравоохранение",
            name_kk="Денсаулық",
            name_en="Health",
        ),
        Agency(
            code="housing",
            enabled=True,
            name_ru="Жилищные отношения",
            name_kk="Тұрғын үй",
            name_en="Housing",
        ),
        Agency(code="sport", enabled=False, name_ru="Спорт", name_kk="Спорт", name_en="Sport"),
    )
}


def deadline(
    kind: DeadlineKind, state: DeadlineState, *, met: bool = False, round_: int = 0
) -> DeadlineView:
    return DeadlineView(
        kind=kind,
        round=round_,
        starts_at=NOW,
        warn_at=NOW + timedelta(days=1),
        due_at=NOW + timedelta(days=2),
        met_at=NOW if met else None,
        state=state,
    )


def task(seq: int, agency: str, state: TaskState, **extra: Any) -> TaskView:
    values: dict[str, Any] = dict(
        id=f"t{seq}",
        seq=seq,
        agency=agency,
        title=f"activity {seq}",
        description="",
        due_date=None,
        beneficiary_iins=[],
        state=state,
        round=0,
        delivered_at=None,
        reported_at=None,
        accepted_at=None,
        last_comment=None,
        last_reason=None,
        deadlines=[],
    )
    values.update(extra)
    return TaskView(**values)


def plan(*tasks: TaskView, **extra: Any) -> PlanView:
    values: dict[str, Any] = dict(
        id="p1",
        centre="demo-centre",
        external_id=None,
        status=PlanStatus.active,
        approved_at=NOW,
        created_at=NOW,
        completed_at=None,
        cancelled_at=None,
        cancel_reason=None,
        family=demo.sample_plan("demo-centre", NOW, [])["family"],
        grounds=[],
        tasks=list(tasks),
        deadlines=[],
        timeline=[],
    )
    values.update(extra)
    return PlanView(**values)


def test_sample_plan_is_a_valid_submission_with_one_activity_per_body() -> None:
    codes = ["health", "education", "housing", "internal_affairs"]
    body = demo.sample_plan("demo-centre", NOW, codes)

    submission = PlanSubmission.model_validate(body)

    assert [a.agency for a in submission.activities] == codes
    roles = [m.role.value for m in submission.family.members]
    assert roles == ["applicant", "child", "child"]
    assert all(a.due_date is not None and a.due_date > NOW.date() for a in submission.activities)


def test_sample_plan_skips_bodies_without_sample_wording() -> None:
    body = demo.sample_plan("demo-centre", NOW, ["health", "sport"])

    assert [a["agency"] for a in body["activities"]] == ["health"]


def test_demo_uses_only_enabled_bodies_it_has_wording_for() -> None:
    assert demo.demo_agencies(list(AGENCIES.values())) == ["health", "housing"]


def test_only_reported_tasks_are_accepted() -> None:
    current = plan(
        task(1, "health", TaskState.reported),
        task(2, "housing", TaskState.in_progress),
        task(3, "health", TaskState.accepted),
        task(4, "housing", TaskState.reported),
    )

    assert demo.tasks_to_accept(current) == ["t1", "t4"]


def test_nothing_is_accepted_on_a_plan_that_is_no_longer_active() -> None:
    current = plan(task(1, "health", TaskState.reported), status=PlanStatus.cancelled)

    assert demo.tasks_to_accept(current) == []


def test_an_active_plan_keeps_the_demo_watching() -> None:
    current = plan(task(1, "health", TaskState.delivered))

    assert demo.outcome(current, AGENCIES, timed_out=False) is None


def test_a_completed_plan_ends_the_demo_with_success_and_a_summary() -> None:
    current = plan(
        task(1, "health", TaskState.accepted),
        task(2, "housing", TaskState.accepted),
        status=PlanStatus.completed,
        completed_at=NOW + timedelta(seconds=3.5),
    )

    result = demo.outcome(current, AGENCIES, timed_out=True)

    assert result is not None and result.exit_code == demo.EXIT_COMPLETED
    assert any("2 tasks" in line and "3.5 s" in line for line in result.details)


def test_a_rejection_names_the_body_in_russian_and_its_reason() -> None:
    current = plan(
        task(1, "health", TaskState.accepted),
        task(2, "housing", TaskState.rejected_by_agency, last_reason="not our competence"),
    )

    result = demo.outcome(current, AGENCIES, timed_out=False)

    assert result is not None and result.exit_code == demo.EXIT_TASK_REFUSED
    assert len(result.details) == 1
    assert "Жилищные отношения" in result.details[0]
    assert "not our competence" in result.details[0]


def test_a_failed_delivery_takes_its_reason_from_the_timeline() -> None:
    failed = task(1, "health", TaskState.failed)
    event = EventView(
        at=NOW,
        actor="gateway",
        type="task_failed",
        task_id="t1",
        from_state="dispatched",
        to_state="failed",
        reason="dead-lettered after 5 deliveries",
    )
    current = plan(failed, timeline=[event])

    result = demo.outcome(current, AGENCIES, timed_out=False)

    assert result is not None and result.exit_code == demo.EXIT_TASK_REFUSED
    assert "dead-lettered after 5 deliveries" in result.details[0]


def test_a_refusal_wins_over_the_timeout() -> None:
    current = plan(task(1, "health", TaskState.rejected_by_agency, last_reason="no"))

    result = demo.outcome(current, AGENCIES, timed_out=True)

    assert result is not None and result.exit_code == demo.EXIT_TASK_REFUSED


def test_the_timeout_lists_the_tasks_still_open_with_their_states() -> None:
    current = plan(
        task(1, "health", TaskState.accepted),
        task(2, "housing", TaskState.in_progress),
    )

    result = demo.outcome(current, AGENCIES, timed_out=True)

    assert result is not None and result.exit_code == demo.EXIT_TIMEOUT
    assert len(result.details) == 1
    assert "Housing" in result.details[0] and "in_progress" in result.details[0]


def test_a_cancelled_plan_is_a_failure() -> None:
    current = plan(
        task(1, "health", TaskState.cancelled),
        status=PlanStatus.cancelled,
        cancel_reason="family moved away",
    )

    result = demo.outcome(current, AGENCIES, timed_out=False)

    assert result is not None and result.exit_code == demo.EXIT_PLAN_CANCELLED
    assert "family moved away" in result.headline


def test_the_latest_review_round_is_the_one_shown() -> None:
    reviewed = task(
        1,
        "health",
        TaskState.reported,
        deadlines=[
            deadline(DeadlineKind.routing, DeadlineState.on_time, met=True),
            deadline(DeadlineKind.review, DeadlineState.breached, met=True, round_=0),
            deadline(DeadlineKind.review, DeadlineState.at_risk, round_=1),
        ],
    )

    routing = demo.deadline_cell(reviewed, DeadlineKind.routing)
    review = demo.deadline_cell(reviewed, DeadlineKind.review)

    assert routing.plain == "соблюдён, в срок" and routing.style == "green"
    assert review.plain.startswith("под угрозой") and review.style == "yellow"
    not_started = task(2, "health", TaskState.created)
    assert demo.deadline_cell(not_started, DeadlineKind.review).plain == "—"


def test_a_breached_deadline_is_red() -> None:
    late = task(
        1,
        "health",
        TaskState.delivered,
        deadlines=[deadline(DeadlineKind.routing, DeadlineState.breached)],
    )

    assert "red" in str(demo.deadline_cell(late, DeadlineKind.routing).style)


def test_the_table_shows_russian_names_states_and_comments() -> None:
    current = plan(
        task(1, "health", TaskState.reported, last_comment="осмотр проведён"),
        task(2, "housing", TaskState.in_progress),
    )
    console = Console(file=io.StringIO(), width=200, record=True)

    console.print(demo.render(current, AGENCIES, 1.5))
    text = console.export_text()

    assert "Здравоохранение" in text and "Жилищные отношения" in text
    assert "Отчёт получен" in text and "В работе" in text
    assert "осмотр проведён" in text


def test_the_table_is_in_one_language_and_not_cut_at_80_columns() -> None:
    title = "Прикрепление к поликлинике и медицинский осмотр детей по месту проживания"
    current = plan(
        task(1, "health", TaskState.reported, last_comment="осмотр проведён, карты восстановлены"),
        task(2, "internal_affairs", TaskState.rejected_by_agency),
    )
    current = current.model_copy(
        update={"tasks": [current.tasks[0].model_copy(update={"title": title}), current.tasks[1]]}
    )
    console = Console(file=io.StringIO(), width=80, record=True)

    console.print(demo.render(current, AGENCIES, 1.5))
    text = console.export_text()

    assert "…" not in text  # nothing cut with an ellipsis
    assert max(len(line) for line in text.splitlines()) <= 80
    flat = " ".join(text.split())
    for word in title.split():
        assert word in flat
    assert "1. Здравоохранение — Отчёт получен" in text
    assert "Направление:" in text and "Проверка:" in text
    assert "осмотр проведён, карты восстановлены" in flat
    # No English words in the table, and no word broken across lines.
    for english in ("Agency", "Activity", "State", "Routing", "Review", "reported", "rejected"):
        assert english not in text
    wide = Console(file=io.StringIO(), width=140, record=True)
    wide.print(demo.render(current, AGENCIES, 1.5))
    table = wide.export_text()
    assert "…" not in table
    for header in ("Орган", "Мероприятие", "Состояние", "Направление", "Проверка"):
        assert header in table

def test_refusals_map_to_exit_codes_and_carry_the_problem_detail() -> None:
    problem = {
        "detail": "activities[0].agency: unknown agency 'x'",
        "errors": [{"field": "activities[0].agency", "reason": "unknown agency 'x'"}],
    }
    invalid = httpx.Response(422, json=problem)
    unauthorised = httpx.Response(401, json={"detail": "the credential is not valid"})

    submit = demo.refusal(invalid, "submitting the plan")
    credential = demo.refusal(unauthorised, "reading the plan")

    assert submit.exit_code == demo.EXIT_SUBMIT_REFUSED
    assert "unknown agency 'x'" in submit.headline
    assert submit.details == ("activities[0].agency: unknown agency 'x'",)
    assert credential.exit_code == demo.EXIT_CREDENTIAL_REFUSED


def test_a_non_json_error_body_is_shown_as_text() -> None:
    detail, reasons = demo.problem_detail(httpx.Response(502, text="Bad Gateway"))

    assert detail == "Bad Gateway" and reasons == ()


def test_an_unreachable_gateway_points_to_the_run_command() -> None:
    result = demo.unreachable("http://127.0.0.1:9", httpx.ConnectError("refused"))

    assert result.exit_code == demo.EXIT_UNREACHABLE
    assert "gateway up" in " ".join(result.details)
