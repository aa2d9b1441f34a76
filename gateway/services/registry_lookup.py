"""Who is this family? One IIN in, the registries' facts assembled out.

Order 170 p.6 forbids asking an applicant for documents a registry can give, so a
career centre's system asks the gateway instead: the individuals database for the
person and whoever the records name, the civil registry for marriages and births, Е-опека
for guardianship, the Supreme Court for adoptions, the migration police for residence
registration. The questions that do not depend on each other go out together, so a
lookup costs two round trips to the bus, not a dozen.

The person is the one fact the answer cannot do without: if the individuals database is
down the lookup fails (the caller gets a 503 naming it). Every other registry is a
part of the picture: if one fails, the answer still comes, with ``missing`` saying which
registry and why, so that the centre knows what to ask again rather than what to
believe absent.

``RegistryGateway`` is the seam: the bus clients implement it in production
(``build_registry_gateway``), a fake in tests.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from adapters.shep import (
    AdoptionDecision,
    BirthRecord,
    CivilRegistryClient,
    GuardianshipClient,
    GuardianshipDecision,
    IndividualsClient,
    MarriageRecord,
    MigrationPoliceClient,
    Person,
    RecordedPerson,
    ResidenceRegistration,
    RsaSigner,
    ShepError,
    ShepSettings,
    ShepUnavailable,
    SupremeCourtClient,
    SyncChannelClient,
    TrustStore,
)
from gateway.config import Settings
from gateway.errors import GatewayError, NotFound
from gateway.metrics import timed_registry_call

__all__ = [
    "INDIVIDUALS",
    "ChildView",
    "FamilyView",
    "Missing",
    "RegistryFailed",
    "RegistryGateway",
    "RegistryUnavailable",
    "ShepRegistryGateway",
    "assemble_family",
    "build_registry_gateway",
    "find_person",
]

log = logging.getLogger(__name__)

# Registry names as the API reports them (in ``missing`` and in 503 problems).
INDIVIDUALS = "individuals"
CIVIL_REGISTRY = "civil_registry"
GUARDIANSHIP = "guardianship"
SUPREME_COURT = "supreme_court"
MIGRATION_POLICE = "migration_police"


class RegistryGateway(Protocol):
    """The registries' questions the gateway asks; each raises ``ShepError`` on failure."""

    async def person(self, iin: str) -> Person | None: ...

    async def marriages(self, iin: str) -> Sequence[MarriageRecord]: ...

    async def births(self, iin: str) -> Sequence[BirthRecord]:
        """Births where ``iin`` is entered as a parent."""
        ...

    async def birth_record(self, iin: str) -> BirthRecord | None:
        """The birth record of ``iin`` as the child: who their parents are."""
        ...

    async def guardianship(self, iin: str) -> Sequence[GuardianshipDecision]:
        """Decisions where ``iin`` is the child or the guardian."""
        ...

    async def adoptions(self, iin: str) -> Sequence[AdoptionDecision]:
        """Decisions on adopting ``iin`` as a child."""
        ...

    async def registrations(self, iin: str) -> Sequence[ResidenceRegistration]: ...


class RegistryUnavailable(GatewayError):
    """The registry the answer cannot do without did not answer: worth trying later."""

    status = 503
    title = "Registry unavailable"

    def __init__(self, registry: str, detail: str) -> None:
        super().__init__(detail, errors=[{"field": "registry", "reason": registry}])
        self.registry = registry


class RegistryFailed(RegistryUnavailable):
    """It answered, but not usefully (a contract or credentials problem): needs a human."""

    status = 502
    title = "Registry failed"


@dataclass(frozen=True, slots=True)
class Missing:
    registry: str
    reason: str


@dataclass(frozen=True, slots=True)
class MemberView:
    """Someone a record names, as the individuals database knows them when it answered."""

    iin: str
    last_name: str
    first_name: str
    middle_name: str | None
    birth_date: date
    deceased: bool | None
    """None when the individuals database did not answer about this member (see
    ``missing``), or does not know them."""
    death_date: date | None = None


@dataclass(frozen=True, slots=True)
class ChildView:
    member: MemberView
    relation: str
    """``child`` (a birth record names the person as parent) or ``ward`` (a guardianship
    decision names the person as guardian)."""
    birth_record: BirthRecord | None
    guardianship: list[GuardianshipDecision]
    adoptions: list[AdoptionDecision]


