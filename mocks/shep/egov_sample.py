"""People of the synthetic population for the e-government demos (`gateway demo
e-application`, `employment-referral`, `proactive-assistance`).

Chosen from the three places whose offices the development gateway connects (Almaty,
Astana, Karaganda region): an applicant with a permanent address; a person the labour
market system's books hold as unemployed and one as a job seeker only; and a family,
poor by the pension fund's records, for the proactive check. Synthetic, never real.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from contracts.labour_market import RegistrationStatus
from mocks.labour_market.registrations import seed_registrations
from mocks.population import Person, Population
from mocks.shep.asp_registries import AspFacts

PLACES = ("г. Алматы", "г. Астана", "Карагандинская область")


def _entry(person: Person) -> dict[str, Any]:
    address = person.permanent_address
    assert address is not None
    return {
        "iin": person.iin,
        "surname": person.last_name,
        "name": person.first_name,
        "patronymic": person.middle_name,
        "region": address.region,
        "postal_address": ", ".join(
            p for p in (address.locality, address.street, address.house, address.flat) if p
        ),
    }


def egov_sample(population: Population) -> dict[str, Any]:
    books = seed_registrations(population)
    adults = [
        p
        for p in population.people
        if not p.deceased
        and p.permanent_address is not None
        and p.permanent_address.region in PLACES
        and p.role in ("father", "mother")
    ]
    unemployed = [
        p for p in adults if p.iin in books and books[p.iin].status is RegistrationStatus.unemployed
    ]
    seekers = [
        p for p in adults if p.iin in books and books[p.iin].status is RegistrationStatus.job_seeker
    ]
    facts = AspFacts(population)
    month = date(2026, 9, 1)
    families = []
    for family in population.families:
        head = family.members[0]
        if head.permanent_address is None or head.permanent_address.region not in PLACES:
            continue
        members = [m for m in family.members if not m.deceased]
        income = sum(facts.monthly_income(m.iin, month) for m in members)
        families.append((income / len(members), family.id, members))
    # The poorest family with three members or more that earns something: the check then
    # has income, children and assets to show.
    families.sort(key=lambda f: (len(f[2]) < 3, f[0] == 0, f[0], f[1]))
    sample: dict[str, Any] = {
        "places": list(PLACES),
        "applicant": _entry(adults[0]),
        "unemployed": [_entry(p) for p in unemployed[:3]],
        "job_seeker": _entry(seekers[0]) if seekers else None,
    }
    if families:
        _, family_id, members = families[0]
        sample["proactive_family"] = {
            "family": family_id,
            "region": members[0].permanent_address.region,  # type: ignore[union-attr]
            "applicant_iin": members[0].iin,
            "members": [m.iin for m in members],
        }
    return sample
