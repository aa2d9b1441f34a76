"""What the mock card knows about each family: a status history drawn from the seed.

Two kinds of change, both deterministic from the population's seed:

- **Registry facts** (``composition``): births, deaths, marriages, divorces and
  guardianships, taken from the population's civil-registry and guardianship records,
  with the records' own dates, so the card never tells a story the registries deny.
  Adoptions appear only as the re-issued birth record naming the adopters (the secrecy
  of adoption: the card has no business revealing it).
- **Social status** (ТЖС, low income, targeted assistance, employment, housing): a
  starting standing on the population's reference day, then month by month a draw from
  ``Random(f"{seed}:{family}:{month}")`` whether one fact changes, on which day, and to
  what. Each change starts from the standing the previous one left (``from_status`` is
  the last ``to_status``), and only a living working-age member can find or lose work.
  The kandas family without permanent registration keeps its place at the adaptation
  centre: the migration police register says so, and the card agrees.

Nothing reads the wall clock here: the caller passes the day up to which history is
wanted, and the app filters by the moment each change was recorded against its own
(admin-settable) clock.
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from contracts.clock import ALMATY
from contracts.family_card import CurrentStatus, Direction, StatusChange, StatusFact
from mocks.population import REFERENCE_DATE, Family, Person, Population

__all__ = [
    "HISTORY_STARTS",
    "CardHistory",
    "FamilyStanding",
]

#: The social-status history starts on the population's reference day.
HISTORY_STARTS = REFERENCE_DATE
#: One month in this many brings a change of social status, on average.
CHANGE_EVERY_MONTHS = 3
WORKING_AGE = (18, 63)

IN_TZHS, OUT_TZHS = "в трудной жизненной ситуации", "не в трудной жизненной ситуации"
LOW, NOT_LOW = "малообеспеченная", "доход выше черты бедности"
ASP, NO_ASP = "получает АСП", "не получает АСП"
WORKS, NO_WORK = "работает", "не работает"
OWN, RENT, HOMELESS = "собственное жильё", "аренда жилья", "без жилья"
ADAPTATION_CENTRE = "центр адаптации кандасов"
#: Housing only gets better here: from none to rented, from rented to one's own.
HOUSING_STEPS = {HOMELESS: RENT, RENT: OWN}

SOCIAL_PROTECTION = "Отдел занятости и социальных программ"
EMPLOYMENT_CENTRE = "Центр занятости населения"
HOUSING = "Отдел жилищных отношений"
CIVIL_REGISTRY = "ЗАГС"
GUARDIANSHIP = "Орган опеки и попечительства"


#: fact, member (None: the whole family), new status, direction, reporting body.
Option = tuple[StatusFact, str | None, str, Direction, str]


def _at(day: date, minutes: int) -> datetime:
    return datetime.combine(day, time(9, 0), ALMATY) + timedelta(minutes=minutes)


def _age(person: Person, on: date) -> int:
    years = on.year - person.birth_date.year
    return years - ((on.month, on.day) < (person.birth_date.month, person.birth_date.day))


def _alive(person: Person, on: date) -> bool:
    return person.death_date is None or person.death_date > on


def _months(first: date, last: date) -> Iterator[tuple[int, int]]:
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


@dataclass
class FamilyStanding:
    """The family's status on each fact, keyed by (fact, member IIN or None)."""

    values: dict[tuple[StatusFact, str | None], str] = field(default_factory=dict)
    since: dict[tuple[StatusFact, str | None], date] = field(default_factory=dict)

    def current(self) -> list[CurrentStatus]:
        ordered = sorted(self.values.items(), key=lambda item: (item[0][0], item[0][1] or ""))
        return [
            CurrentStatus(
                fact=fact, member_iin=iin, status=status, since=self.since.get((fact, iin))
            )
            for (fact, iin), status in ordered
        ]


