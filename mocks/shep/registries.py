"""The mock registries behind the bus, answering from the synthetic population.

Each registry takes the payload elements of ``requestData/data`` and returns those of
``responseData/data``, or raises ``RegistryFault`` with one of the contract's codes.
They know nothing of SOAP, signatures or senders: that is the bus's job.

"Nothing found" has two shapes, chosen by the question. Asked for one record that a
person either has or not (their identity, a child's birth record, a death record), a
registry answers ``EDAT001``, as the individuals database does. Asked to search
(marriages, births by parent, guardianship or adoption decisions, registrations), an
empty result is an ordinary answer and comes back as an empty list: "never married" is
a fact, not an error, and a caller should not need an exception to learn it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Protocol

from lxml import etree

from contracts.iin import InvalidIIN, check_iin
from contracts.shep import EOPEKA_NS, GBDFL_NS, MIGRATION_NS, SUPREME_COURT_NS, ZAGS_NS, codes
from mocks.population import (
    Address,
    AdoptionDecision,
    BirthRecord,
    DeathRecord,
    GuardianshipDecision,
    MarriageRecord,
    Person,
    Population,
    ResidenceRegistration,
)


class RegistryFault(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Registry(Protocol):
    def handle(self, data: Sequence[etree._Element]) -> list[etree._Element]: ...


def _fl(name: str) -> str:
    return f"{{{GBDFL_NS}}}{name}"


def _put(parent: etree._Element, ns: str, name: str, value: str | date | None) -> None:
    """A child element with text, in schema order; nothing for an absent optional value."""
    if value is None:
        return
    child = etree.SubElement(parent, f"{{{ns}}}{name}")
    child.text = value.isoformat() if isinstance(value, date) else value


def _text(parent: etree._Element, name: str, value: str | date | None) -> None:
    _put(parent, GBDFL_NS, name, value)


def _address(parent: etree._Element, name: str, address: Address | None) -> None:
    if address is None:
        return
    node = etree.SubElement(parent, _fl(name))
    _text(node, "region", address.region)
    _text(node, "locality", address.locality)
    _text(node, "street", address.street)
    _text(node, "house", address.house)
    _text(node, "flat", address.flat)
    _text(node, "registeredFrom", address.registered_from)
    _text(node, "registeredUntil", address.registered_until)


def person_element(person: Person) -> etree._Element:
    """The ``PersonResponse`` of ``gbdfl-Person.xsd``, fields in schema order."""
    root = etree.Element(_fl("PersonResponse"), nsmap={"fl": GBDFL_NS})
    _text(root, "iin", person.iin)
    _text(root, "lastName", person.last_name)
    _text(root, "firstName", person.first_name)
    _text(root, "middleName", person.middle_name)
    _text(root, "birthDate", person.birth_date)
    _text(root, "sex", person.sex.upper())
    citizenship = etree.SubElement(root, _fl("citizenship"))
    _text(citizenship, "code", person.citizenship_code)
    _text(citizenship, "name", person.citizenship_name)
    document = etree.SubElement(root, _fl("identityDocument"))
    _text(document, "type", person.document.type)
    _text(document, "number", person.document.number)
    _text(document, "issued", person.document.issued)
    _text(document, "issuer", person.document.issuer)
    _address(root, "permanentAddress", person.permanent_address)
    _address(root, "temporaryAddress", person.temporary_address)
    _text(root, "deathDate", person.death_date)
    return root


def _the_request(data: Sequence[etree._Element], tag: str) -> etree._Element:
    requests = [n for n in data if n.tag == tag]
    if len(requests) != 1:
        raise RegistryFault(
            codes.INVALID_DATA, f"expected exactly one {etree.QName(tag).localname}"
        )
    return requests[0]


def _key(request: etree._Element, *names: str) -> tuple[str, str]:
    """The one IIN the request carries and the name of the element it came in."""
    ns = etree.QName(request).namespace
    for name in names:
        value = request.findtext(f"{{{ns}}}{name}")
        if value is not None:
            try:
                return name, check_iin(value)
            except InvalidIIN as exc:
                raise RegistryFault(codes.INVALID_DATA, f"{name} {exc.reason}") from None
    raise RegistryFault(codes.INVALID_DATA, f"expected one of {', '.join(names)}")


class IndividualsRegistry:
    """ГБД ФЛ: a person by IIN. The schema has already checked the payload's shape."""

    def __init__(self, population: Population) -> None:
        self.population = population

    def handle(self, data: Sequence[etree._Element]) -> list[etree._Element]:
        _, iin = _key(_the_request(data, _fl("PersonRequest")), "iin")
        person = self.population.find(iin)
        if person is None:
            raise RegistryFault(codes.NOT_FOUND, "no person with this IIN")
        return [person_element(person)]


