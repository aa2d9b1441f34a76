"""The mock digital family card (ЦКС): the status-change feed and the family lookup.

Answers from the shared synthetic population (`mocks/population.py`), so a family the
individuals database and the civil registry know has the same IINs here, and its
history (`history.py`) agrees with their records. The card answers only with what it
has recorded by its own clock (the admin API's ``/__admin/clock``), so "it is now the
end of the quarter" is one call away. Faults, journal and reset come from `mocks.admin`.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import FastAPI, Request

from contracts.clock import to_almaty
from contracts.family_card import (
    FAMILY_LOOKUP_PATH,
    STATUS_CHANGES_PATH,
    CardFamily,
    CardMember,
    FamilyChanges,
    FamilyLookup,
    Relation,
    StatusChangeFeed,
    StatusChangeQuery,
)
from contracts.family_card.adaptation import ADAPTATION_REPORTS_PATH, AdaptationReportIn
from mocks.admin import MockAdmin, install_admin
from mocks.family_card.history import CardHistory
from mocks.population import Family, Person, Population
from mocks.rest_app import IdempotentState, Refused, idempotent, install_problem_handlers

__all__ = ["create_app", "relation_between"]

# Relation of `other` to `asker`, by their roles in the population's family.
_RELATIONS: dict[tuple[str, str], Relation] = {
    ("father", "mother"): Relation.spouse,
    ("mother", "father"): Relation.spouse,
    ("father", "child"): Relation.child,
    ("mother", "child"): Relation.child,
    ("child", "father"): Relation.parent,
    ("child", "mother"): Relation.parent,
    ("child", "child"): Relation.sibling,
    ("child", "grandmother"): Relation.grandparent,
    ("father", "grandmother"): Relation.parent,  # the father's own mother
    ("grandmother", "father"): Relation.child,
    ("grandmother", "child"): Relation.grandchild,
    ("guardian", "mother"): Relation.child,  # the ward's late mother is her daughter
    ("guardian", "ward"): Relation.ward,
    ("mother", "guardian"): Relation.parent,
    ("mother", "ward"): Relation.child,
    ("ward", "guardian"): Relation.guardian,
    ("ward", "mother"): Relation.parent,
}


def relation_between(asker: Person, other: Person) -> Relation:
    if asker.iin == other.iin:
        return Relation.self
    return _RELATIONS.get((asker.role, other.role), Relation.other)


def _member(asker: Person, person: Person) -> CardMember:
    return CardMember(
        iin=person.iin,
        last_name=person.last_name,
        first_name=person.first_name,
        middle_name=person.middle_name,
        birth_date=person.birth_date,
        relation=relation_between(asker, person),
        deceased_on=person.death_date,
    )


def create_app(population: Population, admin: MockAdmin | None = None) -> FastAPI:
    """The mock card for ``population``; ``admin`` gives faults, journal and the clock."""
    admin = admin or MockAdmin()
    history = CardHistory(population, population.seed)
    app = FastAPI(title="Mock digital family card (ЦКС)")
    app.state.admin = admin
    app.state.history = history
    install_problem_handlers(app)

    def today() -> date:
        return to_almaty(admin.clock.now()).date()

    @app.post(STATUS_CHANGES_PATH, response_model=StatusChangeFeed, name="status-changes.query")
    async def status_changes(query: StatusChangeQuery) -> StatusChangeFeed:
        now = admin.clock.now()
        until = min(query.period_to, today())
        by_family: dict[str, list[str]] = {}
        unknown: list[str] = []
        for iin in query.iins:
            family = population.family_of(iin)
            if family is None:
                unknown.append(iin)
            else:
                by_family.setdefault(family.id, []).append(iin)
        families = []
        for family_id, iins in by_family.items():
            changes = [
                c
                for c in history.changes(history.family(family_id), until)
                if c.effective_on >= query.period_from and c.recorded_at <= now
            ]
            families.append(FamilyChanges(family_id=family_id, iins=iins, changes=changes))
        return StatusChangeFeed(
            period_from=query.period_from,
            period_to=query.period_to,
            as_of=to_almaty(now),
            families=families,
            unknown_iins=unknown,
        )

    @app.post(FAMILY_LOOKUP_PATH, response_model=CardFamily, name="families.lookup")
    async def lookup(body: FamilyLookup) -> CardFamily:
        family: Family | None = population.family_of(body.iin)
        asker = population.find(body.iin)
        if family is None or asker is None:
            raise Refused(
                404, "Not found", [{"field": "iin", "reason": "no family in the card for it"}]
            )
        now = admin.clock.now()
        standing = history.standing(family, today(), now)
        return CardFamily(
            family_id=family.id,
            iin=body.iin,
            as_of=to_almaty(now),
            members=[_member(asker, m) for m in family.members],
            statuses=standing.current(),
        )

    reports = IdempotentState()
    recorded: list[dict[str, Any]] = []
    app.state.adaptation_reports = recorded

    @app.post(ADAPTATION_REPORTS_PATH, status_code=201, name="adaptation-reports.create")
    async def adaptation_report(body: AdaptationReportIn, request: Request) -> Any:
        """Order 170 p.37: the card shows each adaptation service done for the family."""

        async def make() -> Any:
            family = population.family_of(body.member_iin)
            if family is None:
                raise Refused(
                    422,
                    "Invalid input",
                    [{"field": "member_iin", "reason": "no family in the card for it"}],
                )
            entry = {
                "id": str(uuid.uuid4()),
                "family_id": family.id,
                "recorded_at": to_almaty(admin.clock.now()).isoformat(),
                "report": body.model_dump(mode="json"),
            }
            recorded.append(entry)
            return {k: entry[k] for k in ("id", "family_id", "recorded_at")}

        return await idempotent(reports, request, "adaptation-reports.create", 201, make)

    install_admin(app, admin, middleware=True)
    return app
