"""The facts of a kandas application, from the registries instead of paper (order 170 p.6).

"It is forbidden to ask the applicant for documents that a registry can give." So when a
career centre opens an application, the gateway asks the registries on the e-government
bus about the kandas and each family member, and writes down, fact by fact, which
registry gave it. It asks for a scan only where no registry holds the fact, and says why:
a marriage registered abroad (no record in ЗАГС), a birth before 13 August 2007 (the
civil registry's electronic records start then), the spouse's education document (no
registry on the bus holds it).

A registry that does not answer is not a refusal: the fact is listed as missing with the
registry and the reason, the application waits, and `refresh` asks again later. A person
the individuals registry does not know is a refusal (422 naming the member), because
nothing later will make them known.

`gather` does the I/O through the `RegistryGateway` seam; `assess` is pure and is where
the rules live, tested without a bus.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from adapters.http_discipline import UpstreamNotFound
from adapters.shep import (
    AdoptionDecision,
    BirthRecord,
    GuardianshipDecision,
    MarriageRecord,
    Person,
    ResidenceRegistration,
    ShepError,
)
from contracts.cases import KandasApplicationIn, Relation
from gateway.errors import InvalidInput
from gateway.services import cases
from gateway.services.registry_lookup import (
    CIVIL_REGISTRY,
    GUARDIANSHIP,
    INDIVIDUALS,
    MIGRATION_POLICE,
    SUPREME_COURT,
    RegistryGateway,
)

#: The civil registry's electronic birth records start on this day (order 170 p.6).
ELECTRONIC_BIRTHS_FROM = date(2007, 8, 13)

_GUARDIANSHIP_RU = {"GUARDIANSHIP": "опека", "TRUSTEESHIP": "попечительство"}

REGISTRY_NAMES_RU = {
    INDIVIDUALS: "ГБД ФЛ",
    CIVIL_REGISTRY: "ИС ЗАГС",
    GUARDIANSHIP: "Е-опека",
    SUPREME_COURT: "ИС «Верховный суд»",
    MIGRATION_POLICE: "ИС «Миграционная полиция»",
}


@dataclass
class Answers:
    """What the registries said about one person; None where a registry did not answer."""

    person: Person | None
    birth: BirthRecord | None = None
    marriages: Sequence[MarriageRecord] | None = ()
    guardianship: Sequence[GuardianshipDecision] | None = ()
    adoptions: Sequence[AdoptionDecision] | None = ()
    registrations: Sequence[ResidenceRegistration] | None = ()
    unknown: bool = False  # the individuals registry answered: no such person
    failed: dict[str, str] = field(default_factory=dict)  # registry -> reason


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


async def _ask(answers: Answers, registry: str, call: Any) -> Any:
    try:
        return await call
    except ShepError as exc:
        answers.failed.setdefault(registry, _reason(exc))
        return None


async def _gather_one(registry: RegistryGateway, iin: str, relation: Relation) -> Answers:
    answers = Answers(person=None)
    person_call = _ask(answers, INDIVIDUALS, registry.person(iin))
    calls: list[Any] = [
        _ask(answers, CIVIL_REGISTRY, registry.birth_record(iin)),
        _ask(answers, GUARDIANSHIP, registry.guardianship(iin)),
        _ask(answers, SUPREME_COURT, registry.adoptions(iin)),
        _ask(answers, MIGRATION_POLICE, registry.registrations(iin)),
    ]
    if relation is Relation.applicant:
        calls.append(_ask(answers, CIVIL_REGISTRY, registry.marriages(iin)))
    person, birth, guardianship, adoptions, registrations, *rest = await asyncio.gather(
        person_call, *calls
    )
    answers.person = person
    answers.unknown = person is None and INDIVIDUALS not in answers.failed
    answers.birth = birth
    answers.guardianship = guardianship if GUARDIANSHIP not in answers.failed else None
    answers.adoptions = adoptions if SUPREME_COURT not in answers.failed else None
    answers.registrations = registrations if MIGRATION_POLICE not in answers.failed else None
    if rest:
        answers.marriages = rest[0] if CIVIL_REGISTRY not in answers.failed else None
    return answers


async def gather(registry: RegistryGateway, application: KandasApplicationIn) -> dict[str, Answers]:
    """Ask every registry about every person at once: one round trip's worth of time."""
    people = [(application.applicant_iin, Relation.applicant)] + [
        (m.iin, m.relation) for m in application.members
    ]
    results = await asyncio.gather(*(_gather_one(registry, iin, rel) for iin, rel in people))
    return {iin: answers for (iin, _), answers in zip(people, results, strict=True)}


