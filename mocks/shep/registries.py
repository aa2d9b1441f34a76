"""The mock registries behind the bus, answering from the synthetic population.

Each registry takes the payload elements of ``requestData/data`` and returns those of
``responseData/data``, or raises ``RegistryFault`` with one of the contract's codes.
They know nothing of SOAP, signatures or senders: that is the bus's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from lxml import etree

from contracts.shep import GBDFL_NS, codes
from gateway.iin import InvalidIIN, check_iin
from mocks.population import Address, Person, Population


class RegistryFault(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Registry(Protocol):
    def handle(self, data: Sequence[etree._Element]) -> list[etree._Element]: ...


def _fl(name: str) -> str:
    return f"{{{GBDFL_NS}}}{name}"


def _text(parent: etree._Element, name: str, value: str | date | None) -> None:
    if value is None:
        return
    child = etree.SubElement(parent, _fl(name))
    child.text = value.isoformat() if isinstance(value, date) else value


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


class IndividualsRegistry:
    """ГБД ФЛ: a person by IIN. The schema has already checked the payload's shape."""

    def __init__(self, population: Population) -> None:
        self.population = population

    def handle(self, data: Sequence[etree._Element]) -> list[etree._Element]:
        requests = [n for n in data if n.tag == _fl("PersonRequest")]
        if len(requests) != 1:
            raise RegistryFault(codes.INVALID_DATA, "expected exactly one PersonRequest")
        iin = requests[0].findtext(_fl("iin")) or ""
        try:
            check_iin(iin)
        except InvalidIIN as exc:
            raise RegistryFault(codes.INVALID_DATA, f"IIN {exc.reason}") from None
        person = self.population.find(iin)
        if person is None:
            raise RegistryFault(codes.NOT_FOUND, "no person with this IIN")
        return [person_element(person)]


def registries_for(population: Population) -> dict[str, Registry]:
    """Registry key (as in services.json) -> mock registry."""
    return {"individuals": IndividualsRegistry(population)}