@dataclass(frozen=True, slots=True)
class FamilyView:
    person: Person
    birth_record: BirthRecord | None
    """The person's own, naming their parents; None for births before the electronic
    records (13 August 2007) or abroad."""
    parents: list[MemberView]
    spouse: MemberView | None
    marriages: list[MarriageRecord]
    children: list[ChildView]
    guardianship: list[GuardianshipDecision]
    """Decisions about the person as a child or as a guardian."""
    adoptions: list[AdoptionDecision]
    registrations: list[ResidenceRegistration]
    missing: list[Missing] = field(default_factory=list)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ShepUnavailable):
        return f"unavailable: {exc}"
    if isinstance(exc, ShepError):
        return f"failed: {exc}"
    return f"failed: {type(exc).__name__}"


async def find_person(registry: RegistryGateway, iin: str) -> Person:
    """The person or a problem: 404 when unknown, 503/502 naming the registry when it failed."""
    try:
        person = await timed_registry_call(INDIVIDUALS, registry.person(iin))
    except ShepUnavailable as exc:
        raise RegistryUnavailable(
            INDIVIDUALS, f"the individuals registry (ГБД ФЛ) did not answer: {exc}"
        ) from exc
    except ShepError as exc:
        raise RegistryFailed(
            INDIVIDUALS, f"the individuals registry (ГБД ФЛ) refused the request: {exc}"
        ) from exc
    if person is None:
        raise NotFound("the individuals registry has no person with this IIN")
    return person


