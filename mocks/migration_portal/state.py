"""What the mock migration portal remembers and the rules it applies to what it is sent.

The portal fills in each person from the state database of individuals by IIN (p.7:
"с вводом ИИН"), so it refuses an IIN nobody holds, a deceased person and the same person
twice, naming the field. Kandas status: the synthetic population does not model it
(citizenship is not the status: a kandas may already be a citizen, appendix 1 service
23), so everyone holds it until a developer or a test withdraws it through
``PUT /__admin/kandas-status/{iin}``; then the portal refuses that applicant.

State lives in memory, for one process; one lock (``IdempotentState._lock``) guards it.
"""

from __future__ import annotations

from contracts.cases import Decision
from contracts.clock import Clock, to_almaty
from contracts.migration_portal import (
    Application,
    ApplicationIn,
    ApplicationMember,
    ApplicationStatus,
    HandoverEvent,
    HandoverEventIn,
    HandoverRecorded,
)
from mocks.population import Person, Population
from mocks.regions import career_centre_region, region
from mocks.rest_app import IdempotentState, Refused

__all__ = ["PortalState", "full_name"]


def full_name(person: Person) -> str:
    return " ".join(p for p in (person.last_name, person.first_name, person.middle_name) if p)


def _refuse(field: str, reason: str, *, status: int = 422) -> Refused:
    title = {404: "Not found", 409: "Conflict"}.get(status, "Invalid input")
    return Refused(status, title, [{"field": field, "reason": reason}])


def _as_sent(event: HandoverEvent) -> HandoverEventIn:
    return HandoverEventIn.model_validate(event.model_dump(exclude={"sequence", "received_at"}))


class PortalState(IdempotentState):
    def __init__(self, population: Population, clock: Clock) -> None:
        super().__init__()
        self.population = population
        self.clock = clock
        self.applications: dict[str, Application] = {}
        self.without_kandas_status: set[str] = set()
        self._numbers = 0

    def reset(self) -> None:
        with self._lock:
            self.applications.clear()
            self.without_kandas_status.clear()
            self._replies.clear()
            self._numbers = 0

    def set_kandas_status(self, iin: str, holds: bool) -> None:
        with self._lock:
            if holds:
                self.without_kandas_status.discard(iin)
            else:
                self.without_kandas_status.add(iin)

    def holds_kandas_status(self, iin: str) -> bool:
        with self._lock:
            return iin not in self.without_kandas_status

    # -- registering ----------------------------------------------------------------

    def _person(self, iin: str, field: str, errors: list[dict[str, str]]) -> Person | None:
        person = self.population.find(iin)
        if person is None:
            errors.append({"field": field, "reason": "no such person in the individuals database"})
        elif person.deceased:
            errors.append({"field": field, "reason": "the person is recorded as deceased"})
            return None
        return person

    def _check(self, form: ApplicationIn) -> tuple[Person, list[ApplicationMember]]:
        """Every refused field at once: the career centre fixes them in one go."""
        errors: list[dict[str, str]] = []
        applicant = self._person(form.applicant_iin, "applicant_iin", errors)
        if applicant is not None and not self.holds_kandas_status(applicant.iin):
            errors.append({"field": "applicant_iin", "reason": "the person has no kandas status"})
        members: list[ApplicationMember] = []
        seen = {form.applicant_iin: "applicant_iin"}
        for index, member in enumerate(form.members):
            field = f"members[{index}].iin"
            if member.iin in seen:
                errors.append(
                    {
                        "field": field,
                        "reason": f"the same person is given twice (as {seen[member.iin]})",
                    }
                )
                continue
            seen[member.iin] = field
            person = self._person(member.iin, field, errors)
            if person is not None:
                members.append(
                    ApplicationMember(
                        iin=member.iin, relation=member.relation, full_name=full_name(person)
                    )
                )
        for field in ("departure_region", "settlement_region"):
            if region(getattr(form, field)) is None:
                errors.append({"field": field, "reason": "not a region of Kazakhstan"})
        if form.settlement_region == form.departure_region:
            errors.append(
                {"field": "settlement_region", "reason": "must differ from departure_region"}
            )
        centre = career_centre_region(form.career_centre)
        if centre is None:
            errors.append({"field": "career_centre", "reason": "no such career centre"})
        elif centre.code != form.departure_region:
            errors.append(
                {
                    "field": "career_centre",
                    "reason": f"belongs to {centre.code}; the departure region's career "
                    f"centre registers the application (p.7)",
                }
            )
        if errors:
            raise Refused(422, "Invalid input", errors)
        assert applicant is not None
        return applicant, members

    def register(self, form: ApplicationIn) -> Application:
        applicant, members = self._check(form)
        now = self.clock.now()
        with self._lock:
            self._numbers += 1
            number = f"MIG-{to_almaty(now):%Y}-{self._numbers:06d}"
            application = Application(
                number=number,
                registered_at=now,
                status=ApplicationStatus.registered,
                applicant_iin=applicant.iin,
                applicant_name=full_name(applicant),
                members=members,
                departure_region=form.departure_region,
                settlement_region=form.settlement_region,
                career_centre=form.career_centre,
                external_id=form.external_id,
            )
            self.applications[number] = application
        return application

    def application(self, number: str) -> Application:
        with self._lock:
            found = self.applications.get(number)
        if found is None:
            raise _refuse("number", "no such application", status=404)
        return found

    # -- mirroring hand-overs -------------------------------------------------------

    def record(self, number: str, event: HandoverEventIn) -> HandoverRecorded:
        """Record a signed hand-over; the same signature again is the same record.

        A repeat is recognised by its signature digest, so a client that lost the answer
        and retries without its Idempotency-Key still gets one record, not two.
        """
        if event.decision is not Decision.forward and not (event.remarks or "").strip():
            raise _refuse("remarks", f"are required to {event.decision.value}")
        with self._lock:
            application = self.applications.get(number)
            if application is None:
                raise _refuse("number", "no such application", status=404)
            same = next(
                (e for e in application.events if e.signature_digest == event.signature_digest),
                None,
            )
            if same is not None:
                if _as_sent(same) != event:
                    raise _refuse(
                        "signature_digest",
                        f"already recorded for another hand-over (event {same.sequence})",
                        status=409,
                    )
                return HandoverRecorded(
                    number=number, sequence=same.sequence, received_at=same.received_at
                )
            if application.status is ApplicationStatus.refused:
                last = application.events[-1]
                raise _refuse(
                    "number",
                    f"the application was refused at step {last.step}; nothing follows",
                    status=409,
                )
            recorded = HandoverEvent(
                sequence=len(application.events) + 1,
                received_at=self.clock.now(),
                **event.model_dump(),
            )
            status = (
                ApplicationStatus.refused
                if event.decision is Decision.refuse
                else ApplicationStatus.in_progress
            )
            self.applications[number] = application.model_copy(
                update={"events": [*application.events, recorded], "status": status}
            )
        return HandoverRecorded(
            number=number, sequence=recorded.sequence, received_at=recorded.received_at
        )
