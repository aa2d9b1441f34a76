"""What every typed registry client does around one service on the bus.

Each registry's payload is built and read by zeep from that registry's XSD (named in
``services.json``), and each answer is checked against the same schema before it is
trusted: a registry that drifts from the contract fails loudly here instead of giving
the gateway half-parsed facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import zeep.xsd
from lxml import etree

from adapters.shep import _zeep
from adapters.shep.client import SyncChannelClient
from adapters.shep.errors import ShepError, ShepNotFound
from contracts.shep import CONTRACT_DIR, ServiceDefinition, contract_errors, service_by_key

__all__ = ["RecordedPerson", "RegistryService"]


@dataclass(frozen=True, slots=True)
class RecordedPerson:
    """A person as a record names them; the IIN is what joins records across registries."""

    iin: str
    last_name: str
    first_name: str
    middle_name: str | None
    birth_date: date


def recorded_person(value: Any) -> RecordedPerson:
    return RecordedPerson(
        iin=value.iin,
        last_name=value.lastName,
        first_name=value.firstName,
        middle_name=value.middleName,
        birth_date=value.birthDate,
    )


def optional_person(value: Any) -> RecordedPerson | None:
    return None if value is None else recorded_person(value)


@cache
def payload_schema(filename: str) -> zeep.xsd.Schema:
    """Compiled once per process: compiling costs far more than a call."""
    return _zeep.load_schema(CONTRACT_DIR / filename)


class RegistryService:
    """One service of ``services.json``: render the request, send it, check and parse."""

    def __init__(
        self, channel: SyncChannelClient, key: str, service: ServiceDefinition | None = None
    ) -> None:
        self.channel = channel
        self.service = service or service_by_key(key)
        self._schema = payload_schema(self.service.payload_schema)
        self._request = _zeep.element(self._schema, self.service.request)
        self._response = _zeep.element(self._schema, self.service.response)

    async def ask(
        self,
        fields: dict[str, str],
        *,
        correlation_id: str | None = None,
        properties: dict[str, str] | None = None,
    ) -> Any | None:
        """The parsed answer, or None when the registry answers ``EDAT001``.

        ``properties`` travel in ``requestInfo/properties`` (e.g. the query's purpose and
        legal ground, which the bus journals with the request)."""
        holder = etree.Element("holder")
        self._request.render(holder, self._request(**fields))
        try:
            answer = await self.channel.send(
                self.service.service_id,
                holder[0],
                correlation_id=correlation_id,
                properties=properties,
            )
        except ShepNotFound:
            return None
        name = etree.QName(self.service.response).localname
        nodes = [n for n in answer.data if n.tag == self.service.response]
        if len(nodes) != 1:
            raise ShepError(
                f"expected one {name} in the answer, got {len(nodes)}",
                message_id=answer.message_id,
            )
        errors = contract_errors(nodes[0])
        if errors:
            raise ShepError(
                f"the registry's answer breaks the contract: {errors[-1]}",
                message_id=answer.message_id,
            )
        return self._response.parse(nodes[0], self._schema)

    async def ask_list(
        self, fields: dict[str, str], item: str, *, correlation_id: str | None = None
    ) -> list[Any]:
        """The answer's repeated ``item`` elements; none is an ordinary answer.

        Our mock answers a fruitless search with an empty list; a registry that says
        ``EDAT001`` instead means the same, so both come back as ``[]``.
        """
        value = await self.ask(fields, correlation_id=correlation_id)
        if value is None:
            return []
        return list(getattr(value, item) or [])
