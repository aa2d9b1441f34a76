"""The kandas application's registry lookups under purpose and consent (order 170 p.12.3).

Opening an application makes the gateway ask the registries about every person on it
(gateway/services/kandas_intake.py). Those lookups have the purpose
``kandas_application``, whose consent rule is the application's own consent: without it
given, nothing is asked and the application is refused (422 naming ``consent``). Each
person's lookup, allowed or refused, is an audit record with their IIN as a keyed hash.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.cases import KandasApplicationIn
from gateway.audit_keys import subject_secret
from gateway.auth import Caller
from gateway.config import Settings
from gateway.domain.lookup_purposes import check_consent, load_purposes
from gateway.errors import InvalidInput
from gateway.services import audit_log

PURPOSE = "kandas_application"


async def audit_and_check_consent(
    engine: AsyncEngine,
    settings: Settings,
    caller: Caller,
    application: KandasApplicationIn,
    now: datetime,
) -> None:
    purpose = load_purposes()[PURPOSE]
    document = application.model_dump(mode="json")
    secret = subject_secret(settings)
    people = [application.applicant_iin, *(m.iin for m in application.members)]
    refusals = [check_consent(purpose, iin, document) for iin in people]
    async with engine.begin() as conn:
        await audit_log.record_many(
            conn,
            [
                audit_log.audit_row(
                    at=now,
                    actor=caller.actor,
                    action="kandas_intake_lookup" if refusal is None else "kandas_intake_refused",
                    subject=audit_log.subject_hash(secret, iin),
                    purpose=PURPOSE,
                    legal_ground=purpose.legal_ground[:200],
                )
                for iin, refusal in zip(people, refusals, strict=True)
            ],
        )
    refused = next((r for r in refusals if r is not None), None)
    if refused is not None:
        raise InvalidInput.field("consent", refused.reason)
