"""The registries of the proactive check of targeted social assistance (order 109 p.13, 17).

Real estate, vehicles, the household plot, alimony received, and income with the
pension contributions paid on it, for the people of the same synthetic population as
every other registry of the bus. Who owns or earns what is drawn from a generator seeded
by the population's seed and the person's IIN, so a seed always gives the same answers
and facts agree across registries:

- a family's first adult owns its home at the family's permanent address (a flat in the
  three cities, a house elsewhere); a few families own a plot of land besides;
- about two in five families' first adult has a car; about one in five families keeps a
  household plot with some livestock;
- the population's single mother receives alimony from her former husband;
- adults of working age earn a monthly income the pension fund sees through their
  contributions (10 %), except the registered unemployed of the labour market system's
  books (`mocks.labour_market.registrations`), who earn none, and about one in four
  others, who work informally or not at all.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

from lxml import etree

from contracts.labour_market import RegistrationStatus
from contracts.shep import ASP_NS, codes
from mocks.labour_market.registrations import age_on, seed_registrations
from mocks.population import REFERENCE_DATE, Family, Person, Population
from mocks.shep.registries import Registry, RegistryFault, _key, _PayloadWriter, _the_request

__all__ = ["AspFacts", "asp_registries"]

_CITIES = {"г. Алматы", "г. Астана", "г. Шымкент"}
_MAKES = ("Toyota Camry", "Hyundai Accent", "Lada Granta", "Chevrolet Cobalt", "Kia Rio")
PENSION_RATE = 10  # per cent of income (the mandatory pension contribution)


@dataclass(frozen=True, slots=True)
class Property:
    cadastral_number: str
    kind: str
    address: str
    share: str
    registered: date


@dataclass(frozen=True, slots=True)
class Vehicle:
    plate: str
    make: str
    year: int
    registered: date


@dataclass(frozen=True, slots=True)
class Plot:
    akimat: str
    area_ares: int
    livestock_heads: int
    recorded: date


@dataclass(frozen=True, slots=True)
class Alimony:
    case_number: str
    payer_iin: str
    monthly_amount: int
    since: date


class AspFacts:
    """Every person's assets and income, drawn once per population."""

    def __init__(self, population: Population) -> None:
        self.population = population

    def _rng(self, *parts: object) -> random.Random:
        return random.Random(":".join(str(p) for p in (self.population.seed, "asp", *parts)))

    @cached_property
    def _books(self) -> dict[str, RegistrationStatus]:
        return {iin: r.status for iin, r in seed_registrations(self.population).items()}

    def _head(self, family: Family) -> Person | None:
        adults = [m for m in family.members if not m.deceased and age_on(m, REFERENCE_DATE) >= 18]
        return adults[0] if adults else None

    def _family_of(self, iin: str) -> Family | None:
        return self.population.family_of(iin)

    def properties(self, iin: str) -> list[Property]:
        family = self._family_of(iin)
        head = self._head(family) if family else None
        if family is None or head is None or head.iin != iin or head.permanent_address is None:
            return []
        home = head.permanent_address
        rng = self._rng("estate", family.id)
        address = ", ".join(
            p for p in (home.region, home.locality, home.street, home.house, home.flat) if p
        )
        owned = [
            Property(
                cadastral_number=f"{rng.randrange(1, 21):02d}:{rng.randrange(100, 999)}:"
                f"{rng.randrange(1000, 9999)}:{rng.randrange(1, 99)}",
                kind="APARTMENT" if home.region in _CITIES else "HOUSE",
                address=address,
                share="1",
                registered=home.registered_from,
            )
        ]
        if rng.random() < 0.15:
            owned.append(
                Property(
                    cadastral_number=f"{rng.randrange(1, 21):02d}:{rng.randrange(100, 999)}:"
                    f"{rng.randrange(1000, 9999)}:{rng.randrange(1, 99)}",
                    kind="LAND",
                    address=f"{home.region}, садоводческое товарищество «Береке», уч. "
                    f"{rng.randrange(1, 300)}",
                    share="1/2",
                    registered=REFERENCE_DATE - timedelta(days=rng.randrange(100, 3000)),
                )
            )
        return owned

    def vehicles(self, iin: str) -> list[Vehicle]:
        family = self._family_of(iin)
        head = self._head(family) if family else None
        if family is None or head is None or head.iin != iin:
            return []
        rng = self._rng("vehicles", family.id)
        if rng.random() >= 0.4:
            return []
        letters = "".join(rng.choice("ABCEHKMOPTXY") for _ in range(3))
        year = rng.randrange(2005, 2024)
        return [
            Vehicle(
                plate=f"{rng.randrange(100, 999)}{letters}{rng.randrange(1, 19):02d}",
                make=rng.choice(_MAKES),
                year=year,
                registered=date(year, 1, 1) + timedelta(days=rng.randrange(0, 365)),
            )
        ]

    def plots(self, iin: str) -> list[Plot]:
        family = self._family_of(iin)
        head = self._head(family) if family else None
        if family is None or head is None or head.iin != iin or head.permanent_address is None:
            return []
        rng = self._rng("plot", family.id)
        if rng.random() >= 0.2:
            return []
        return [
            Plot(
                akimat=f"Аппарат акима {head.permanent_address.locality}",
                area_ares=rng.randrange(4, 25),
                livestock_heads=rng.randrange(0, 12),
                recorded=REFERENCE_DATE - timedelta(days=rng.randrange(30, 900)),
            )
        ]

    def alimony(self, iin: str) -> list[Alimony]:
        child = self.population.find(self.population.fatherless_child_iin)
        family = self._family_of(self.population.fatherless_child_iin)
        mother = next((m for m in family.members if m.role == "mother"), None) if family else None
        if child is None or mother is None or mother.iin != iin:
            return []
        return [
            Alimony(
                case_number=f"ИП-{self.population.seed:03d}-{child.birth_date:%Y}-0417",
                payer_iin=self.population.remarried_iin,
                monthly_amount=35_000,
                since=child.birth_date + timedelta(days=120),
            )
        ]

    def monthly_income(self, iin: str, month: date) -> int:
        """The income the pension fund saw for ``month`` (0: no contribution that month)."""
        person = self.population.find(iin)
        if person is None or person.deceased or person.citizenship_code != "KZ":
            return 0
        if not 18 <= age_on(person, month) <= 62:
            return 0
        if self._books.get(iin) is RegistrationStatus.unemployed:
            return 0
        rng = self._rng("income", iin)
        if rng.random() < 0.25:
            return 0
        base = rng.randrange(90, 450) * 1000
        wobble = random.Random(f"{self.population.seed}:asp:month:{iin}:{month:%Y-%m}")
        return base + wobble.randrange(-5, 6) * 1000


