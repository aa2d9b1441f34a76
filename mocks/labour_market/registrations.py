"""Who the mock labour market system has on its books: drawn from the population, repeatably.

People of working age (16 to 62 on the population's reference day), alive and citizens,
are taken in the population's order and dealt round three ways: registered unemployed,
registered as a job seeker only, not registered. Dates come from a generator seeded by
the population's seed and the person's IIN, so a seed always gives the same books and
adding a person never moves anyone else's dates. Children, the deceased, people past
working age and the newly arrived kandas families (foreign citizens on residence
permits, with no history at a Kazakh employment office yet) are not registered.

A person registers as a job seeker first; an unemployed person was recognised as such
some days after registering (the status is what the "active employment measures"
service checks, seed 002).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from contracts.labour_market import RegistrationStatus
from mocks.population import REFERENCE_DATE, Person, Population
from mocks.regions import region_of_address

__all__ = ["WORKING_AGE", "Registration", "age_on", "seed_registrations"]

WORKING_AGE = (16, 62)
_DEAL = (RegistrationStatus.unemployed, RegistrationStatus.job_seeker, None)


@dataclass(frozen=True, slots=True)
class Registration:
    iin: str
    status: RegistrationStatus
    job_seeker_since: date
    unemployed_since: date | None
    career_centre: str | None


def age_on(person: Person, day: date) -> int:
    born = person.birth_date
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _of_working_age(person: Person) -> bool:
    low, high = WORKING_AGE
    return (
        not person.deceased
        and person.citizenship_code == "KZ"
        and low <= age_on(person, REFERENCE_DATE) <= high
    )


def _career_centre(person: Person) -> str | None:
    home = person.permanent_address or person.temporary_address
    found = region_of_address(home.region) if home is not None else None
    return found.career_centre if found is not None else None


def seed_registrations(population: Population) -> dict[str, Registration]:
    """The books at the start: IIN to registration, for the registered only."""
    books: dict[str, Registration] = {}
    eligible = [p for f in population.families for p in f.members if _of_working_age(p)]
    for index, person in enumerate(eligible):
        status = _DEAL[index % len(_DEAL)]
        if status is None:
            continue
        rng = random.Random(f"{population.seed}:{person.iin}")
        since = REFERENCE_DATE - timedelta(days=rng.randrange(20, 400))
        unemployed = (
            since + timedelta(days=rng.randrange(1, 10))
            if status is RegistrationStatus.unemployed
            else None
        )
        books[person.iin] = Registration(
            iin=person.iin,
            status=status,
            job_seeker_since=since,
            unemployed_since=unemployed,
            career_centre=_career_centre(person),
        )
    return books
