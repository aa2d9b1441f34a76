"""Taking e-applications in from the portal: polled, retried, deduplicated.

The portal keeps a received application in `received` until the recipient forwards it,
so polling `status=new` is safe to repeat: an application already taken is found by its
portal id (the case's idempotency key) and skipped, and one whose facts could not be
checked this time (a system that holds them did not answer) is simply taken next time.
A failed poll is retried by the adapter (timeouts, backoff, breaker) and then by the
next pass; nothing the portal holds is lost by a failure here.

Registry and other systems' calls happen before the short transaction that opens the
case, never inside it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.clock import Clock
from contracts.iin import InvalidIIN, check_iin
from contracts.signing import Signature, canonical_form_bytes
from gateway.domain.employment_referral import Facts
from gateway.domain.public_services import load_register
from gateway.services import e_application, employment_referral
from gateway.services.context import Context
from gateway.services.employment_referral import KandasLookup, LabourMarketLookup
from gateway.signatures import SignatureRefused, TrustAnchors, verify_document

log = logging.getLogger("gateway.portal_intake")


class PortalInbox(Protocol):
    async def new_appeals(self, *, recipient: str | None = None) -> list[Any]: ...


@dataclass
class PollResult:
    opened: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    known: int = 0
    waiting: int = 0


def signature_of(form: dict[str, Any], trust: TrustAnchors | None, now: datetime) -> dict[str, Any]:
    """The applicant's ЭЦП over the form (order 109 p.2, p.4), verified.

    The form's `signature` is a detached signature (`contracts.signing.Signature`, as
    JSON) over `canonical_form_bytes` of the other fields, by a certificate of a trusted
    authority (`GATEWAY_CA_ROOT`) whose subject names the applicant's IIN. Anything else
    is a `problem` the form is refused for, naming the field; no trusted authority
    configured means no signature can be accepted, as for the officials' hand-overs.
    """
    raw = str(form.get("signature") or "").strip()
    if not raw:
        return {"status": "absent"}
    if trust is None:
        return {
            "status": "refused",
            "problem": "no trusted certification authority is configured",
        }
    try:
        signature = Signature.model_validate_json(raw)
    except ValidationError:
        return {
            "status": "refused",
            "problem": "is not an ЭЦП the gateway can verify "
            + "(a detached signature with its certificate)",
        }
    try:
        signer = verify_document(canonical_form_bytes(form), signature, trust=trust, now=now)
    except SignatureRefused as refusal:
        return {"status": "refused", "problem": refusal.detail, "reason": refusal.reason.value}
    if signer.iin != str(form.get("iin") or ""):
        return {
            "status": "refused",
            "problem": "was made with another person's certificate than the applicant's",
        }
    return {
        "status": "verified",
        "certificate_serial": signer.serial,
        "algorithm": signer.algorithm,
        "verified_at": now.isoformat(),
    }


def _flow_of(form: dict[str, Any]) -> str:
    service = load_register().service(str(form.get("service_name") or ""))
    return service.flow if service is not None else e_application.E_APPLICATION


def _valid_iin(value: object) -> str | None:
    try:
        return check_iin(str(value or ""))
    except InvalidIIN:
        return None


async def take(
    engine: AsyncEngine,
    ctx: Context,
    appeal: dict[str, Any],
    *,
    labour: LabourMarketLookup | None,
    kandas: KandasLookup | None,
    now: datetime,
) -> tuple[str, e_application.Received | None]:
    async with engine.connect() as conn:
        if await e_application.known_case(conn, appeal["id"]) is not None:
            return "known", None
    form = dict(appeal.get("form") or {})
    signature = signature_of(form, ctx.trust, now)
    received_at = datetime.fromisoformat(str(appeal["received_at"]))
    flow_id = _flow_of(form)
    facts = Facts(None, "", None, "")
    record: dict[str, Any] = {}
    iin = _valid_iin(form.get("iin"))
    if flow_id == employment_referral.REFERRAL and iin is not None:
        facts, record = await employment_referral.gather_facts(labour, kandas, iin, on_portal=True)
    try:
        async with engine.begin() as conn:
            if flow_id == employment_referral.REFERRAL:
                received = await employment_referral.receive_from_portal(
                    conn,
                    ctx,
                    appeal,
                    facts=facts,
                    facts_record=record,
                    signature=signature,
                    received_at=received_at,
                    now=now,
                )
            else:
                received = await e_application.receive(
                    conn, ctx, appeal, signature=signature, received_at=received_at, now=now
                )
    except IntegrityError:  # another gateway process took it at the same moment
        return "known", None
    if received is None:
        return "waiting", None
    return ("refused" if received.refused else "opened"), received


async def poll_once(
    engine: AsyncEngine,
    ctx: Context,
    portal: PortalInbox,
    *,
    labour: LabourMarketLookup | None,
    kandas: KandasLookup | None,
    now: datetime,
) -> PollResult:
    result = PollResult()
    for appeal in await portal.new_appeals():
        raw = appeal.model_dump(mode="json") if hasattr(appeal, "model_dump") else dict(appeal)
        outcome, received = await take(engine, ctx, raw, labour=labour, kandas=kandas, now=now)
        if outcome == "known":
            result.known += 1
        elif outcome == "waiting":
            result.waiting += 1
        elif received is not None:
            (result.refused if received.refused else result.opened).append(received.case_id)
    return result


async def run(
    engine: AsyncEngine,
    ctx: Context,
    portal: PortalInbox,
    clock: Clock,
    poll_seconds: float,
    *,
    labour: LabourMarketLookup | None,
    kandas: KandasLookup | None,
    on_outbox_write: Any = None,
) -> None:
    while True:
        try:
            result = await poll_once(
                engine, ctx, portal, labour=labour, kandas=kandas, now=clock.now()
            )
            if result.opened or result.refused:
                log.info(
                    "portal intake: %d case(s) opened, %d refused, %d waiting for facts",
                    len(result.opened),
                    len(result.refused),
                    result.waiting,
                )
                if on_outbox_write is not None:
                    on_outbox_write()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("portal intake pass failed; the next pass asks again", exc_info=True)
        await asyncio.sleep(poll_seconds)
