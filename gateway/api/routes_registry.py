"""Registry lookups: who is this person, who is this family (order 170 p.6).

A career centre asks the gateway rather than the applicant for what the registries
know. Every lookup names its purpose (`?purpose=`, from gateway/data/lookup_purposes.json);
the purpose says which kinds of caller may use it, its legal ground, and whether the act
requires consent on file, held by the case named by `case_id` (kandas applications: the
application's consent, p.12.3; employment referrals: the applicant's consent taken at
registration, seed 002 p.5.1). A lookup without a purpose, or whose consent is not on
file, is refused before any registry is asked (gateway/domain/lookup_purposes.py). Admin
keys administer and do not look people up; agencies only where a purpose allows them.

Every lookup, allowed or refused, is written to ``access_log`` with the caller and to the
interagency ``audit_log`` with the subject's IIN as a keyed hash, the purpose and the
legal ground, in one transaction before the registries are asked: the attempt to read a
family's data is what must be attributable.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from adapters.shep import Person
from gateway.api.deps import CallerDep, State
from gateway.api.openapi import problem_responses
from gateway.api.params import IINPath
from gateway.audit_keys import subject_secret
from gateway.auth import Caller
from gateway.domain.lookup_purposes import (
    CASE_RULES,
    CaseConsent,
    Purpose,
    Refusal,
    check_consent,
    check_purpose,
)
from gateway.domain.lookup_purposes import load_purposes as _load_purposes
from gateway.errors import Forbidden, GatewayError, InvalidInput
from gateway.services import audit_log, timeline
from gateway.services.registry_lookup import (
    FamilyView,
    RegistryGateway,
    RegistryUnavailable,
    assemble_family,
    find_person,
)
from gateway.store.tables import plans

router = APIRouter(prefix="/api/v1/registry", tags=["registry"])
_PROBLEMS = problem_responses(
    403,
    404,
    422,
    502,
    503,
    notes={
        403: "The caller's kind may not look people up for this purpose, or the consent "
        "the act requires is not on file (the problem names `consent`).",
        404: "The individuals registry has no person with this IIN.",
        422: "The IIN is malformed, the purpose is missing or unknown, or the purpose "
        "needs a `case_id` (the problem names the field and why).",
        502: "The individuals registry refused or broke the contract.",
        503: "The individuals registry did not answer, or lookups are not set up.",
    },
)


PurposeQuery = Annotated[
    str,
    Query(
        description="Why the data is looked up: ipr_monitoring, kandas_application, "
        "employment_referral (gateway/data/lookup_purposes.json).",
        max_length=40,
    ),
]
CaseQuery = Annotated[
    str | None,
    Query(
        description="The case whose consent covers the lookup; required for "
        "kandas_application and employment_referral.",
        max_length=36,
    ),
]


@cache
def purposes() -> dict[str, Purpose]:
    return _load_purposes()


def _refused(refusal: Refusal) -> GatewayError:
    if refusal.status == 422:
        return InvalidInput.field(refusal.field, refusal.reason)
    return Forbidden(refusal.reason, errors=[{"field": refusal.field, "reason": refusal.reason}])


async def _consent_case(
    conn: Any, caller: Caller, case_id: str | None, rule: CaseConsent
) -> dict[str, Any] | None:
    """Who the case's consent covers and the consent itself, read from the case the caller
    works on; another body's case is refused."""
    if case_id is None:
        return None
    row = (
        await conn.execute(
            select(plans.c.centre, plans.c.family).where(
                plans.c.id == case_id, plans.c.flow == rule.flow
            )
        )
    ).first()
    if row is None:
        raise InvalidInput.field("case_id", f"no {rule.case} with id '{case_id}'")
    if rule.flow == "kandas_application":  # opened by its career centre, p.6
        owner = row.centre
        application: dict[str, Any] = row.family["application"]
    else:
        owner = (row.family.get("routing") or {}).get("district_office")
        # an employment referral, handled by its district office
        application = {
            "applicant_iin": (row.family.get("form") or {}).get("iin"),
            "consent": row.family.get("consent"),
        }
    if caller.scope != owner:
        raise Forbidden(
            "this case is another body's",
            errors=[{"field": "case_id", "reason": "another body's case"}],
        )
    return application


async def _begin(
    state: State, caller: Caller, action: str, iin: str, purpose_code: str, case_id: str | None
) -> RegistryGateway:
    now = state.clock.now()
    subject = audit_log.subject_hash(subject_secret(state.settings), iin)
    async with state.engine.begin() as conn:
        await timeline.record_access(conn, client_id=caller.client_id, action=action, at=now)
        checked = check_purpose(purposes(), purpose_code, caller.kind.value)
        refusal: Refusal | GatewayError | None = checked if isinstance(checked, Refusal) else None
        purpose = checked if isinstance(checked, Purpose) else None
        if purpose is not None:
            try:
                rule = CASE_RULES.get(purpose.consent)
                application = (
                    await _consent_case(conn, caller, case_id, rule) if rule is not None else None
                )
                refusal = check_consent(purpose, iin, application)
            except GatewayError as error:
                refusal = error
        await audit_log.record(
            conn,
            at=now,
            actor=caller.actor,
            action=action if refusal is None else f"{action}_refused",
            case_id=case_id,
            subject=subject,
            purpose=purpose_code[:40],
            legal_ground=purpose.legal_ground[:200] if purpose else None,
        )
    if isinstance(refusal, Refusal):
        raise _refused(refusal)
    if refusal is not None:
        raise refusal
    if state.registry is None:
        raise RegistryUnavailable("all", "registry lookups are not configured")
    return state.registry


@router.get("/persons/{iin}", responses=_PROBLEMS)
async def read_person(
    iin: IINPath, state: State, caller: CallerDep, purpose: PurposeQuery, case_id: CaseQuery = None
) -> Person:
    """The person as the individuals database (ГБД ФЛ) knows them."""
    registry = await _begin(state, caller, "registry_person", iin, purpose, case_id)
    return await find_person(registry, iin)


@router.get("/families/{iin}", responses=_PROBLEMS)
async def read_family(
    iin: IINPath, state: State, caller: CallerDep, purpose: PurposeQuery, case_id: CaseQuery = None
) -> FamilyView:
    """The person, spouse, children and wards, with what each registry says of them.

    ``missing`` lists the registries that failed; the rest of the answer stands.
    """
    registry = await _begin(state, caller, "registry_family", iin, purpose, case_id)
    return await assemble_family(registry, iin)
