"""The synthetic population: deterministic, valid, and with its awkward cases."""

from __future__ import annotations

from contracts.iin import birth_date, check_iin, sex
from mocks.population import REFERENCE_DATE, generate_population


def test_the_same_seed_gives_the_same_people() -> None:
    assert generate_population(42).people == generate_population(42).people
    assert generate_population(42).people != generate_population(43).people


def test_every_iin_is_valid_unique_and_matches_the_person() -> None:
    population = generate_population(7, families=30)
    iins = [p.iin for p in population.people]
    assert len(iins) == len(set(iins))
    for person in population.people:
        check_iin(person.iin)
        assert birth_date(person.iin) == person.birth_date
        assert sex(person.iin) == person.sex


def test_families_share_a_home_and_a_surname_stem() -> None:
    population = generate_population(42)
    for family in population.families:
        homes = {m.permanent_address for m in family.members}
        assert len(homes) == 1
        stems = {m.last_name.removesuffix("а") for m in family.members}
        assert len(stems) == 1, family


def test_the_awkward_cases_are_there() -> None:
    population = generate_population(42)
    check_iin(population.absent_iin)
    assert population.find(population.absent_iin) is None

    deceased = population.find(population.deceased_iin)
    assert deceased is not None and deceased.deceased
    assert deceased.death_date is not None and deceased.death_date > deceased.birth_date

    student = population.find(population.temporary_iin)
    assert student is not None and student.temporary_address is not None
    assert student.temporary_address != student.permanent_address

    kandas = population.find(population.foreign_iin)
    assert kandas is not None
    assert kandas.citizenship_code != "KZ"
    assert kandas.document.type == "RESIDENCE_PERMIT"


def test_children_under_sixteen_have_birth_certificates() -> None:
    population = generate_population(42, families=30)
    for person in population.people:
        age = (REFERENCE_DATE - person.birth_date).days // 365
        if person.citizenship_code == "KZ" and age < 15:
            assert person.document.type == "BIRTH_CERTIFICATE"
        if age > 17:
            assert person.document.type != "BIRTH_CERTIFICATE"


def test_family_of_finds_the_family() -> None:
    population = generate_population(42)
    family = population.family_of(population.deceased_iin)
    assert family is not None
    assert population.deceased_iin in {m.iin for m in family.members}
    assert population.family_of(population.absent_iin) is None
