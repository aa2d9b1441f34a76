"""A deterministic synthetic population for the mock registries.

Every mock registry answers from the same people, so a developer who finds a family in
the individuals database finds the same IINs at the civil registry or the migration
police. The same seed always gives the same people (tests and demos can name them);
nothing here reads the clock or the environment. The awkward cases a real registry
produces are always present and easy to reach: a valid IIN nobody holds, a deceased
family member, a temporary registration away from home, a kandas on a residence permit.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from gateway.iin import Sex, next_valid_iin

__all__ = [
    "Address",
    "DocumentType",
    "Family",
    "IdentityDocument",
    "Person",
    "Population",
    "generate_population",
]

DocumentType = Literal["ID_CARD", "PASSPORT", "BIRTH_CERTIFICATE", "RESIDENCE_PERMIT"]

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
    permanent_address: Address
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
class Population:
    """The people of one seed, with the awkward cases named for tests and demos."""

    seed: int
    families: tuple[Family, ...]
    absent_iin: str
    deceased_iin: str
    temporary_iin: str
    foreign_iin: str
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

    return Population(
        seed=seed,
        families=(*ordinary, widow_family, student_family, kandas_family),
        absent_iin=absent_iin,
        deceased_iin=grandmother.iin,
        temporary_iin=student.iin,
        foreign_iin=kandas_family.members[0].iin,
    )