class _PayloadWriter:
    """Builds one registry's answers in its namespace; people named from the population."""

    def __init__(self, population: Population, ns: str, prefix: str) -> None:
        self.population = population
        self.ns = ns
        self.prefix = prefix

    def root(self, name: str) -> etree._Element:
        return etree.Element(f"{{{self.ns}}}{name}", nsmap={self.prefix: self.ns})

    def node(self, parent: etree._Element, name: str) -> etree._Element:
        return etree.SubElement(parent, f"{{{self.ns}}}{name}")

    def text(self, parent: etree._Element, name: str, value: str | date | None) -> None:
        _put(parent, self.ns, name, value)

    def person(self, parent: etree._Element, name: str, iin: str | None) -> None:
        if iin is None:
            return
        person = self.population.find(iin)
        assert person is not None, "the population's records name only people it holds"
        node = self.node(parent, name)
        self.text(node, "iin", person.iin)
        self.text(node, "lastName", person.last_name)
        self.text(node, "firstName", person.first_name)
        self.text(node, "middleName", person.middle_name)
        self.text(node, "birthDate", person.birth_date)

    def header(self, parent: etree._Element, number: str, registered: date, office: str) -> None:
        self.text(parent, "number", number)
        self.text(parent, "registered", registered)
        self.text(parent, "office", office)


class CivilRegistry:
    """ЗАГС: births by child or parent, marriages, deaths; one instance per service."""

    def __init__(self, population: Population, service: str) -> None:
        self.population = population
        self.w = _PayloadWriter(population, ZAGS_NS, "zags")
        handlers: dict[str, Callable[[Sequence[etree._Element]], list[etree._Element]]] = {
            "births": self._births,
            "marriages": self._marriages,
            "deaths": self._death,
        }
        self.handle = handlers[service]

    def _birth(self, parent: etree._Element, record: BirthRecord) -> None:
        node = self.w.node(parent, "record")
        self.w.header(node, record.number, record.registered, record.office)
        self.w.person(node, "child", record.child_iin)
        self.w.person(node, "mother", record.mother_iin)
        self.w.person(node, "father", record.father_iin)

    def _births(self, data: Sequence[etree._Element]) -> list[etree._Element]:
        by, iin = _key(
            _the_request(data, f"{{{ZAGS_NS}}}BirthRecordsRequest"), "childIin", "parentIin"
        )
        if by == "childIin":
            own = self.population.birth_of_child(iin)
            if own is None:
                raise RegistryFault(codes.NOT_FOUND, "no birth record for this child")
            records: Sequence[BirthRecord] = (own,)
        else:
            records = self.population.births_by_parent(iin)
        root = self.w.root("BirthRecordsResponse")
        for record in records:
            self._birth(root, record)
        return [root]

    def _marriage(self, parent: etree._Element, record: MarriageRecord) -> None:
        node = self.w.node(parent, "record")
        self.w.header(node, record.number, record.registered, record.office)
        self.w.person(node, "husband", record.husband_iin)
        self.w.person(node, "wife", record.wife_iin)
        self.w.text(node, "dissolved", record.dissolved)

    def _marriages(self, data: Sequence[etree._Element]) -> list[etree._Element]:
        _, iin = _key(_the_request(data, f"{{{ZAGS_NS}}}MarriageRecordsRequest"), "iin")
        root = self.w.root("MarriageRecordsResponse")
        for record in self.population.marriages_of(iin):
            self._marriage(root, record)
        return [root]

    def _death(self, data: Sequence[etree._Element]) -> list[etree._Element]:
        _, iin = _key(_the_request(data, f"{{{ZAGS_NS}}}DeathRecordRequest"), "iin")
        record: DeathRecord | None = self.population.death_of(iin)
        if record is None:
            raise RegistryFault(codes.NOT_FOUND, "no death record for this IIN")
        root = self.w.root("DeathRecordResponse")
        node = self.w.node(root, "record")
        self.w.header(node, record.number, record.registered, record.office)
        self.w.person(node, "deceased", record.iin)
        self.w.text(node, "deathDate", record.death_date)
        return [root]