def _months(first: str, last: str) -> list[date]:
    try:
        start = date(int(first[:4]), int(first[5:7]), 1)
        end = date(int(last[:4]), int(last[5:7]), 1)
    except ValueError:
        raise RegistryFault(codes.INVALID_DATA, "fromMonth and toMonth must be YYYY-MM") from None
    if end < start or (end.year - start.year) * 12 + end.month - start.month > 23:
        raise RegistryFault(codes.INVALID_DATA, "at most 24 months, fromMonth before toMonth")
    months, current = [], start
    while current <= end:
        months.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


class _AspRegistry:
    def __init__(self, facts: AspFacts, request: str) -> None:
        self.facts = facts
        self.request = request
        self.w = _PayloadWriter(facts.population, ASP_NS, "asp")

    def _iin(self, data: Sequence[etree._Element]) -> tuple[etree._Element, str]:
        request = _the_request(data, f"{{{ASP_NS}}}{self.request}Request")
        _, iin = _key(request, "iin")
        return request, iin  # a search: nobody known is an empty answer, as the others

    def _root(self, iin: str) -> etree._Element:
        root = self.w.root(f"{self.request}Response")
        self.w.text(root, "iin", iin)
        return root


class RealEstateRegistry(_AspRegistry):
    def handle(self, data: Sequence[etree._Element]) -> list[etree._Element]:
        _, iin = self._iin(data)
        root = self._root(iin)
        for item in self.facts.properties(iin):
            node = self.w.node(root, "property")
            self.w.text(node, "cadastralNumber", item.cadastral_number)
            self.w.text(node, "kind", item.kind)
            self.w.text(node, "address", item.address)
            self.w.text(node, "share", item.share)
            self.w.text(node, "registered", item.registered)
        return [root]


class VehiclesRegistry(_AspRegistry):
    def handle(self, data: Sequence[etree._Element]) -> list[etree._Element]:
        _, iin = self._iin(data)
        root = self._root(iin)
        for item in self.facts.vehicles(iin):
            node = self.w.node(root, "vehicle")
            self.w.text(node, "plate", item.plate)
            self.w.text(node, "make", item.make)
            self.w.text(node, "year", str(item.year))
            self.w.text(node, "registered", item.registered)
        return [root]


class HouseholdPlotRegistry(_AspRegistry):
    def handle(self, data: Sequence[etree._Element]) -> list[etree._Element]:
        _, iin = self._iin(data)
        root = self._root(iin)
        for item in self.facts.plots(iin):
            node = self.w.node(root, "plot")
            self.w.text(node, "akimat", item.akimat)
            self.w.text(node, "areaAres", str(item.area_ares))
            self.w.text(node, "livestockHeads", str(item.livestock_heads))
            self.w.text(node, "recorded", item.recorded)
        return [root]


class AlimonyRegistry(_AspRegistry):
    def handle(self, data: Sequence[etree._Element]) -> list[etree._Element]:
        _, iin = self._iin(data)
        root = self._root(iin)
        for item in self.facts.alimony(iin):
            node = self.w.node(root, "order")
            self.w.text(node, "caseNumber", item.case_number)
            self.w.text(node, "payerIin", item.payer_iin)
            self.w.text(node, "monthlyAmount", str(item.monthly_amount))
            self.w.text(node, "since", item.since)
        return [root]


class PensionContributionsRegistry(_AspRegistry):
    def handle(self, data: Sequence[etree._Element]) -> list[etree._Element]:
        request, iin = self._iin(data)
        months = _months(
            request.findtext(f"{{{ASP_NS}}}fromMonth") or "",
            request.findtext(f"{{{ASP_NS}}}toMonth") or "",
        )
        root = self._root(iin)
        for month in months:
            income = self.facts.monthly_income(iin, month)
            if income == 0:
                continue
            node = self.w.node(root, "contribution")
            self.w.text(node, "month", f"{month:%Y-%m}")
            self.w.text(node, "income", str(income))
            self.w.text(node, "amount", str(income * PENSION_RATE // 100))
            self.w.text(node, "agent", "ТОО «Работодатель»")
        return [root]


def asp_registries(population: Population) -> dict[str, Registry]:
    facts = AspFacts(population)
    return {
        "real_estate": RealEstateRegistry(facts, "RealEstate"),
        "vehicles": VehiclesRegistry(facts, "Vehicles"),
        "household_plot": HouseholdPlotRegistry(facts, "HouseholdPlot"),
        "alimony": AlimonyRegistry(facts, "Alimony"),
        "pension_contributions": PensionContributionsRegistry(facts, "PensionContributions"),
    }
