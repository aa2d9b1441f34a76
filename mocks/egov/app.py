"""The mock e-government portal: citizens' e-applications in, status and SMS out.

It plays both sides a receiving body's system sees: the portal's inbox of
«Электронное обращение» applications (which the body fetches and moves through its
statuses), and the portal's outbound channels (the citizen's personal cabinet and
SMS), which record what they were asked to deliver so a test can verify it.

Every write honours an ``Idempotency-Key`` header: a client that retries after a lost
answer gets the first answer again instead of a second application or a second SMS.
State lives in memory, for one process.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse

from contracts.clock import Clock
from mocks.admin import MockAdmin, install_admin
from mocks.egov.calendar import PortalCalendar
from mocks.egov.models import (
    NEXT_STATUSES,
    Appeal,
    AppealIn,
    AppealList,
    AppealStatus,
    Attachment,
    CabinetNotification,
    CabinetNotificationIn,
    Sms,
    SmsIn,
    StatusChange,
    StatusEvent,
)
from mocks.egov.register import ServiceRegister, load_register
from mocks.egov.sms import sms_cost
from mocks.population import Population
from mocks.rest_app import IdempotentState, Refused, idempotent, install_problem_handlers

__all__ = ["MAX_SMS_SEGMENTS", "EgovState", "Refused", "create_app"]

# An SMS gateway's usual ceiling on a concatenated message; beyond it the text belongs
# in the personal cabinet, with the SMS pointing there.
MAX_SMS_SEGMENTS = 6
# Working days the regional office has to forward an application (order 109, p.5).
FORWARD_WORKING_DAYS = 2


def _refuse(field: str, reason: str, *, status: int = 422) -> Refused:
    return Refused(
        status,
        "Invalid input" if status == 422 else "Conflict",
        [{"field": field, "reason": reason}],
    )


class EgovState(IdempotentState):
    """Everything the mock portal remembers; one lock, since uvicorn may use threads."""

    def __init__(
        self,
        population: Population,
        clock: Clock,
        *,
        register: ServiceRegister | None = None,
        calendar: PortalCalendar | None = None,
    ) -> None:
        super().__init__()
        self.population = population
        self.clock = clock
        self.register = register or load_register()
        self.calendar = calendar or PortalCalendar()
        self.appeals: dict[str, Appeal] = {}
        self.cabinet: list[CabinetNotification] = []
        self.sms: list[Sms] = []
        self._numbers = 0

    def reset(self) -> None:
        with self._lock:
            self.appeals.clear()
            self.cabinet.clear()
            self.sms.clear()
            self._replies.clear()
            self._numbers = 0

    # -- idempotency ------------------------------------------------------------

    # -- appeals ----------------------------------------------------------------

    def submit(self, form: AppealIn) -> Appeal:
        person = self.population.find(form.iin)
        if person is None:
            raise _refuse("iin", "no such person in the state database of individuals")
        if person.deceased:
            raise _refuse("iin", "the person is recorded as deceased")
        service = self.register.service(form.service_name)
        if service is None:
            raise _refuse("service_name", "not in the register of public services")
        if not self.register.has_region(form.region):
            raise _refuse("region", "not a region of Kazakhstan known to the register")
        expected = self.register.recipient(service, form.region)
        if " ".join(form.recipient.split()).casefold() != expected.casefold():
            raise _refuse(
                "recipient", f"the register names «{expected}» for this service and region"
            )
        now = self.clock.now()
        with self._lock:
            self._numbers += 1
            number = f"ЭО-{now:%Y}-{self._numbers:06d}"
            appeal = Appeal(
                id=str(uuid.uuid4()),
                number=number,
                status=AppealStatus.RECEIVED,
                received_at=now,
                forward_due=self.calendar.deadline(now, FORWARD_WORKING_DAYS),
                history=[StatusEvent(status=AppealStatus.RECEIVED, at=now)],
                form=form.model_copy(update={"recipient": expected}),
            )
            self.appeals[appeal.id] = appeal
        return appeal

    def deliver_unchecked(self, form: dict[str, Any]) -> Appeal:
        """An application as the portal's inbox would hold it had the portal not checked
        it (a developer's tool: shows how the receiving body refuses a bad form)."""
        now = self.clock.now()
        fields = {name: form.get(name, "") for name in AppealIn.model_fields}
        fields["attachments"] = [
            Attachment.model_construct(**a) for a in form.get("attachments") or []
        ]
        with self._lock:
            self._numbers += 1
            appeal = Appeal(
                id=str(uuid.uuid4()),
                number=f"ЭО-{now:%Y}-{self._numbers:06d}",
                status=AppealStatus.RECEIVED,
                received_at=now,
                forward_due=self.calendar.deadline(now, FORWARD_WORKING_DAYS),
                history=[StatusEvent(status=AppealStatus.RECEIVED, at=now)],
                form=AppealIn.model_construct(**fields),
            )
            self.appeals[appeal.id] = appeal
        return appeal

    def get(self, appeal_id: str) -> Appeal:
        with self._lock:
            appeal = self.appeals.get(appeal_id)
        if appeal is None:
            raise Refused(404, "Not found", [{"field": "id", "reason": "no such application"}])
        return appeal

    def move(self, appeal_id: str, change: StatusChange) -> Appeal:
        now = self.clock.now()
        with self._lock:
            appeal = self.appeals.get(appeal_id)
            if appeal is None:
                raise Refused(404, "Not found", [{"field": "id", "reason": "no such application"}])
            if change.status == appeal.status:
                return appeal  # a repeat of the move that got us here: nothing to do
            if change.status not in NEXT_STATUSES[appeal.status]:
                allowed = ", ".join(sorted(NEXT_STATUSES[appeal.status])) or "none (final)"
                raise _refuse(
                    "status",
                    f"cannot move from {appeal.status} to {change.status}; allowed: {allowed}",
                    status=409,
                )
            update: dict[str, Any] = {"status": change.status}
            if change.status is AppealStatus.FORWARDED:
                if change.district_office is None:
                    raise _refuse("district_office", "is required to forward an application")
                update |= {
                    "district_office": change.district_office,
                    "forwarded_at": now,
                    "forwarded_on_time": now <= appeal.forward_due,
                }
            if change.status in (AppealStatus.ANSWERED, AppealStatus.REFUSED):
                if change.result is None:
                    raise _refuse("result", f"is required to mark the application {change.status}")
                update["result"] = change.result
            event = StatusEvent(status=change.status, at=now, comment=change.comment)
            update["history"] = [*appeal.history, event]
            moved = appeal.model_copy(update=update)
            self.appeals[appeal_id] = moved
        return moved

    def list(self, status: AppealStatus | None, recipient: str | None) -> list[Appeal]:
        with self._lock:
            items = list(self.appeals.values())
        if status is not None:
            items = [a for a in items if a.status == status]
        if recipient is not None:
            key = recipient.casefold()
            items = [a for a in items if key in a.form.recipient.casefold()]
        return sorted(items, key=lambda a: a.received_at)

    # -- notifications ----------------------------------------------------------

    def notify_cabinet(self, note: CabinetNotificationIn) -> CabinetNotification:
        if self.population.find(note.iin) is None:
            raise _refuse("iin", "no personal cabinet for this IIN")
        if note.appeal_id is not None:
            appeal = self.appeals.get(note.appeal_id)
            if appeal is None:
                raise _refuse("appeal_id", "no such application")
            if appeal.form.iin != note.iin:
                raise _refuse("iin", "is not the applicant of this application")
        delivered = CabinetNotification(
            id=str(uuid.uuid4()), delivered_at=self.clock.now(), notification=note
        )
        with self._lock:
            self.cabinet.append(delivered)
        return delivered

    def send_sms(self, sms: SmsIn) -> Sms:
        cost = sms_cost(sms.text)
        if cost.segments > MAX_SMS_SEGMENTS:
            raise _refuse(
                "text",
                f"takes {cost.segments} {cost.encoding} segments; at most {MAX_SMS_SEGMENTS} "
                "(put the long text in the personal cabinet)",
            )
        accepted = Sms(
            id=str(uuid.uuid4()),
            accepted_at=self.clock.now(),
            encoding=cost.encoding,
            units=cost.units,
            segments=cost.segments,
            sms=sms,
        )
        with self._lock:
            self.sms.append(accepted)
        return accepted

    def outbox(self) -> dict[str, Any]:
        with self._lock:
            return {
                "cabinet": [c.model_dump(mode="json") for c in self.cabinet],
                "sms": [s.model_dump(mode="json") for s in self.sms],
            }


def create_app(
    population: Population,
    admin: MockAdmin | None = None,
    *,
    register: ServiceRegister | None = None,
    calendar: PortalCalendar | None = None,
) -> FastAPI:
    """The mock portal answering for ``population``; ``admin`` shares faults and clock."""
    admin = admin or MockAdmin()
    state = EgovState(population, admin.clock, register=register, calendar=calendar)
    app = FastAPI(title="Mock e-government portal (egov.kz «Электронное обращение»)")
    app.state.egov = state
    app.state.admin = admin

    install_problem_handlers(app)

    @app.post("/api/v1/appeals", status_code=201, response_model=Appeal, name="appeals.submit")
    async def submit_appeal(form: AppealIn, request: Request) -> JSONResponse:
        async def make() -> Any:
            return state.submit(form).model_dump(mode="json")

        return await idempotent(state, request, "submit", 201, make)

    @app.get("/api/v1/appeals", response_model=AppealList, name="appeals.list")
    async def list_appeals(
        status: str | None = Query(None, description="a status, or `new` for `received`"),
        recipient: str | None = Query(None, description="part of the recipient's name"),
    ) -> AppealList:
        wanted: AppealStatus | None = None
        if status is not None:
            try:
                wanted = AppealStatus.RECEIVED if status == "new" else AppealStatus(status)
            except ValueError:
                allowed = ", ".join(["new", *AppealStatus])
                raise _refuse("status", f"must be one of {allowed}") from None
        items = state.list(wanted, recipient)
        # Dumped, not re-validated: an application put in unchecked (admin) must reach
        # the receiving body as it is, for the body to refuse it.
        return JSONResponse(  # type: ignore[return-value]
            {
                "items": [a.model_dump(mode="json", warnings=False) for a in items],
                "total": len(items),
            }
        )

    @app.get("/api/v1/appeals/{appeal_id}", response_model=Appeal, name="appeals.get")
    async def get_appeal(appeal_id: str) -> Appeal:
        return JSONResponse(state.get(appeal_id).model_dump(mode="json", warnings=False))  # type: ignore[return-value]

    @app.post("/api/v1/appeals/{appeal_id}/status", response_model=Appeal, name="appeals.status")
    async def move_appeal(appeal_id: str, change: StatusChange) -> Appeal:
        # A repeat of the same move is answered with the appeal as it stands, so this
        # is idempotent without a key.
        return JSONResponse(state.move(appeal_id, change).model_dump(mode="json", warnings=False))  # type: ignore[return-value]

    @app.post(
        "/api/v1/notifications/cabinet",
        status_code=202,
        response_model=CabinetNotification,
        name="notifications.cabinet",
    )
    async def notify_cabinet(note: CabinetNotificationIn, request: Request) -> JSONResponse:
        async def make() -> Any:
            return state.notify_cabinet(note).model_dump(mode="json")

        return await idempotent(state, request, "cabinet", 202, make)

    @app.post(
        "/api/v1/notifications/sms", status_code=202, response_model=Sms, name="notifications.sms"
    )
    async def send_sms(sms: SmsIn, request: Request) -> JSONResponse:
        async def make() -> Any:
            return state.send_sms(sms).model_dump(mode="json")

        return await idempotent(state, request, "sms", 202, make)

    @app.get("/__admin/outbox")
    async def outbox() -> dict[str, Any]:
        return state.outbox()

    @app.post("/__admin/appeals/unchecked", status_code=201)
    async def deliver_unchecked(form: dict[str, Any]) -> dict[str, Any]:
        """Put an application in the inbox without the portal's checks (see README)."""
        return state.deliver_unchecked(form).model_dump(mode="json", warnings=False)

    @app.post("/__admin/data/reset", status_code=204)
    async def reset_data() -> None:
        """Forget every application and notification (``/__admin/reset`` keeps them)."""
        state.reset()

    @app.get("/__admin/register")
    async def register_view() -> dict[str, Any]:
        reg = state.register
        return {
            "services": [{"code": s.code, "name": s.name} for s in reg.services],
            "regions": list(reg.regions),
            "recipients": reg.recipients(),
        }

    install_admin(app, admin, middleware=True)
    return app