class _Round:
    """Calls sent together; a failure is noted against its registry and answers None."""

    def __init__(self, missing: list[Missing]) -> None:
        self.missing = missing

    async def gather(self, calls: Sequence[tuple[str, Awaitable[Any]]]) -> list[Any]:
        results = await asyncio.gather(
            *(timed_registry_call(registry, c) for registry, c in calls), return_exceptions=True
        )
        out: list[Any] = []
        for (registry, _), result in zip(calls, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result  # cancellation and the like are not a registry's answer
                if not isinstance(result, ShepError):
                    log.exception("registry %s: unexpected error", registry, exc_info=result)
                if all(m.registry != registry for m in self.missing):
                    self.missing.append(Missing(registry, _reason(result)))
                out.append(None)
            else:
                out.append(result)
        return out


def _member(recorded: RecordedPerson, known: Person | None) -> MemberView:
    source = known or recorded
    return MemberView(
        iin=recorded.iin,
        last_name=source.last_name,
        first_name=source.first_name,
        middle_name=source.middle_name,
        birth_date=source.birth_date,
        deceased=known.deceased if known is not None else None,
        death_date=known.death_date if known is not None else None,
    )


async def assemble_family(registry: RegistryGateway, iin: str) -> FamilyView:
    """The person, their parents, spouse, children (own and in their care), the facts of each."""
    missing: list[Missing] = []
    calls = _Round(missing)
    person_task = asyncio.ensure_future(find_person(registry, iin))
    own_birth, marriages, births, guardianship, adoptions, registrations = await calls.gather(
        [
            (CIVIL_REGISTRY, registry.birth_record(iin)),
            (CIVIL_REGISTRY, registry.marriages(iin)),
            (CIVIL_REGISTRY, registry.births(iin)),
            (GUARDIANSHIP, registry.guardianship(iin)),
            (SUPREME_COURT, registry.adoptions(iin)),
            (MIGRATION_POLICE, registry.registrations(iin)),
        ]
    )
    person = await person_task  # raises the 404 or the 503: nothing to assemble without it

    current = [m for m in marriages or () if m.current]
    spouse = current[-1].spouse_of(iin) if current else None
    children: dict[str, tuple[str, RecordedPerson, BirthRecord | None]] = {}
    for record in births or ():
        children[record.child.iin] = ("child", record.child, record)
    for decision in guardianship or ():
        if decision.guardian.iin == iin and decision.child.iin not in children:
            children[decision.child.iin] = ("ward", decision.child, None)

    parents = [p for p in (own_birth.mother, own_birth.father) if p] if own_birth else []

    # Second round: who the records name, as the individuals database knows them now
    # (a parent, spouse or child may have died), and each child's guardianship and adoption.
    members = parents + ([spouse] if spouse else []) + [c[1] for c in children.values()]
    second: list[tuple[str, Awaitable[Any]]] = [
        (INDIVIDUALS, registry.person(m.iin)) for m in members
    ]
    for child_iin in children:
        second.append((GUARDIANSHIP, registry.guardianship(child_iin)))
        second.append((SUPREME_COURT, registry.adoptions(child_iin)))
    answers = await calls.gather(second)
    known: dict[str, Person | None] = {m.iin: answers[i] for i, m in enumerate(members)}
    extra = iter(answers[len(members) :])

    child_views = []
    for child_iin, (relation, recorded, record) in children.items():
        child_guardianship, child_adoptions = next(extra), next(extra)
        child_views.append(
            ChildView(
                member=_member(recorded, known.get(child_iin)),
                relation=relation,
                birth_record=record,
                guardianship=list(child_guardianship or ()),
                adoptions=list(child_adoptions or ()),
            )
        )
    return FamilyView(
        person=person,
        birth_record=own_birth,
        parents=[_member(p, known.get(p.iin)) for p in parents],
        spouse=_member(spouse, known.get(spouse.iin)) if spouse else None,
        marriages=list(marriages or ()),
        children=child_views,
        guardianship=list(guardianship or ()),
        adoptions=list(adoptions or ()),
        registrations=list(registrations or ()),
        missing=missing,
    )


class ShepRegistryGateway:
    """``RegistryGateway`` over the e-government bus: one channel, the typed clients on it."""

    def __init__(self, channel: SyncChannelClient) -> None:
        self.channel = channel
        self._individuals = IndividualsClient(channel)
        self._civil = CivilRegistryClient(channel)
        self._guardianship = GuardianshipClient(channel)
        self._court = SupremeCourtClient(channel)
        self._police = MigrationPoliceClient(channel)

    async def aclose(self) -> None:
        await self.channel.aclose()

    def breaker_states(self) -> dict[str, str]:
        return {name: state.value for name, state in self.channel.breakers.states().items()}

    async def person(self, iin: str) -> Person | None:
        return await self._individuals.person_by_iin(iin)

    async def marriages(self, iin: str) -> Sequence[MarriageRecord]:
        return await self._civil.marriages_of(iin)

    async def births(self, iin: str) -> Sequence[BirthRecord]:
        return await self._civil.births_by_parent(iin)

    async def birth_record(self, iin: str) -> BirthRecord | None:
        return await self._civil.birth_of_child(iin)

    async def guardianship(self, iin: str) -> Sequence[GuardianshipDecision]:
        as_child, as_guardian = await asyncio.gather(
            self._guardianship.decisions_for_child(iin),
            self._guardianship.decisions_by_guardian(iin),
        )
        return (*as_child, *as_guardian)

    async def adoptions(self, iin: str) -> Sequence[AdoptionDecision]:
        return await self._court.adoptions_of_child(iin)

    async def registrations(self, iin: str) -> Sequence[ResidenceRegistration]:
        return await self._police.registrations_of(iin)


def build_registry_gateway(settings: Settings) -> ShepRegistryGateway:
    """The bus clients from settings; unset credentials come from the mock bus's dev files.

    Reads key files at start-up, so a missing or unreadable one fails the process when it
    starts rather than the first lookup.
    """
    dev = settings.shep_dev_dir
    sender_id, password = settings.shep_sender_id, settings.shep_password
    if sender_id is None or password is None:
        sender = json.loads((dev / "sender.json").read_text(encoding="utf-8"))
        sender_id = sender_id or sender["senderId"]
        password = password or sender["password"]
    key = (settings.shep_key_file or dev / "sender-key.pem").read_bytes()
    cert = (settings.shep_cert_file or dev / "sender-cert.pem").read_bytes()
    bus_cert = (settings.shep_bus_cert_file or dev / "bus-cert.pem").read_bytes()
    trust = TrustStore([_certificate_der(bus_cert)])
    shep = ShepSettings(
        address=settings.shep_url,
        sender_id=sender_id or "",
        password=password or "",
        deadline=settings.shep_deadline_seconds,
    )
    return ShepRegistryGateway(SyncChannelClient(shep, RsaSigner.from_pem(key, cert), trust))


def _certificate_der(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)
