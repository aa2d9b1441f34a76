"""The individuals database (ГБД ФЛ) through the bus: a person by IIN.

Order 170 p.6 forbids asking an applicant for documents a registry can give; this is
the registry that gives identity documents and registration. The payload is built and
read by zeep from ``contracts/shep/gbdfl-Person.xsd``, and the answer is checked
against the same schema before it is trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from adapters.shep._registry import RegistryService
from adapters.shep.client import SyncChannelClient
from adapters.shep.errors import ShepError
from contracts.iin import check_iin
from contracts.shep import ServiceDefinition

__all__ = ["Address", "IdentityDocument", "IndividualsClient", "Person"]

Sex = Literal["male", "female"]


@dataclass(frozen=True, slots=True)
class IdentityDocument:
    type: str
    number: str
    issued: date
    issuer: str


@dataclass(frozen=True, slots=True)
class Address:
    region: str
    locality: str
    street: str
    house: str
    flat: str | None
    registered_from: date
    registered_until: date | None


@dataclass(frozen=True, slots=True)
class Person:
    """A person as the individuals database reports them."""

    iin: str
    last_name: str
    first_name: str
    middle_name: str | None
    birth_date: date
    sex: Sex
    citizenship_code: str
    citizenship_name: str
    identity_document: IdentityDocument
    permanent_address: Address | None
    """None for a newcomer with only a temporary registration (order 170 p.31)."""
    temporary_address: Address | None
    death_date: date | None

    @property
    def deceased(self) -> bool:
        return self.death_date is not None


def _address(value: Any) -> Address | None:
    if value is None:
        return None
    return Address(
        region=value.region,
        locality=value.locality,
        street=value.street,
        house=value.house,
        flat=value.flat,
        registered_from=value.registeredFrom,
        registered_until=value.registeredUntil,
    )


class IndividualsClient:
    """Typed queries to the individuals database over a ``SyncChannelClient``."""

    def __init__(
        self, channel: SyncChannelClient, service: ServiceDefinition | None = None
    ) -> None:
        self._registry = RegistryService(channel, "individuals", service)
        self.service = self._registry.service

    async def person_by_iin(self, iin: str, *, correlation_id: str | None = None) -> Person | None:
        """The person, or None when the registry has no one with this IIN.

        A malformed IIN raises ``contracts.iin.InvalidIIN`` before anything is sent: the
        registry would only answer "not found", which would hide the typo.
        """
        check_iin(iin)
        value = await self._registry.ask({"iin": iin}, correlation_id=correlation_id)
        if value is None:
            return None
        if value.iin != iin:
            raise ShepError("the registry answered about another IIN")
        return Person(
            iin=value.iin,
            last_name=value.lastName,
            first_name=value.firstName,
            middle_name=value.middleName,
            birth_date=value.birthDate,
            sex="male" if value.sex == "MALE" else "female",
            citizenship_code=value.citizenship.code,
            citizenship_name=value.citizenship.name,
            identity_document=IdentityDocument(
                type=value.identityDocument.type,
                number=value.identityDocument.number,
                issued=value.identityDocument.issued,
                issuer=value.identityDocument.issuer,
            ),
            permanent_address=_address(value.permanentAddress),
            temporary_address=_address(value.temporaryAddress),
            death_date=value.deathDate,
        )