class CardHistory:
    """Status changes of the population's families; see the module docstring."""

    def __init__(self, population: Population, seed: int) -> None:
        self.population = population
        self.seed = seed
        self._fixed_housing = {
            f.id
            for f in population.families
            if any(m.iin == population.kandas_without_registration_iin for m in f.members)
        }

    def family(self, family_id: str) -> Family:
        return next(f for f in self.population.families if f.id == family_id)

    def changes(self, family: Family, until: date) -> list[StatusChange]:
        """Every change with an effective day up to ``until``, in order."""
        found = self._registry_changes(family, until)
        found += self._social_changes(family, until)
        return sorted(found, key=lambda c: (c.effective_on, c.recorded_at, c.id))

    def standing(self, family: Family, until: date, recorded_by: datetime) -> FamilyStanding:
        """The standing after every social change effective by ``until`` and recorded by
        ``recorded_by``: what the card shows for the family at that moment."""
        standing = FamilyStanding(values=self._initial(family))
        for change in self._social_changes(family, until):
            if change.recorded_at <= recorded_by:
                key = (change.fact, change.member_iin)
                standing.values[key] = change.to_status
                standing.since[key] = change.effective_on
        return standing

    # --- registry facts ------------------------------------------------------------------

    def _registry_changes(self, family: Family, until: date) -> list[StatusChange]:
        members = {m.iin for m in family.members}
        p = self.population
        out: list[StatusChange] = []

        def add(
            kind: str,
            member: str,
            to: str,
            direction: Direction,
            on: date,
            recorded: date,
            by: str,
            number: str,
        ) -> None:
            if on <= until:
                out.append(
                    StatusChange(
                        id=f"{family.id}-{kind}-{number}",
                        family_id=family.id,
                        fact=StatusFact.composition,
                        member_iin=member,
                        to_status=to,
                        direction=direction,
                        effective_on=on,
                        recorded_at=_at(recorded, 60),
                        reported_by=by,
                    )
                )

        for birth in p.births:
            if birth.child_iin in members:
                person = p.find(birth.child_iin)
                assert person is not None
                add(
                    "birth",
                    birth.child_iin,
                    "рождение ребёнка",
                    Direction.unchanged,
                    person.birth_date,
                    birth.registered,
                    CIVIL_REGISTRY,
                    birth.number,
                )
        for death in p.deaths:
            if death.iin in members:
                add(
                    "death",
                    death.iin,
                    "смерть члена семьи",
                    Direction.worsened,
                    death.death_date,
                    death.registered,
                    CIVIL_REGISTRY,
                    death.number,
                )
        for marriage in p.marriages:
            spouses = [i for i in (marriage.husband_iin, marriage.wife_iin) if i in members]
            if not spouses:
                continue
            both_here = len(spouses) == 2
            if both_here or marriage.dissolved is None:
                add(
                    "marriage",
                    spouses[0],
                    "регистрация брака",
                    Direction.unchanged,
                    marriage.registered,
                    marriage.registered,
                    CIVIL_REGISTRY,
                    marriage.number,
                )
            if marriage.dissolved is not None:
                add(
                    "divorce",
                    spouses[0],
                    "расторжение брака",
                    Direction.worsened,
                    marriage.dissolved,
                    marriage.dissolved,
                    CIVIL_REGISTRY,
                    marriage.number,
                )
        for decision in p.guardianships:
            if decision.child_iin in members:
                to = (
                    "установлена опека"
                    if decision.kind == "GUARDIANSHIP"
                    else "установлено попечительство"
                )
                add(
                    "guardianship",
                    decision.child_iin,
                    to,
                    Direction.improved,
                    decision.decided,
                    decision.decided,
                    GUARDIANSHIP,
                    decision.number,
                )
        return out

    # --- social status ---------------------------------------------------------------------

    def _workers(self, family: Family) -> list[Person]:
        low, high = WORKING_AGE
        return [
            m
            for m in family.members
            if _alive(m, HISTORY_STARTS) and low <= _age(m, HISTORY_STARTS) < high
        ]

    def _initial(self, family: Family) -> dict[tuple[StatusFact, str | None], str]:
        rng = random.Random(f"{self.seed}:{family.id}:start")
        low_income = rng.random() < 0.5
        values: dict[tuple[StatusFact, str | None], str] = {
            (StatusFact.difficult_situation, None): IN_TZHS if rng.random() < 0.6 else OUT_TZHS,
            (StatusFact.low_income, None): LOW if low_income else NOT_LOW,
            (StatusFact.targeted_assistance, None): ASP
            if low_income and rng.random() < 0.7
            else NO_ASP,
        }
        if family.id in self._fixed_housing:
            values[(StatusFact.housing, None)] = ADAPTATION_CENTRE
        else:
            draw = rng.random()
            values[(StatusFact.housing, None)] = (
                OWN if draw < 0.6 else RENT if draw < 0.9 else HOMELESS
            )
        for worker in self._workers(family):
            values[(StatusFact.employment, worker.iin)] = WORKS if rng.random() < 0.6 else NO_WORK
        return values

    def _social_changes(self, family: Family, until: date) -> list[StatusChange]:
        state = self._initial(family)
        out: list[StatusChange] = []
        for year, month in _months(HISTORY_STARTS, until):
            rng = random.Random(f"{self.seed}:{family.id}:{year:04d}-{month:02d}")
            if rng.randrange(CHANGE_EVERY_MONTHS) != 0:
                continue
            day = date(year, month, rng.randrange(1, calendar.monthrange(year, month)[1] + 1))
            options = self._options(family, state, day)
            if not options or day > until:
                continue
            fact, member, to, direction, by = options[rng.randrange(len(options))]
            key = (fact, member)
            out.append(
                StatusChange(
                    id=f"{family.id}-{year:04d}{month:02d}",
                    family_id=family.id,
                    fact=fact,
                    member_iin=member,
                    from_status=state[key],
                    to_status=to,
                    direction=direction,
                    effective_on=day,
                    recorded_at=_at(day + timedelta(days=rng.randrange(0, 4)), rng.randrange(480)),
                    reported_by=by,
                )
            )
            state[key] = to
        return out

    def _options(
        self, family: Family, state: dict[tuple[StatusFact, str | None], str], day: date
    ) -> list[Option]:
        """The changes that make sense from ``state`` on ``day``."""
        F, D = StatusFact, Direction
        options: list[Option] = []

        def flip(fact: StatusFact, member: str | None, good: str, bad: str, by: str) -> None:
            if state[(fact, member)] == good:
                options.append((fact, member, bad, D.worsened, by))
            else:
                options.append((fact, member, good, D.improved, by))

        flip(F.difficult_situation, None, OUT_TZHS, IN_TZHS, SOCIAL_PROTECTION)
        flip(F.low_income, None, NOT_LOW, LOW, SOCIAL_PROTECTION)
        # Assistance follows income: assigned to a low-income family, ended above the line.
        low = state[(F.low_income, None)] == LOW
        assisted = state[(F.targeted_assistance, None)] == ASP
        if low != assisted:
            to = ASP if low else NO_ASP
            options.append((F.targeted_assistance, None, to, D.unchanged, SOCIAL_PROTECTION))
        housing = state[(F.housing, None)]
        if housing in HOUSING_STEPS:
            options.append((F.housing, None, HOUSING_STEPS[housing], D.improved, HOUSING))
        for worker in self._workers(family):
            if _alive(worker, day) and _age(worker, day) < WORKING_AGE[1]:
                flip(F.employment, worker.iin, WORKS, NO_WORK, EMPLOYMENT_CENTRE)
        return options