def refuse_unknown(application: KandasApplicationIn, answers: dict[str, Answers]) -> None:
    """422 naming each person the individuals registry does not know (p.6)."""
    errors = []
    if answers[application.applicant_iin].unknown:
        errors.append(
            {"field": "applicant_iin", "reason": "not found in the individuals registry (ГБД ФЛ)"}
        )
    for index, member in enumerate(application.members):
        if answers[member.iin].unknown:
            errors.append(
                {
                    "field": f"members[{index}].iin",
                    "reason": "not found in the individuals registry (ГБД ФЛ)",
                }
            )
    if errors:
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        raise InvalidInput(detail, errors=errors)


def _fact(subject: str, fact: str, value: str, source: str, reference: str = "") -> dict[str, str]:
    return {
        "subject": subject,
        "fact": fact,
        "value": value,
        "source": source,
        "source_ru": REGISTRY_NAMES_RU[source],
        "reference": reference,
    }


def _address(region: str, locality: str, street: str, house: str, flat: str | None) -> str:
    return ", ".join(p for p in (region, locality, street, house, flat and f"кв. {flat}") if p)


def assess(
    application: KandasApplicationIn, answers: dict[str, Answers], fetched_at: datetime
) -> dict[str, Any]:
    """The application's facts with their sources, the scans still needed and why, the
    outcomes a person must see (a deceased member, a child under guardianship, an
    adoption), and what is missing because a registry did not answer."""
    applicant = application.applicant_iin
    facts: list[dict[str, str]] = []
    scans: list[dict[str, Any]] = []
    outcomes: list[dict[str, str]] = []
    missing: list[dict[str, str]] = []
    people: list[dict[str, Any]] = []

    def need_scan(key: str, subject: str, why: str) -> None:
        provided = any(s.fact == key for s in application.scans)
        scans.append({"key": key, "subject": subject, "why": why, "provided": provided})

    relations = {applicant: Relation.applicant} | {m.iin: m.relation for m in application.members}
    applicant_answers = answers[applicant]
    for iin, relation in relations.items():
        got = answers[iin]
        for registry, reason in got.failed.items():
            missing.append({"subject": iin, "registry": registry, "reason": reason})
        person = got.person
        entry: dict[str, Any] = {"iin": iin, "relation": relation.value, "included": True}
        if person is not None:
            entry |= {
                "last_name": person.last_name,
                "first_name": person.first_name,
                "middle_name": person.middle_name,
                "birth_date": person.birth_date.isoformat(),
            }
            facts.append(
                _fact(
                    iin,
                    "identity",
                    f"{person.identity_document.type} № {person.identity_document.number}",
                    INDIVIDUALS,
                )
            )
            if person.deceased:
                entry["included"] = False
                outcomes.append(
                    {
                        "subject": iin,
                        "kind": "deceased",
                        "text_ru": f"По данным ГБД ФЛ умер(ла) {person.death_date}: "
                        "исключён(а) из состава переезжающей семьи.",
                    }
                )
                facts.append(_fact(iin, "death", str(person.death_date), INDIVIDUALS))
            address = person.permanent_address
            if address is not None:
                facts.append(
                    _fact(
                        iin,
                        "permanent_registration",
                        _address(
                            address.region,
                            address.locality,
                            address.street,
                            address.house,
                            address.flat,
                        ),
                        INDIVIDUALS,
                    )
                )
            elif INDIVIDUALS not in got.failed:
                outcomes.append(
                    {
                        "subject": iin,
                        "kind": "no_permanent_registration",
                        "text_ru": "В ГБД ФЛ нет постоянной регистрации: документ у заявителя "
                        "не запрашивается; регистрация по месту жительства — услуга 7 плана "
                        "адаптации (п.31).",
                    }
                )
        for registration in got.registrations or ():
            if registration.kind == "TEMPORARY":
                facts.append(
                    _fact(
                        iin,
                        "temporary_registration",
                        _address(
                            registration.region,
                            registration.locality,
                            registration.street,
                            registration.house,
                            registration.flat,
                        )
                        + f" (до {registration.registered_until or '—'})",
                        MIGRATION_POLICE,
                    )
                )
        people.append(entry)

        if relation is Relation.spouse:
            marriages = applicant_answers.marriages
            if marriages is None:
                pass  # the civil registry did not answer: listed under missing
            else:
                record = next(
                    (m for m in marriages if m.current and m.spouse_of(applicant).iin == iin),
                    None,
                )
                if record is not None:
                    facts.append(
                        _fact(
                            iin,
                            "marriage",
                            f"запись № {record.number} от {record.registered}",
                            CIVIL_REGISTRY,
                            record.number,
                        )
                    )
                else:
                    need_scan(
                        "marriage",
                        iin,
                        "В ИС ЗАГС нет записи о браке (например, брак зарегистрирован за "
                        "рубежом): нужна копия свидетельства о браке.",
                    )
            need_scan(
                f"education:{iin}",
                iin,
                "Документ об образовании супруга(и): ни один реестр на ШЭП его не содержит.",
            )

        if relation is Relation.child:
            _child_facts(iin, got, person, facts, outcomes, need_scan, relations)

    complete = not missing
    return {
        "fetched_at": fetched_at.isoformat(),
        "complete": complete,
        "people": people,
        "facts": facts,
        "scans_needed": scans,
        "outcomes": outcomes,
        "missing": missing,
    }