class GuardianshipRegistry:
    """Е-опека: decisions by the child or by the guardian."""

    def __init__(self, population: Population) -> None:
        self.population = population
        self.w = _PayloadWriter(population, EOPEKA_NS, "opeka")

    def handle(self, data: Sequence[etree._Element]) -> list[etree._Element]:
        request = _the_request(data, f"{{{EOPEKA_NS}}}GuardianshipDecisionsRequest")
        by, iin = _key(request, "childIin", "guardianIin")
        decisions: Sequence[GuardianshipDecision] = (
            self.population.guardianships_of_child(iin)
            if by == "childIin"
            else self.population.guardianships_by_guardian(iin)
        )
        root = self.w.root("GuardianshipDecisionsResponse")
        for decision in decisions:
            node = self.w.node(root, "decision")
            self.w.text(node, "number", decision.number)
            self.w.text(node, "decided", decision.decided)
            self.w.text(node, "authority", decision.authority)
            self.w.text(node, "kind", decision.kind)
            self.w.person(node, "child", decision.child_iin)
            self.w.person(node, "guardian", decision.guardian_iin)
            self.w.text(node, "validUntil", decision.valid_until)
        return [root]


class AdoptionRegistry:
    """The Supreme Court's system: adoption decisions by the child."""

    def __init__(self, population: Population) -> None:
        self.population = population
        self.w = _PayloadWriter(population, SUPREME_COURT_NS, "vs")

    def handle(self, data: Sequence[etree._Element]) -> list[etree._Element]:
        request = _the_request(data, f"{{{SUPREME_COURT_NS}}}AdoptionDecisionsRequest")
        _, iin = _key(request, "childIin")
        root = self.w.root("AdoptionDecisionsResponse")
        decision: AdoptionDecision
        for decision in self.population.adoptions_of_child(iin):
            node = self.w.node(root, "decision")
            self.w.text(node, "caseNumber", decision.case_number)
            self.w.text(node, "court", decision.court)
            self.w.text(node, "decided", decision.decided)
            self.w.text(node, "inForce", decision.in_force)
            self.w.person(node, "child", decision.child_iin)
            for parent in decision.adoptive_parent_iins:
                self.w.person(node, "adoptiveParent", parent)
        return [root]


class MigrationPoliceRegistry:
    """Registrations at the place of residence, permanent and temporary (order 170 p.45)."""

    def __init__(self, population: Population) -> None:
        self.population = population
        self.w = _PayloadWriter(population, MIGRATION_NS, "mp")

    def handle(self, data: Sequence[etree._Element]) -> list[etree._Element]:
        request = _the_request(data, f"{{{MIGRATION_NS}}}ResidenceRegistrationsRequest")
        _, iin = _key(request, "iin")
        root = self.w.root("ResidenceRegistrationsResponse")
        self.w.text(root, "iin", iin)
        registration: ResidenceRegistration
        for registration in self.population.registrations_of(iin):
            node = self.w.node(root, "registration")
            address = registration.address
            self.w.text(node, "kind", registration.kind)
            self.w.text(node, "region", address.region)
            self.w.text(node, "locality", address.locality)
            self.w.text(node, "street", address.street)
            self.w.text(node, "house", address.house)
            self.w.text(node, "flat", address.flat)
            self.w.text(node, "registeredFrom", address.registered_from)
            self.w.text(node, "registeredUntil", address.registered_until)
        return [root]


def registries_for(population: Population) -> dict[str, Registry]:
    """Registry key (as in services.json) -> mock registry (the proactive check's, in
    `mocks.shep.asp_registries`, are added by the app)."""
    return {
        "individuals": IndividualsRegistry(population),
        "civil_births": CivilRegistry(population, "births"),
        "civil_marriages": CivilRegistry(population, "marriages"),
        "civil_deaths": CivilRegistry(population, "deaths"),
        "guardianship": GuardianshipRegistry(population),
        "adoption": AdoptionRegistry(population),
        "migration_police": MigrationPoliceRegistry(population),
    }
