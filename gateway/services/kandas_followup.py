"""What the kandas chain owes to other systems, done after the transaction that caused it.

- p.7: the application is registered on the migration portal, and every verified
  hand-over is mirrored there (the portal is where officials follow it);
- p.18: when the case reaches the `unemployment` step, the draft decision on unemployed
  status is made through the labour market system; the career centre then forwards with
  that draft's id (the check `labour_market_draft_matches`).

These calls go over HTTP to another organisation's system and can fail, so they never run
inside the transaction that moved the case. The follow-up finds what is owed from the
store (a case without a portal number, hand-overs not yet mirrored, an `unemployment`
step without a draft), calls with an idempotency key derived from the case (a retry after
a lost answer creates nothing twice), and records the answer in a short transaction of
its own. A system that is down leaves the work owed, and the timeline says so once.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any, Protocol

from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.http_discipline import UpstreamError
from contracts.cases import Decision, StepDecision
from contracts.labour_market import DraftReason, UnemploymentDraft, UnemploymentDraftIn
from contracts.migration_portal import (
    ApplicationIn,
    ApplicationMemberIn,
    ApplicationRegistered,
    HandoverEventIn,
    HandoverRecorded,
)
from contracts.plans import PlanStatus
from contracts.signing import Signature
from gateway.services import timeline
from gateway.store.tables import handovers, plans, tasks

log = logging.getLogger("gateway.followup")

ACTOR = "gateway:follow-up"
KANDAS = "kandas_application"


class Portal(Protocol):
    async def register_application(
        self, application: ApplicationIn, *, idempotency_key: str | None = None
    ) -> ApplicationRegistered: ...

    async def record_handover(
        self, number: str, event: HandoverEventIn, *, idempotency_key: str | None = None
    ) -> HandoverRecorded: ...


class LabourMarket(Protocol):
    async def create_unemployment_draft(
        self, draft: UnemploymentDraftIn, *, idempotency_key: str | None = None
    ) -> UnemploymentDraft: ...


async def _open_cases(conn: AsyncConnection) -> list[Any]:
    return list(
        (
            await conn.execute(
                select(plans.c.id, plans.c.centre, plans.c.family).where(
                    plans.c.flow == KANDAS, plans.c.status == PlanStatus.active.value
                )
            )
        ).all()
    )


async def _store(
    engine: AsyncEngine,
    case_id: str,
    key: str,
    value: Any,
    event: str,
    now: datetime,
    data: dict[str, Any] | None = None,
) -> None:
    async with engine.begin() as conn:
        row = (
            await conn.execute(
                select(plans.c.family).where(plans.c.id == case_id).with_for_update()
            )
        ).first()
        if row is None:
            return
        document = dict(row.family)
        document[key] = value
        await conn.execute(update(plans).where(plans.c.id == case_id).values(family=document))
        await timeline.record(
            conn, plan_id=case_id, at=now, actor=ACTOR, type=event, data=data or {}
        )


async def _note_failure(
    engine: AsyncEngine,
    case_id: str,
    key: str,
    document: dict[str, Any],
    error: Exception,
    now: datetime,
) -> None:
    """Once per outage, not per retry: the timeline shows the system is owed work."""
    state = dict(document.get(key) or {})
    if state.get("failing"):
        return
    state["failing"] = f"{type(error).__name__}: {error}"[:300]
    await _store(
        engine,
        case_id,
        key,
        state,
        "followup_failed",
        now,
        {"system": key, "reason": state["failing"]},
    )


async def register_on_portal(engine: AsyncEngine, portal: Portal, row: Any, now: datetime) -> bool:
    document = row.family
    state = document.get("migration_portal") or {}
    if state.get("number"):
        return False
    application = document["application"]
    request = ApplicationIn(
        applicant_iin=application["applicant_iin"],
        members=[
            ApplicationMemberIn(iin=p["iin"], relation=p["relation"])
            for p in document["intake"]["people"]
            if p["relation"] != "applicant" and p.get("included", True)
        ],
        departure_region=application["departure_region"],
        settlement_region=application["settlement_region"],
        career_centre=row.centre,
        external_id=row.id,
    )
    try:
        answer = await portal.register_application(request, idempotency_key=f"{row.id}:register")
    except UpstreamError as error:
        await _note_failure(engine, row.id, "migration_portal", document, error, now)
        return False
    await _store(
        engine,
        row.id,
        "migration_portal",
        {"number": answer.number, "registered_at": answer.registered_at.isoformat(), "mirrored": 0},
        "portal_registered",
        now,
        {"number": answer.number},
    )
    return True


async def mirror_handovers(engine: AsyncEngine, portal: Portal, row: Any, now: datetime) -> int:
    state = dict(row.family.get("migration_portal") or {})
    number = state.get("number")
    if not number:
        return 0
    async with engine.connect() as conn:
        signed = (
            await conn.execute(
                select(handovers).where(handovers.c.plan_id == row.id).order_by(handovers.c.id)
            )
        ).all()
    before = done = int(state.get("mirrored", 0))
    for record in signed[done:]:
        event = HandoverEventIn.of(
            StepDecision.model_construct(
                case_id=row.id,
                step=record.step,
                round=record.round,
                body=record.body,
                decision=Decision(record.decision),
                remarks=_remarks(record.statement),
                signed_at=record.signed_at,
                signature=Signature.model_validate(record.signature),
            ),
            signer_iin=_signer_iin(record.signature["certificate"]),
        )
        try:
            await portal.record_handover(number, event, idempotency_key=f"{row.id}:{record.id}")
        except UpstreamError as error:
            await _note_failure(engine, row.id, "migration_portal", row.family, error, now)
            break
        done += 1
    if done != before:
        state.pop("failing", None)
        state["mirrored"] = done
        await _store(
            engine, row.id, "migration_portal", state, "portal_mirrored", now, {"handovers": done}
        )
    return done - before


def _signer_iin(certificate_pem: str) -> str:
    """The official's IIN, as their certificate's subject carries it (`IIN…`)."""
    subject = x509.load_pem_x509_certificate(certificate_pem.encode()).subject
    value = str(subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value)
    return value.removeprefix("IIN")


def _remarks(statement: str) -> str | None:
    value = json.loads(statement).get("remarks")
    return str(value) if value else None


async def draft_unemployment(
    engine: AsyncEngine, labour: LabourMarket, row: Any, now: datetime
) -> bool:
    """p.18: the draft for a case at the `unemployment` step that has none for this round."""
    async with engine.connect() as conn:
        step = (
            await conn.execute(
                select(tasks.c.id, tasks.c.round, tasks.c.agency).where(
                    tasks.c.plan_id == row.id,
                    tasks.c.step == "unemployment",
                    tasks.c.state.in_(("created", "dispatched")),
                )
            )
        ).first()
        outcome = (
            await conn.execute(
                select(handovers.c.statement)
                .where(handovers.c.plan_id == row.id, handovers.c.step == "lmc_settlement")
                .order_by(handovers.c.id.desc())
            )
        ).scalar()
    if step is None:
        return False
    drafts = dict(row.family.get("labour_market") or {})
    key = f"{step.id}"
    if key in drafts.get("drafts", {}):
        return False
    reason = json.loads(outcome or "{}").get("data", {}).get("outcome", "no_job")
    request = UnemploymentDraftIn(
        iin=row.family["application"]["applicant_iin"],
        career_centre=step.agency,
        reason=DraftReason(reason if reason in ("no_job", "declined") else "no_job"),
        external_id=row.id,
    )
    try:
        draft = await labour.create_unemployment_draft(
            request, idempotency_key=f"{row.id}:unemployment:{step.round}"
        )
    except UpstreamError as error:
        await _note_failure(engine, row.id, "labour_market", row.family, error, now)
        return False
    drafts.pop("failing", None)
    drafts.setdefault("drafts", {})[key] = draft.draft_id
    drafts["latest"] = draft.draft_id
    await _store(
        engine,
        row.id,
        "labour_market",
        drafts,
        "labour_market_draft",
        now,
        {"draft_id": draft.draft_id},
    )
    return True


async def run_once(
    engine: AsyncEngine, portal: Portal | None, labour: LabourMarket | None, now: datetime
) -> int:
    async with engine.connect() as conn:
        rows = await _open_cases(conn)
    changed = 0
    for row in rows:
        if portal is not None:
            changed += await register_on_portal(engine, portal, row, now)
        if labour is not None:
            changed += await draft_unemployment(engine, labour, row, now)
    # Completed cases are mirrored too: their last hand-over closed them.
    if portal is not None:
        async with engine.connect() as conn:
            everything = (
                await conn.execute(
                    select(plans.c.id, plans.c.centre, plans.c.family).where(plans.c.flow == KANDAS)
                )
            ).all()
        for row in everything:
            changed += await mirror_handovers(engine, portal, row, now)
    return changed