def _child_facts(
    iin: str,
    got: Answers,
    person: Person | None,
    facts: list[dict[str, str]],
    outcomes: list[dict[str, str]],
    need_scan: Any,
    relations: dict[str, Relation],
) -> None:
    adopted = [a for a in got.adoptions or ()]
    guarded = [g for g in got.guardianship or () if g.child.iin == iin]
    for decision in adopted:
        facts.append(
            _fact(
                iin,
                "adoption",
                f"решение {decision.court} по делу № {decision.case_number} от {decision.decided}",
                SUPREME_COURT,
                decision.case_number,
            )
        )
        outcomes.append(
            {
                "subject": iin,
                "kind": "adopted",
                "text_ru": "Усыновлён(а): решение суда из ИС «Верховный суд» заменяет "
                "свидетельство о рождении; копия не запрашивается.",
            }
        )
    for ruling in guarded:
        family = ruling.guardian.iin in relations
        facts.append(
            _fact(
                iin,
                "guardianship",
                f"{_GUARDIANSHIP_RU[ruling.kind]}, решение № {ruling.number} от "
                f"{ruling.decided}, до {ruling.valid_until}",
                GUARDIANSHIP,
                ruling.number,
            )
        )
        outcomes.append(
            {
                "subject": iin,
                "kind": "under_guardianship",
                "text_ru": "Под опекой (Е-опека): решение органа опеки — основание; "
                + (
                    "опекун — член семьи заявителя."
                    if family
                    else "опекун не входит в заявление — нужно согласие органа опеки на "
                    "переезд ребёнка."
                ),
            }
        )
    if got.birth is not None:
        facts.append(
            _fact(
                iin,
                "birth",
                f"актовая запись № {got.birth.number} от {got.birth.registered}",
                CIVIL_REGISTRY,
                got.birth.number,
            )
        )
    elif CIVIL_REGISTRY not in got.failed and not adopted:
        born = person.birth_date if person is not None else None
        if born is not None and born < ELECTRONIC_BIRTHS_FROM:
            why = (
                "Рождение до 13.08.2007: электронных записей ИС ЗАГС нет — нужна копия "
                "свидетельства о рождении."
            )
        else:
            why = (
                "В ИС ЗАГС нет записи о рождении (например, ребёнок родился за рубежом): "
                "нужна копия свидетельства о рождении."
            )
        need_scan(f"birth:{iin}", iin, why)


