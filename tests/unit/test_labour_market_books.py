"""The mock labour market system's books, drawn from the population.

Deterministic per seed, all three outcomes present, and only people who could be on
an employment office's books: alive, of working age, not the newly arrived kandas.
"""

from __future__ import annotations

from collections import Counter

from contracts.labour_market import RegistrationStatus
from mocks.labour_market import WORKING_AGE, seed_registrations
from mocks.labour_market.registrations import age_on
from mocks.population import REFERENCE_DATE, generate_population


def test_the_same_seed_gives_the_same_books_and_another_seed_others() -> None:
    assert seed_registrations(generate_population(42)) == seed_registrations(
        generate_population(42)
    )
    assert seed_registrations(generate_population(42)) != seed_registrations(generate_population(7))


def test_some_unemployed_some_job_seekers_some_not_registered() -> None:
    population = generate_population(42)
    books = seed_registrations(population)
    counts = Counter(r.status for r in books.values())
    assert counts[RegistrationStatus.unemployed] >= 3
    assert counts[RegistrationStatus.job_seeker] >= 3
    assert len(books) < len(population.people)
    for entry in books.values():
        assert entry.job_seeker_since < REFERENCE_DATE
        if entry.status is RegistrationStatus.unemployed:
            assert entry.unemployed_since is not None
            assert entry.job_seeker_since < entry.unemployed_since
        else:
            assert entry.unemployed_since is None
        assert entry.career_centre is not None and entry.career_centre.startswith("cc_")


def test_only_people_who_could_be_on_the_books() -> None:
    population = generate_population(42)
    books = seed_registrations(population)
    low, high = WORKING_AGE
    for iin in books:
        person = population.find(iin)
        assert person is not None and not person.deceased
        assert low <= age_on(person, REFERENCE_DATE) <= high
    kandas = population.family_of(population.foreign_iin)
    newcomers = population.family_of(population.kandas_without_registration_iin)
    assert kandas is not None and newcomers is not None
    for person in (*kandas.members, *newcomers.members, population.find(population.deceased_iin)):
        assert person is not None and person.iin not in books
