"""A deterministic synthetic population for the mock registries.

Every mock registry answers from the same people, so a developer who finds a family in
the individuals database finds the same IINs at the civil registry or the migration
police. The same seed always gives the same people (tests and demos can name them);
nothing here reads the clock or the environment. The awkward cases a real registry
produces are always present and easy to reach: a valid IIN nobody holds, a deceased
family member, a temporary registration away from home, a kandas on a residence permit.

Beside the people, the population keeps the facts the other registries hold about them
(order 170 p.6: civil registry, guardianship, adoption; p.45: residence registration),
drawn from the same people so that every registry tells the same story: a birth
record names parents the individuals database knows, a guardian exists, an adoptive
parent is married to the other one. Facts are drawn after the people, so adding a kind
of fact never changes anyone's IIN.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Literal

from contracts.iin import Sex, next_valid_iin

__all__ = [
    "BIRTH_RECORDS_FROM",
    "Address",
    "AdoptionDecision",
    "BirthRecord",
    "DeathRecord",
    "DocumentType",
    "Family",
    "GuardianshipDecision",
    "GuardianshipKind",
    "IdentityDocument",
    "MarriageRecord",
    "Person",
    "Population",
    "RegistrationKind",
    "ResidenceRegistration",
    "generate_population",
]

DocumentType = Literal["ID_CARD", "PASSPORT", "BIRTH_CERTIFICATE", "RESIDENCE_PERMIT"]
GuardianshipKind = Literal["GUARDIANSHIP", "TRUSTEESHIP"]
RegistrationKind = Literal["PERMANENT", "TEMPORARY"]

# The civil registry's electronic records of births start here (DOMAIN.md: registrations
# in RK after 13 August 2007); older births may or may not have been digitised.
BIRTH_RECORDS_FROM = date(2007, 8, 13)

# Ages and document dates are computed against this day, not today, so a seed gives
# the same people next year too.
REFERENCE_DATE = date(2025, 1, 1)


@dataclass(frozen=True, slots=True)
class Address:
    region: str
    locality: str
    street: str
    house: str
    flat: str | None
    registered_from: date
    registered_until: date | None = None


@dataclass(frozen=True, slots=True)
class IdentityDocument:
    type: DocumentType
    number: str
    issued: date
    issuer: str


@dataclass(frozen=True, slots=True)
class Person:
    iin: str
    last_name: str
    first_name: str
    middle_name: str | None
    birth_date: date
    sex: Sex
    citizenship_code: str
    citizenship_name: str
    document: IdentityDocument
    permanent_address: Address | None
    """None for a newcomer who has no permanent registration yet (order 170 p.31)."""
    family_id: str
    role: str
    temporary_address: Address | None = None
    death_date: date | None = None

    @property
    def deceased(self) -> bool:
        return self.death_date is not None


@dataclass(frozen=True, slots=True)
class Family:
    id: str
    members: tuple[Person, ...]


@dataclass(frozen=True, slots=True)
class BirthRecord:
    """A civil registry birth record (актовая запись о рождении); parents by IIN."""

    number: str
    registered: date
    office: str
    child_iin: str
    mother_iin: str | None
    father_iin: str | None
    """None when the father is not entered (a single mother's child)."""


@dataclass(frozen=True, slots=True)
class MarriageRecord:
    number: str
    registered: date
    office: str
    husband_iin: str
    wife_iin: str
    dissolved: date | None = None


@dataclass(frozen=True, slots=True)
class DeathRecord:
    number: str
    registered: date
    office: str
    iin: str
    death_date: date


@dataclass(frozen=True, slots=True)
class GuardianshipDecision:
    """Опека under 14, попечительство from 14 to 18 (the Code on marriage and family)."""

    number: str
    decided: date
    authority: str
    kind: GuardianshipKind
    child_iin: str
    guardian_iin: str
    valid_until: date


@dataclass(frozen=True, slots=True)
class AdoptionDecision:
    case_number: str
    court: str
    decided: date
    in_force: date
    child_iin: str
    adoptive_parent_iins: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ResidenceRegistration:
    """What the migration police hold: one registration, permanent or temporary."""

    iin: str
    kind: RegistrationKind
    address: Address


@dataclass(frozen=True, slots=True)
class Population:
    """The people of one seed, with the awkward cases named for tests and demos."""

    seed: int
    families: tuple[Family, ...]
    absent_iin: str
    deceased_iin: str
    temporary_iin: str
    foreign_iin: str
    guarded_child_iin: str
    adopted_child_iin: str
    fatherless_child_iin: str
    """A single mother's child: the birth record has no father."""
    remarried_iin: str
    """A man with a dissolved marriage and a current one."""
    unrecorded_birth_iin: str
    """Born before the electronic birth records began, and not digitised."""
    kandas_without_registration_iin: str
    """A kandas registered only temporarily, at an adaptation centre (order 170 p.31)."""
    births: tuple[BirthRecord, ...] = ()
    marriages: tuple[MarriageRecord, ...] = ()
    deaths: tuple[DeathRecord, ...] = ()
    guardianships: tuple[GuardianshipDecision, ...] = ()
    adoptions: tuple[AdoptionDecision, ...] = ()
    _by_iin: dict[str, Person] = field(repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        for family in self.families:
            for person in family.members:
                self._by_iin[person.iin] = person

    @property
    def people(self) -> tuple[Person, ...]:
        return tuple(self._by_iin.values())

    def find(self, iin: str) -> Person | None:
        return self._by_iin.get(iin)

    def family_of(self, iin: str) -> Family | None:
        person = self.find(iin)
        if person is None:
            return None
        return next(f for f in self.families if f.id == person.family_id)

    # What each registry answers. A few dozen people: a scan is quicker to read than an index.

    def birth_of_child(self, iin: str) -> BirthRecord | None:
        return next((r for r in self.births if r.child_iin == iin), None)

    def births_by_parent(self, iin: str) -> tuple[BirthRecord, ...]:
        return tuple(r for r in self.births if iin in (r.mother_iin, r.father_iin))

    def marriages_of(self, iin: str) -> tuple[MarriageRecord, ...]:
        return tuple(r for r in self.marriages if iin in (r.husband_iin, r.wife_iin))

    def death_of(self, iin: str) -> DeathRecord | None:
        return next((r for r in self.deaths if r.iin == iin), None)

    def guardianships_of_child(self, iin: str) -> tuple[GuardianshipDecision, ...]:
        return tuple(d for d in self.guardianships if d.child_iin == iin)

    def guardianships_by_guardian(self, iin: str) -> tuple[GuardianshipDecision, ...]:
        return tuple(d for d in self.guardianships if d.guardian_iin == iin)

    def adoptions_of_child(self, iin: str) -> tuple[AdoptionDecision, ...]:
        return tuple(d for d in self.adoptions if d.child_iin == iin)

    def registrations_of(self, iin: str) -> tuple[ResidenceRegistration, ...]:
        """Derived from the person, so the migration police and ГБД ФЛ cannot disagree."""
        person = self.find(iin)
        if person is None:
            return ()
        found: list[ResidenceRegistration] = []
        if person.permanent_address is not None:
            found.append(ResidenceRegistration(iin, "PERMANENT", person.permanent_address))
        if person.temporary_address is not None:
            found.append(ResidenceRegistration(iin, "TEMPORARY", person.temporary_address))
        return tuple(found)


# Names: (first name, patronymic stem for a child of a man with this name).
_KAZAKH_MEN = (
    "Ерлан",
    "Нурлан",
    "Асхат",
    "Бауыржан",
    "Даурен",
    "Ержан",
    "Серик",
    "Арман",
    "Алибек",
    "Тимур",
    "Мирас",
    "Санжар",
)
_KAZAKH_WOMEN = (
    "Айгуль",
    "Динара",
    "Жанар",
    "Гульнара",
    "Сауле",
    "Асель",
    "Камила",
    "Аружан",
    "Айым",
    "Томирис",
    "Мадина",
    "Салтанат",
)
_KAZAKH_SURNAMES = (
    "Ахметов",
    "Сеитов",
    "Жумабаев",
    "Касымов",
    "Нурланов",
    "Абенов",
    "Тулегенов",
    "Омаров",
    "Искаков",
    "Бекмуханов",
)
_RUSSIAN_MEN = ("Алексей", "Сергей", "Андрей", "Дмитрий", "Иван", "Максим", "Павел", "Николай")
_RUSSIAN_WOMEN = ("Елена", "Ольга", "Наталья", "Татьяна", "Анна", "Мария", "Ирина", "Светлана")
_RUSSIAN_SURNAMES = (
    "Иванов",
    "Петров",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Волков",
    "Морозов",
    "Лебедев",
)

# Region, locality, streets. Regional centres and the three cities of republican status.
_PLACES = (
    ("г. Алматы", "Алматы", ("пр. Абая", "ул. Толе би", "мкр. Самал-2", "ул. Жибек жолы")),
    ("г. Астана", "Астана", ("пр. Республики", "ул. Кенесары", "пр. Туран", "ул. Сарайшык")),
    ("г. Шымкент", "Шымкент", ("пр. Тауке хана", "ул. Байтурсынова", "мкр. Нурсат")),
    ("Карагандинская область", "Караганда", ("пр. Бухар жырау", "ул. Ерубаева")),
    ("Павлодарская область", "Павлодар", ("ул. Торайгырова", "ул. Ломова")),
    ("Актюбинская область", "Актобе", ("пр. Абилкайыр хана", "ул. Маресьева")),
    ("Туркестанская область", "Туркестан", ("ул. Тауке хана", "ул. Есим хана")),
    ("Восточно-Казахстанская область", "Усть-Каменогорск", ("ул. Казахстан", "пр. Независимости")),
)
_ISSUERS = ("МВД РК", "МЮ РК")
# Russian patronymics that do not follow "name + ович".
_RUSSIAN_STEMS = {
    "Алексей": "Алексее",
    "Сергей": "Сергее",
    "Андрей": "Андрее",
    "Дмитрий": "Дмитрие",
    "Николай": "Николае",
    "Павел": "Павло",
}


def _patronymic(father_first: str, sex: Sex, kazakh: bool) -> str:
    if kazakh:
        return father_first + ("ұлы" if sex == "male" else "қызы")
    stem = _RUSSIAN_STEMS.get(father_first, father_first + "о")
    return stem + ("вич" if sex == "male" else "вна")


def _surname(base: str, sex: Sex) -> str:
    return base if sex == "male" else base + "а"


class _Builder:
    """Draws people from one Random; the only place with state, kept out of the API."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.used_iins: set[str] = set()
        self.doc_numbers: set[str] = set()

    def iin(self, born: date, sex: Sex) -> str:
        while True:
            candidate = next_valid_iin(born, sex, self.rng.randrange(0, 9_000))
            if candidate not in self.used_iins:
                self.used_iins.add(candidate)
                return candidate

    def birth_date(self, age_from: int, age_to: int) -> date:
        days = self.rng.randrange(age_from * 365, age_to * 365)
        return REFERENCE_DATE - timedelta(days=days)

    def document(self, born: date, foreign: bool) -> IdentityDocument:
        age = (REFERENCE_DATE - born).days // 365
        while True:
            number = f"{self.rng.randrange(10**8, 10**9)}"
            if number not in self.doc_numbers:
                self.doc_numbers.add(number)
                break
        if foreign:
            issued = REFERENCE_DATE - timedelta(days=self.rng.randrange(30, 700))
            return IdentityDocument("RESIDENCE_PERMIT", "F" + number[1:], issued, "МВД РК")
        if age < 16:
            return IdentityDocument(
                "BIRTH_CERTIFICATE", "№" + number[:7], born + timedelta(days=10), "ЗАГС"
            )
        # An ID card is valid ten years: reissued at some point in the last ten.
        issued = max(
            born + timedelta(days=16 * 365 + 30),
            REFERENCE_DATE - timedelta(days=self.rng.randrange(30, 3650)),
        )
        kind: DocumentType = "PASSPORT" if self.rng.random() < 0.15 else "ID_CARD"
        prefix = "N" if kind == "PASSPORT" else ""
        return IdentityDocument(kind, prefix + number, issued, self.rng.choice(_ISSUERS))

    def address(self, registered_from: date) -> Address:
        region, locality, streets = self.rng.choice(_PLACES)
        flat = str(self.rng.randrange(1, 180)) if self.rng.random() < 0.7 else None
        return Address(
            region=region,
            locality=locality,
            street=self.rng.choice(streets),
            house=str(self.rng.randrange(1, 200)),
            flat=flat,
            registered_from=registered_from,
        )

    def family(self, index: int, *, foreign: bool = False) -> Family:
        rng = self.rng
        family_id = f"F{index:04d}"
        kazakh = foreign or rng.random() < 0.7
        men, women, surnames = (
            (_KAZAKH_MEN, _KAZAKH_WOMEN, _KAZAKH_SURNAMES)
            if kazakh
            else (_RUSSIAN_MEN, _RUSSIAN_WOMEN, _RUSSIAN_SURNAMES)
        )
        surname = rng.choice(surnames)
        moved_in = REFERENCE_DATE - timedelta(days=rng.randrange(60, 5000))
        home = self.address(moved_in)
        citizenship = ("UZ", "Узбекистан") if foreign else ("KZ", "Казахстан")

        def person(
            role: str, sex: Sex, born: date, middle: str | None, first: str | None = None
        ) -> Person:
            first_name = first or rng.choice(men if sex == "male" else women)
            return Person(
                iin=self.iin(born, sex),
                last_name=_surname(surname, sex),
                first_name=first_name,
                middle_name=middle,
                birth_date=born,
                sex=sex,
                citizenship_code=citizenship[0],
                citizenship_name=citizenship[1],
                document=self.document(born, foreign),
                permanent_address=home,
                family_id=family_id,
                role=role,
            )

        father_first = rng.choice(men)
        grandfather = rng.choice(men)
        father = person(
            "father",
            "male",
            self.birth_date(28, 55),
            _patronymic(grandfather, "male", kazakh),
            first=father_first,
        )
        mother_patronymic = _patronymic(rng.choice(men), "female", kazakh)
        mother = person("mother", "female", self.birth_date(25, 50), mother_patronymic)
        members = [father, mother]
        youngest_parent = (
            min(
                (REFERENCE_DATE - father.birth_date).days, (REFERENCE_DATE - mother.birth_date).days
            )
            // 365
        )
        for _ in range(rng.randrange(0, 4)):
            sex: Sex = rng.choice(("male", "female"))
            born = self.birth_date(0, max(1, min(youngest_parent - 18, 25)))
            members.append(person("child", sex, born, _patronymic(father_first, sex, kazakh)))
        return Family(family_id, tuple(members))


def generate_population(seed: int, families: int = 12) -> Population:
    """``families`` ordinary families plus the fixed awkward cases, all from ``seed``."""
    if families < 1:
        raise ValueError("a population needs at least one ordinary family")
    builder = _Builder(seed)
    ordinary = [builder.family(i) for i in range(1, families + 1)]

    # A grandmother who died last year, still listed with her family.
    widow_family = builder.family(families + 1)
    father = widow_family.members[0]
    kazakh = father.last_name in _KAZAKH_SURNAMES
    grandmother_born = father.birth_date - timedelta(days=builder.rng.randrange(20, 35) * 365)
    grandmother = Person(
        iin=builder.iin(grandmother_born, "female"),
        last_name=father.last_name + "а",
        first_name=builder.rng.choice(_KAZAKH_WOMEN if kazakh else _RUSSIAN_WOMEN),
        middle_name=None,
        birth_date=grandmother_born,
        sex="female",
        citizenship_code="KZ",
        citizenship_name="Казахстан",
        document=builder.document(grandmother_born, foreign=False),
        permanent_address=father.permanent_address,
        family_id=widow_family.id,
        role="grandmother",
        death_date=REFERENCE_DATE - timedelta(days=builder.rng.randrange(30, 300)),
    )
    widow_family = Family(widow_family.id, (*widow_family.members, grandmother))

    # A student registered for a year at a dormitory away from the family home.
    student_family = builder.family(families + 2)
    parent = student_family.members[0]
    kazakh = parent.last_name in _KAZAKH_SURNAMES
    student_born = REFERENCE_DATE - timedelta(days=19 * 365 + builder.rng.randrange(0, 300))
    dorm_from = REFERENCE_DATE - timedelta(days=120)
    student = Person(
        iin=builder.iin(student_born, "male"),
        last_name=parent.last_name,
        first_name=builder.rng.choice(_KAZAKH_MEN if kazakh else _RUSSIAN_MEN),
        middle_name=_patronymic(parent.first_name, "male", kazakh),
        birth_date=student_born,
        sex="male",
        citizenship_code="KZ",
        citizenship_name="Казахстан",
        document=builder.document(student_born, foreign=False),
        permanent_address=parent.permanent_address,
        family_id=student_family.id,
        role="child",
        temporary_address=Address(
            region="г. Алматы",
            locality="Алматы",
            street="ул. Сатпаева, общежитие № 3",
            house="22",
            flat="417",
            registered_from=dorm_from,
            registered_until=dorm_from + timedelta(days=365),
        ),
    )
    student_family = Family(student_family.id, (*student_family.members, student))

    # A kandas family that arrived recently, still on residence permits.
    kandas_family = builder.family(families + 3, foreign=True)

    # Valid, never issued to anyone here: the registry must answer "not found".
    absent_iin = builder.iin(date(1990, 1, 1), "male")

    # Everything below is drawn after the people above, so they stay as they were.
    facts = _Facts(builder)
    remarried_family, single_mother_family = facts.divorce(families + 4, families + 5)
    guardian_family = facts.orphan_under_guardianship(families + 6)
    adoptive_family = facts.adoption(families + 7)
    newcomers = facts.kandas_without_registration(families + 8)
    all_families = (
        *ordinary,
        widow_family,
        student_family,
        kandas_family,
        remarried_family,
        single_mother_family,
        guardian_family,
        adoptive_family,
        newcomers,
    )
    # Births and marriages of the families built the ordinary way: both parents on the
    # record, married before the eldest child; abroad (kandas) leaves no RK record.
    for family in (*ordinary, widow_family, student_family, adoptive_family):
        facts.marriage_and_births(family, skip_births={student.iin})
    for family in all_families:
        for person in family.members:
            if person.death_date is not None:
                facts.death(person)

    return Population(
        seed=seed,
        families=all_families,
        absent_iin=absent_iin,
        deceased_iin=grandmother.iin,
        temporary_iin=student.iin,
        foreign_iin=kandas_family.members[0].iin,
        guarded_child_iin=guardian_family.members[-1].iin,
        adopted_child_iin=adoptive_family.members[-1].iin,
        fatherless_child_iin=single_mother_family.members[-1].iin,
        remarried_iin=remarried_family.members[0].iin,
        unrecorded_birth_iin=student.iin,
        kandas_without_registration_iin=newcomers.members[0].iin,
        births=tuple(facts.births),
        marriages=tuple(facts.marriages),
        deaths=tuple(facts.deaths),
        guardianships=tuple(facts.guardianships),
        adoptions=tuple(facts.adoptions),
    )


def _years(n: float) -> timedelta:
    return timedelta(days=round(n * 365.25))


def _birthday(born: date, years: int) -> date:
    """The day one turns ``years``; a 29 February birthday falls on 1 March."""
    try:
        return born.replace(year=born.year + years)
    except ValueError:
        return date(born.year + years, 3, 1)


def _office(kind: str, person: Person) -> str:
    home = person.permanent_address or person.temporary_address
    return f"{kind}, {home.locality if home else 'Астана'}"


class _Facts:
    """The awkward families and the registry records, from the builder's one Random."""

    def __init__(self, builder: _Builder) -> None:
        self.b = builder
        self.rng = builder.rng
        self.births: list[BirthRecord] = []
        self.marriages: list[MarriageRecord] = []
        self.deaths: list[DeathRecord] = []
        self.guardianships: list[GuardianshipDecision] = []
        self.adoptions: list[AdoptionDecision] = []
        self._serial = self.rng.randrange(1000, 5000)

    def _number(self, registered: date) -> str:
        self._serial += 1
        return f"{registered.year}-{self._serial:06d}"

    def _days(self, low: int, high: int) -> timedelta:
        return timedelta(days=self.rng.randrange(low, high))

    def _member(
        self,
        like: Person,
        *,
        role: str,
        sex: Sex,
        born: date,
        middle: str | None,
        last_name: str | None = None,
        death_date: date | None = None,
    ) -> Person:
        """A new person of ``like``'s family, home and citizenship."""
        kazakh = like.last_name.removesuffix("а") in _KAZAKH_SURNAMES
        men, women = (_KAZAKH_MEN, _KAZAKH_WOMEN) if kazakh else (_RUSSIAN_MEN, _RUSSIAN_WOMEN)
        base = like.last_name.removesuffix("а") if like.sex == "female" else like.last_name
        return replace(
            like,
            iin=self.b.iin(born, sex),
            last_name=last_name or _surname(base, sex),
            first_name=self.rng.choice(men if sex == "male" else women),
            middle_name=middle,
            birth_date=born,
            sex=sex,
            document=self.b.document(born, foreign=like.citizenship_code != "KZ"),
            role=role,
            temporary_address=None,
            death_date=death_date,
        )

    def birth(self, child: Person, mother: Person | None, father: Person | None) -> None:
        registered = child.birth_date + self._days(3, 30)
        self.births.append(
            BirthRecord(
                number=self._number(registered),
                registered=registered,
                office=_office("Отдел ЗАГС", child),
                child_iin=child.iin,
                mother_iin=mother.iin if mother else None,
                father_iin=father.iin if father else None,
            )
        )

    def marriage(
        self, husband: Person, wife: Person, registered: date, dissolved: date | None = None
    ) -> None:
        self.marriages.append(
            MarriageRecord(
                number=self._number(registered),
                registered=registered,
                office=_office("Отдел ЗАГС", husband),
                husband_iin=husband.iin,
                wife_iin=wife.iin,
                dissolved=dissolved,
            )
        )

    def death(self, person: Person) -> None:
        assert person.death_date is not None
        registered = person.death_date + self._days(1, 6)
        self.deaths.append(
            DeathRecord(
                number=self._number(registered),
                registered=registered,
                office=_office("Отдел ЗАГС", person),
                iin=person.iin,
                death_date=person.death_date,
            )
        )

    def marriage_and_births(self, family: Family, *, skip_births: set[str]) -> None:
        roles = {m.role: m for m in family.members if m.role in ("father", "mother")}
        father, mother = roles.get("father"), roles.get("mother")
        if father is None or mother is None or father.citizenship_code != "KZ":
            return
        children = sorted(
            (m for m in family.members if m.role == "child"), key=lambda m: m.birth_date
        )
        earliest = max(_birthday(father.birth_date, 18), _birthday(mother.birth_date, 18))
        latest = min([REFERENCE_DATE - timedelta(days=30)] + [c.birth_date for c in children[:1]])
        span = max(1, (latest - earliest).days)
        self.marriage(father, mother, earliest + timedelta(days=self.rng.randrange(span)))
        for child in children:
            digitised = self.rng.random() < 0.5
            if child.iin in skip_births:
                continue
            if child.birth_date >= BIRTH_RECORDS_FROM or digitised:
                self.birth(child, mother, father)

    def divorce(self, husband_index: int, wife_index: int) -> tuple[Family, Family]:
        """A man who divorced and remarried; his ex-wife raises a son on her own.

        Dated forward from the youngest spouse's eighteenth birthday, so nobody marries
        under age whatever the draw.
        """
        current = self.b.family(husband_index)
        husband, second_wife = current.members[0], current.members[1]
        alone = self.b.family(wife_index)
        ex_wife = alone.members[1]
        adult = max(_birthday(p.birth_date, 18) for p in (husband, second_wife, ex_wife))
        start = max(adult, REFERENCE_DATE - _years(13))
        first_married = start + self._days(0, max(1, (REFERENCE_DATE - _years(6) - start).days))
        dissolved = first_married + _years(2) + self._days(0, 365)
        second_married = dissolved + _years(1) + self._days(0, 180)
        child_sex: Sex = self.rng.choice(("male", "female"))
        child = self._member(
            husband,
            role="child",
            sex=child_sex,
            born=second_married + _years(1) + self._days(0, 180),
            middle=_patronymic(
                husband.first_name, child_sex, husband.last_name in _KAZAKH_SURNAMES
            ),
        )
        son = self._member(
            ex_wife,
            role="child",
            sex="male",
            born=dissolved + _years(1) + self._days(0, 365),
            middle=_patronymic(self.rng.choice(_KAZAKH_MEN), "male", True),
        )
        self.marriage(husband, ex_wife, first_married, dissolved)
        self.marriage(husband, second_wife, second_married)
        self.birth(child, second_wife, husband)
        self.birth(son, ex_wife, None)
        return Family(current.id, (husband, second_wife, child)), Family(alone.id, (ex_wife, son))

    def orphan_under_guardianship(self, index: int) -> Family:
        """A grandmother is guardian of her grandson; his single mother has died."""
        family = self.b.family(index)
        grandmother_born = REFERENCE_DATE - _years(58) - self._days(0, 8 * 365)
        grandmother = self._member(
            family.members[1], role="guardian", sex="female", born=grandmother_born, middle=None
        )
        mother_born = grandmother_born + _years(22) + self._days(0, 4 * 365)
        died = REFERENCE_DATE - _years(1) - self._days(0, 3 * 365)
        mother = self._member(
            grandmother,
            role="mother",
            sex="female",
            born=mother_born,
            middle=None,
            death_date=died,
        )
        ward_born = REFERENCE_DATE - _years(6) - self._days(0, 6 * 365)
        ward = self._member(
            grandmother,
            role="ward",
            sex="male",
            born=ward_born,
            middle=_patronymic(self.rng.choice(_KAZAKH_MEN), "male", True),
        )
        self.birth(ward, mother, None)
        decided = died + self._days(20, 90)
        age_at_decision = (decided - ward_born).days // 365
        self.guardianships.append(
            GuardianshipDecision(
                number=self._number(decided),
                decided=decided,
                authority=_office("Отдел образования (орган опеки и попечительства)", ward),
                kind="GUARDIANSHIP" if age_at_decision < 14 else "TRUSTEESHIP",
                child_iin=ward.iin,
                guardian_iin=grandmother.iin,
                valid_until=_birthday(ward_born, 18),
            )
        )
        return Family(family.id, (grandmother, mother, ward))

    def adoption(self, index: int) -> Family:
        """A married couple with an adopted daughter."""
        family = self.b.family(index)
        father, mother = family.members[0], family.members[1]
        kazakh = father.last_name in _KAZAKH_SURNAMES
        born = REFERENCE_DATE - _years(3) - self._days(0, 8 * 365)
        child = self._member(
            father,
            role="child",
            sex="female",
            born=born,
            middle=_patronymic(father.first_name, "female", kazakh),
        )
        decided = min(born + _years(1) + self._days(0, 2 * 365), REFERENCE_DATE - _years(1))
        self.adoptions.append(
            AdoptionDecision(
                case_number=f"2-{self.rng.randrange(1000, 9999)}/{decided.year % 100:02d}",
                court=_office(
                    "Специализированный межрайонный суд по делам несовершеннолетних", father
                ),
                decided=decided,
                in_force=decided + timedelta(days=30),
                child_iin=child.iin,
                adoptive_parent_iins=(father.iin, mother.iin),
            )
        )
        # Her birth record, re-issued on adoption, names the adopters as parents (the
        # secrecy of adoption): it is written with the family's other births, and the
        # Supreme Court's decision is the only trace of the adoption.
        return Family(family.id, (*family.members, child))

    def kandas_without_registration(self, index: int) -> Family:
        """Arrived months ago, no own housing: only a temporary registration (p.31)."""
        family = self.b.family(index, foreign=True)
        since = REFERENCE_DATE - self._days(20, 200)
        centre = Address(
            region="Павлодарская область",
            locality="Павлодар",
            street="ул. Камзина, центр адаптации и интеграции кандасов",
            house="41",
            flat=None,
            registered_from=since,
            registered_until=since + timedelta(days=365),
        )
        members = tuple(
            replace(m, permanent_address=None, temporary_address=centre) for m in family.members
        )
        return Family(family.id, members)
