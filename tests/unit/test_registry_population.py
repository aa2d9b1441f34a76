"""The registries' facts about the synthetic people agree with the people themselves."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from mocks.population import BIRTH_RECORDS_FROM, REFERENCE_DATE, Population, generate_population

SEEDS = range(0, 40, 3)


def age_at(population: Population, iin: str, when: date) -> int:
    person = population.find(iin)
    assert person is not None, iin
    return int((when - person.birth_date).days // 365)


def test_the_same_seed_gives_the_same_facts() -> None:
    a, b = generate_population(42), generate_population(42)
    assert (a.births, a.marriages, a.deaths, a.guardianships, a.adoptions) == (
        b.births,
        b.marriages,
        b.deaths,
        b.guardianships,
        b.adoptions,
    )
    assert generate_population(43).births != a.births


@pytest.mark.parametrize("seed", SEEDS)
def test_every_record_names_people_the_individuals_database_knows(seed: int) -> None:
    population = generate_population(seed)
    for birth in population.births:
        assert population.find(birth.child_iin) is not None
        for parent in (birth.mother_iin, birth.father_iin):
            assert parent is None or population.find(parent) is not None
        assert birth.registered >= population.find(birth.child_iin).birth_date  # type: ignore[union-attr]
    for marriage in population.marriages:
        husband, wife = population.find(marriage.husband_iin), population.find(marriage.wife_iin)
        assert husband is not None and husband.sex == "male"
        assert wife is not None and wife.sex == "female"
        assert age_at(population, husband.iin, marriage.registered) >= 18
        assert age_at(population, wife.iin, marriage.registered) >= 18
        assert marriage.dissolved is None or marriage.dissolved > marriage.registered
    for decision in population.guardianships:
        assert population.find(decision.guardian_iin) is not None
        assert age_at(population, decision.child_iin, decision.decided) < 18
    for adoption in population.adoptions:
        assert all(population.find(i) is not None for i in adoption.adoptive_parent_iins)
    numbers = [r.number for r in population.births] + [r.number for r in population.marriages]
    assert len(set(numbers)) == len(population.births) + len(population.marriages)


@pytest.mark.parametrize("seed", SEEDS)
def test_births_registered_after_the_cutoff_have_a_record_with_both_parents(seed: int) -> None:
    population = generate_population(seed)
    for family in population.families:
        parents = {m.role: m.iin for m in family.members if m.role in ("father", "mother")}
        if len(parents) < 2 or family.members[0].citizenship_code != "KZ":
            continue
        for child in (m for m in family.members if m.role == "child"):
            record = population.birth_of_child(child.iin)
            if child.birth_date >= BIRTH_RECORDS_FROM:
                assert record is not None, child
            if record is not None:
                assert (record.mother_iin, record.father_iin) == (
                    parents["mother"],
                    parents["father"],
                )


def test_older_births_may_have_no_record() -> None:
    population = generate_population(42)
    student = population.find(population.unrecorded_birth_iin)
    assert student is not None and student.birth_date < BIRTH_RECORDS_FROM
    assert population.birth_of_child(student.iin) is None


def test_kandas_born_and_married_abroad_have_no_rk_records() -> None:
    population = generate_population(42)
    for iin in (population.foreign_iin, population.kandas_without_registration_iin):
        family = population.family_of(iin)
        assert family is not None
        for member in family.members:
            assert population.birth_of_child(member.iin) is None
            assert population.marriages_of(member.iin) == ()


def test_a_single_mothers_child_has_no_father_on_record() -> None:
    population = generate_population(42)
    record = population.birth_of_child(population.fatherless_child_iin)
    assert record is not None and record.father_iin is None
    assert record.mother_iin is not None
    assert population.family_of(record.mother_iin) == population.family_of(
        population.fatherless_child_iin
    )


def test_the_remarried_man_divorced_first() -> None:
    population = generate_population(42)
    first, second = sorted(
        population.marriages_of(population.remarried_iin), key=lambda m: m.registered
    )
    assert first.dissolved is not None and second.dissolved is None
    assert second.registered > first.dissolved
    # The ex-wife is the single mother; the current wife lives with him.
    fatherless = population.birth_of_child(population.fatherless_child_iin)
    assert fatherless is not None and fatherless.mother_iin == first.wife_iin
    household = population.family_of(population.remarried_iin)
    assert household is not None and second.wife_iin in {m.iin for m in household.members}


def test_every_deceased_person_has_one_death_record_and_nobody_else() -> None:
    population = generate_population(42)
    for person in population.people:
        record = population.death_of(person.iin)
        if person.deceased:
            assert record is not None and record.death_date == person.death_date
        else:
            assert record is None
    assert population.death_of(population.deceased_iin) is not None


def test_the_guarded_child_has_a_living_guardian_and_a_deceased_mother() -> None:
    population = generate_population(42)
    (decision,) = population.guardianships_of_child(population.guarded_child_iin)
    guardian = population.find(decision.guardian_iin)
    assert guardian is not None and not guardian.deceased
    assert population.guardianships_by_guardian(guardian.iin) == (decision,)
    child = population.find(population.guarded_child_iin)
    assert child is not None
    assert decision.kind == (
        "GUARDIANSHIP" if age_at(population, child.iin, decision.decided) < 14 else "TRUSTEESHIP"
    )
    assert decision.valid_until.year == child.birth_date.year + 18
    birth = population.birth_of_child(child.iin)
    assert birth is not None and birth.mother_iin is not None
    mother = population.find(birth.mother_iin)
    assert mother is not None and mother.deceased and mother.death_date < decision.decided  # type: ignore[operator]


def test_the_adopted_child_was_adopted_by_the_married_couple_named_on_her_record() -> None:
    population = generate_population(42)
    (adoption,) = population.adoptions_of_child(population.adopted_child_iin)
    father, mother = adoption.adoptive_parent_iins
    assert any(m.wife_iin == mother for m in population.marriages_of(father))
    record = population.birth_of_child(population.adopted_child_iin)
    assert record is not None and (record.father_iin, record.mother_iin) == (father, mother)
    assert adoption.in_force > adoption.decided
    assert population.adoptions_of_child(population.fatherless_child_iin) == ()


def test_registrations_agree_with_the_individuals_database() -> None:
    population = generate_population(42)
    student = population.registrations_of(population.temporary_iin)
    assert [r.kind for r in student] == ["PERMANENT", "TEMPORARY"]
    kandas = population.family_of(population.kandas_without_registration_iin)
    assert kandas is not None
    for member in kandas.members:
        (only,) = population.registrations_of(member.iin)
        assert only.kind == "TEMPORARY" and member.permanent_address is None
        assert only.address.registered_until is not None
        assert only.address.registered_until - only.address.registered_from <= timedelta(days=366)
        assert only.address.registered_from <= REFERENCE_DATE
    assert population.registrations_of(population.absent_iin) == ()
    (settled,) = population.registrations_of(population.foreign_iin)
    assert settled.kind == "PERMANENT"
