"""Who the mock CA issues keys to: one specialist and one head of each kandas body.

The same seed always gives the same people (names and IINs), so a test or a demo can
name the official who signed. Keys are not derived from the seed: RSA key generation in
`cryptography` cannot be seeded, and a key that anyone could recompute would teach the
wrong habit. The officials are staff of the bodies, not members of the synthetic
families; their IINs are drawn from serials above 9100, where the population's
numbers (which start below 9000) practically never land, so a registry lookup of a
family never returns an official.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from contracts.iin import Sex, check_iin, next_valid_iin

__all__ = ["BODY_KINDS", "REGIONS", "ROLES", "Official", "body_code", "mock_officials"]

BODY_KINDS = ("cc", "lmc", "leb")
"""Career centre, labour mobility centre, local executive body (order 170)."""
REGIONS = ("turkestan", "north_kazakhstan")
ROLES = ("specialist", "head")

_MEN = ("Ерлан", "Нурлан", "Асхат", "Бауыржан", "Даурен", "Серик", "Арман", "Тимур", "Мирас")
_WOMEN = ("Айгуль", "Динара", "Жанар", "Гульнара", "Сауле", "Асель", "Камила", "Мадина")
_SURNAMES = ("Ахметов", "Сеитов", "Жумабаев", "Касымов", "Абенов", "Тулегенов", "Омаров")
_REFERENCE = date(2025, 1, 1)  # as mocks/population.py: the same seed, the same people


@dataclass(frozen=True, slots=True)
class Official:
    login: str
    full_name: str
    """Surname, first name, patronymic: what the certificate's CN carries."""
    body: str
    role: str
    region: str
    iin: str


def body_code(kind: str, region: str) -> str:
    return f"{kind}_{region}"


def mock_officials(seed: int) -> tuple[Official, ...]:
    """Twelve officials: for each body of each region, a specialist and a head."""
    rng = random.Random(f"mock-ca:{seed}")
    used: set[str] = set()
    officials: list[Official] = []
    for region in REGIONS:
        for kind in BODY_KINDS:
            body = body_code(kind, region)
            for role in ROLES:
                sex: Sex = rng.choice(("male", "female"))
                first = rng.choice(_MEN if sex == "male" else _WOMEN)
                surname = rng.choice(_SURNAMES) + ("" if sex == "male" else "а")
                patronymic = rng.choice(_MEN) + ("ұлы" if sex == "male" else "қызы")
                born = _REFERENCE - timedelta(days=rng.randrange(25 * 365, 60 * 365))
                iin = next_valid_iin(born, sex, rng.randrange(9100, 9900))
                while iin in used:
                    iin = next_valid_iin(born, sex, int(iin[7:11]) + 1)
                used.add(check_iin(iin))
                officials.append(
                    Official(
                        login=f"{body}_{role}",
                        full_name=f"{surname} {first} {patronymic}",
                        body=body,
                        role=role,
                        region=region,
                        iin=iin,
                    )
                )
    return tuple(officials)
