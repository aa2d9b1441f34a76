"""Registry lookups: who is this person, who is this family (order 170 p.6).

A career centre asks the gateway rather than the applicant for what the registries
know. There is no career-centre kind of client yet: a career centre's system is
registered as a ``centre``-kind client (``gateway clients add --kind centre``), and an
admin may look up too; agencies may not, since a body gets what a task needs and no
more. When career centres get their own kind, add it to ``_MAY_LOOK_UP``.

Every lookup is written to ``access_log`` with the caller before the registries are
asked, whatever they answer: the attempt to read a family's data is what must be
attributable. The log has no column for the IIN asked about; the action names the kind
of lookup.
"""

from __future__ import annotations

from fastapi import APIRouter

from adapters.shep import Person
from gateway.api.deps import CallerDep, State
from gateway.api.openapi import problem_responses
from gateway.api.params import IINPath
from gateway.auth import Caller, ClientKind
from gateway.errors import Forbidden
from gateway.services import timeline
from gateway.services.registry_lookup import (
    FamilyView,
    RegistryGateway,
    RegistryUnavailable,
    assemble_family,
    find_person,
)

router = APIRouter(prefix="/api/v1/registry", tags=["registry"])

_MAY_LOOK_UP = frozenset({ClientKind.centre, ClientKind.admin})
_PROBLEMS = problem_responses(
    403,
    404,
    422,
    502,
    503,
    notes={
        403: "The caller's kind may not look people up.",
        404: "The individuals registry has no person with this IIN.",
        422: "The IIN is malformed (the problem names the field `iin` and why).",
        502: "The individuals registry refused or broke the contract.",
        503: "The individuals registry did not answer, or lookups are not set up.",
    },
)


async def _begin(state: State, caller: Caller, action: str) -> RegistryGateway:
    if caller.kind not in _MAY_LOOK_UP:
        raise Forbidden("registry lookups are for centres and admins")
    if state.registry is None:
        raise RegistryUnavailable("all", "registry lookups are not configured")
    async with state.engine.begin() as conn:
        await timeline.record_access(
            conn, client_id=caller.client_id, action=action, at=state.clock.now()
        )
    return state.registry


@router.get("/persons/{iin}", responses=_PROBLEMS)
async def read_person(iin: IINPath, state: State, caller: CallerDep) -> Person:
    """The person as the individuals database (ГБД ФЛ) knows them."""
    registry = await _begin(state, caller, "registry_person")
    return await find_person(registry, iin)


@router.get("/families/{iin}", responses=_PROBLEMS)
async def read_family(iin: IINPath, state: State, caller: CallerDep) -> FamilyView:
    """The person, spouse, children and wards, with what each registry says of them.

    ``missing`` lists the registries that failed; the rest of the answer stands.
    """
    registry = await _begin(state, caller, "registry_family")
    return await assemble_family(registry, iin)
