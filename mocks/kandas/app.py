"""The mock Kandas system (АИС «Кандас»): adaptation plans, work reports, monthly report.

What a career centre's worker does in it (order No. 170, p.32–39): upload a family's
adaptation plan with the appendix 1 services per member, report each service done
with photo/video and the phone's geolocation, and produce the appendix 3 monthly
report for the local executive body by the 5th. The gateway drives the same calls,
so the mock checks what the real system would refuse and names the field.

Writes honour ``Idempotency-Key``: a retried upload must not create a second plan.
State lives in memory, for one process.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse

from contracts.clock import Clock, to_almaty
from mocks.admin import MockAdmin, install_admin
from mocks.kandas.models import (
    Member,
    MonthlyReport,
    Plan,
    PlanIn,
    PlannedService,
    ReportColumn,
    ServiceStatus,
    WorkReport,
    WorkReportIn,
)
from mocks.kandas.services import AdaptationService, load_services
from mocks.kandas.status_register import KandasStatusRegister
from mocks.population import Population
from mocks.rest_app import IdempotentState, Refused, idempotent, install_problem_handlers

__all__ = ["REPORT_COLUMNS", "KandasState", "Refused", "create_app"]

# Appendix 3: row number, IIN, then one column per service.
REPORT_COLUMNS = 27
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
FORM = "order No. 170 of 30 May 2024, appendix 3"


def _refuse(field: str, reason: str, *, status: int = 422) -> Refused:
    title = {404: "Not found", 409: "Conflict"}.get(status, "Invalid input")
    return Refused(status, title, [{"field": field, "reason": reason}])


def parse_month(value: str) -> tuple[int, int]:
    match = _MONTH.fullmatch(value)
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise _refuse("month", "must be YYYY-MM, e.g. 2026-10")
    return int(match.group(1)), int(match.group(2))


class KandasState(IdempotentState):
    """Everything the mock remembers; one lock, since uvicorn may use threads."""

    def __init__(self, population: Population, clock: Clock) -> None:
        super().__init__()
        self.population = population
        self.clock = clock
        self.services = load_services()
        self._by_code: dict[int, AdaptationService] = {s.code: s for s in self.services}
        self.plans: dict[str, Plan] = {}

    def reset(self) -> None:
        with self._lock:
            self.plans.clear()
            self._replies.clear()

    def today(self) -> date:
        return to_almaty(self.clock.now()).date()

    def create_plan(self, plan_in: PlanIn) -> Plan:
        members: list[Member] = []
        for i, m in enumerate(plan_in.members):
            person = self.population.find(m.iin)
            if person is None:
                raise _refuse(f"members[{i}].iin", "no such person in the individuals database")
            if person.deceased:
                raise _refuse(f"members[{i}].iin", "the person is recorded as deceased")
            full_name = " ".join(
                p for p in (person.last_name, person.first_name, person.middle_name) if p
            )
            services = [
                PlannedService(
                    code=s.code,
                    name_ru=self._by_code[s.code].name_ru,
                    name_kk=self._by_code[s.code].name_kk,
                    due_date=s.due_date,
                    status=ServiceStatus.PLANNED,
                )
                for s in sorted(m.services, key=lambda s: s.code)
            ]
            members.append(
                Member(iin=m.iin, full_name=full_name, relation=m.relation, services=services)
            )
        if plan_in.kandas_iin not in {m.iin for m in members}:
            raise _refuse("kandas_iin", "the kandas must be one of the plan's members")
        plan = Plan(
            id=str(uuid.uuid4()),
            created_at=self.clock.now(),
            kandas_iin=plan_in.kandas_iin,
            region=plan_in.region,
            career_centre=plan_in.career_centre,
            quota_date=plan_in.quota_date,
            members=members,
            reports=[],
        )
        with self._lock:
            self.plans[plan.id] = plan
        return plan

    def plan(self, plan_id: str) -> Plan:
        with self._lock:
            plan = self.plans.get(plan_id)
        if plan is None:
            raise _refuse("id", "no such adaptation plan", status=404)
        return plan

    def add_report(self, plan_id: str, report_in: WorkReportIn) -> WorkReport:
        if report_in.done_on > self.today():
            raise _refuse("done_on", "is in the future")
        with self._lock:
            plan = self.plans.get(plan_id)
            if plan is None:
                raise _refuse("id", "no such adaptation plan", status=404)
            member = next((m for m in plan.members if m.iin == report_in.member_iin), None)
            if member is None:
                raise _refuse("member_iin", "is not a member of this plan")
            service = next((s for s in member.services if s.code == report_in.service_code), None)
            if service is None:
                raise _refuse("service_code", "is not in this member's plan")
            report = WorkReport(
                id=str(uuid.uuid4()),
                plan_id=plan_id,
                received_at=self.clock.now(),
                report=report_in,
            )
            done_on = report_in.done_on
            if service.done_on is not None:
                done_on = max(done_on, service.done_on)
            updated_services = [
                s.model_copy(update={"status": ServiceStatus.DONE, "done_on": done_on})
                if s.code == service.code
                else s
                for s in member.services
            ]
            members = [
                m.model_copy(update={"services": updated_services}) if m.iin == member.iin else m
                for m in plan.members
            ]
            self.plans[plan_id] = plan.model_copy(
                update={"members": members, "reports": [*plan.reports, report]}
            )
        return report

    def monthly(self, month: str) -> MonthlyReport:
        year, number = parse_month(month)
        first = date(year, number, 1)
        following = date(year + (number == 12), number % 12 + 1, 1)
        columns = [
            ReportColumn(number=1, key="row", title_ru="№ п/п", title_kk="№"),
            ReportColumn(
                number=2,
                key="iin",
                title_ru="ИИН кандасов и членов их семей",
                title_kk="Қандастар мен олардың отбасы мүшелерінің жеке сәйкестендіру нөмірі",
            ),
            *(
                ReportColumn(
                    number=s.report_column,
                    key=f"service_{s.code}",
                    title_ru=s.name_ru,
                    title_kk=s.name_kk,
                    service_code=s.code,
                )
                for s in self.services
            ),
        ]
        with self._lock:
            plans = sorted(self.plans.values(), key=lambda p: p.created_at)
        rows: list[list[int | str | None]] = []
        seen: set[str] = set()
        for plan in plans:
            # A plan uploaded after the month still reports work done in it (p.34 gives
            # a day to upload, and work may start before the upload).
            uploaded_later = to_almaty(plan.created_at).date() >= following
            for member in plan.members:
                if member.iin in seen:
                    continue
                done: dict[int, date] = {}
                for r in plan.reports:
                    rep = r.report
                    if rep.member_iin == member.iin and first <= rep.done_on < following:
                        code = rep.service_code
                        done[code] = max(done.get(code, rep.done_on), rep.done_on)
                if uploaded_later and not done:
                    continue
                seen.add(member.iin)
                cells: list[int | str | None] = [len(rows) + 1, member.iin]
                cells += [
                    done[s.code].isoformat() if s.code in done else None for s in self.services
                ]
                rows.append(cells)
        return MonthlyReport(
            month=f"{year:04d}-{number:02d}",
            due_by=date(following.year, following.month, 5),
            form=FORM,
            columns=columns,
            rows=rows,
        )


def create_app(population: Population, admin: MockAdmin | None = None) -> FastAPI:
    """The mock Kandas system for ``population``; ``admin`` shares faults and clock."""
    admin = admin or MockAdmin()
    state = KandasState(population, admin.clock)
    app = FastAPI(title="Mock Kandas system (АИС «Кандас»)")
    app.state.kandas = state
    app.state.admin = admin

    install_problem_handlers(app)

    @app.get("/api/v1/services", name="services.list")
    async def services() -> dict[str, Any]:
        return {
            "services": [
                {"code": s.code, "name_ru": s.name_ru, "name_kk": s.name_kk} for s in state.services
            ]
        }

    @app.post("/api/v1/adaptation-plans", status_code=201, response_model=Plan, name="plans.create")
    async def create_plan(plan_in: PlanIn, request: Request) -> JSONResponse:
        async def make() -> Any:
            return state.create_plan(plan_in).model_dump(mode="json")

        return await idempotent(state, request, "plans.create", 201, make)

    @app.get("/api/v1/adaptation-plans/{plan_id}", response_model=Plan, name="plans.get")
    async def get_plan(plan_id: str) -> Plan:
        return state.plan(plan_id)

    @app.post(
        "/api/v1/adaptation-plans/{plan_id}/reports",
        status_code=201,
        response_model=WorkReport,
        name="reports.create",
    )
    async def add_report(plan_id: str, report_in: WorkReportIn, request: Request) -> JSONResponse:
        async def make() -> Any:
            return state.add_report(plan_id, report_in).model_dump(mode="json")

        return await idempotent(state, request, f"reports.create {plan_id}", 201, make)

    @app.get("/api/v1/reports/monthly", response_model=MonthlyReport, name="reports.monthly")
    async def monthly(
        month: str = Query(..., description="the reporting month, YYYY-MM"),
    ) -> MonthlyReport:
        return state.monthly(month)

    statuses = KandasStatusRegister(population)
    app.state.kandas_statuses = statuses

    @app.get("/api/v1/persons/{iin}/kandas-status", name="persons.kandas_status")
    async def kandas_status(iin: str) -> dict[str, Any]:
        """Whether the person holds kandas status (the referral's portal rule, seed 002)."""
        if not re.fullmatch(r"[0-9]{12}", iin):
            raise _refuse("iin", "must be 12 digits")
        if population.find(iin) is None:
            raise _refuse("iin", "no such person", status=404)
        since = statuses.since(iin)
        return {
            "iin": iin,
            "holds_status": since is not None,
            "since": since.isoformat() if since else None,
            "as_of": to_almaty(state.clock.now()).isoformat(),
        }

    @app.put("/__admin/kandas-status/{iin}", include_in_schema=False)
    async def set_kandas_status(iin: str, change: dict[str, Any]) -> dict[str, Any]:
        statuses.set(iin, bool(change.get("holds_status")))
        return {"iin": iin, "holds_status": statuses.since(iin) is not None}

    @app.post("/__admin/data/reset", status_code=204)
    async def reset_data() -> None:
        """Forget every plan and report (``/__admin/reset`` keeps them)."""
        state.reset()
        statuses.reset()

    install_admin(app, admin, middleware=True)
    return app