async def intake_for(
    registry: RegistryGateway | None, application: KandasApplicationIn, now: datetime
) -> dict[str, Any]:
    """Gather and assess; 422 for people no registry knows. Without a configured bus
    every fact is missing: the application waits instead of being refused."""
    if registry is None:
        answers = {
            iin: Answers(person=None, failed={INDIVIDUALS: "registry lookups are not configured"})
            for iin in [application.applicant_iin, *(m.iin for m in application.members)]
        }
    else:
        answers = await gather(registry, application)
        refuse_unknown(application, answers)
    return assess(application, answers, now)


class FamilyCardLookup(Protocol):
    """The digital family card's family lookup (adapters/family_card), as this flow needs it."""

    async def family(self, iin: str) -> Any: ...


async def close_relatives(
    card: FamilyCardLookup | None, applicant_iin: str, now: datetime
) -> dict[str, Any]:
    """p.9: the applicant's close relatives (parents, children) as the ЦКС records them.

    Fetched when the application is opened, so the head of the labour mobility centre sees
    them at their step; if the ЦКС is not connected or fails, the document says so and
    why, and the p.9 check cannot pass until `refresh` gets an answer.
    """
    if card is None:
        return {"status": "not_connected", "reason": "no connection to the ЦКС is configured"}
    try:
        family = await card.family(applicant_iin)
    except UpstreamNotFound:
        family = None
    except Exception as exc:  # any failure of another organisation's system
        return {"status": "unavailable", "reason": _reason(exc), "asked_at": now.isoformat()}
    if family is None:
        return {
            "status": "fetched",
            "source": "ЦКС",
            "fetched_at": now.isoformat(),
            "relatives": [],
            "note": "ЦКС has no card for the applicant",
        }
    relatives = [
        {
            "iin": m.iin,
            "relation": str(getattr(m.relation, "value", m.relation)),
            "name": " ".join(p for p in (m.last_name, m.first_name, m.middle_name) if p),
        }
        for m in family.members
        if m.iin != applicant_iin
    ]
    return {
        "status": "fetched",
        "source": "ЦКС",
        "fetched_at": now.isoformat(),
        "as_of": str(getattr(family, "as_of", "")),
        "relatives": relatives,
    }


async def refresh(
    engine: Any,
    registry: RegistryGateway | None,
    card: FamilyCardLookup | None,
    now: datetime,
) -> int:
    """Ask again for what open applications are still owed; returns how many changed.

    Registry calls run outside any transaction (they take time and may fail); each case's
    answer is then written in a short transaction of its own.
    """
    async with engine.connect() as conn:
        owed = await cases.waiting_cases(conn)
    changed = 0
    for row in owed:
        application = KandasApplicationIn.model_validate(row.family["application"])
        intake = None
        if row.family["intake"]["missing"]:
            try:
                intake = await intake_for(registry, application, now)
            except InvalidInput:
                intake = None  # a person unknown now: leave the facts for a person to see
        family_card = None
        if (row.family.get("family_card") or {}).get("status") != "fetched":
            family_card = await close_relatives(card, application.applicant_iin, now)
        async with engine.begin() as conn:
            changed += await cases.store_refreshed(conn, row.id, intake, family_card, now)
    return changed
