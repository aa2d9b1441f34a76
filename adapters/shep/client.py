"""Client of the bus's synchronous channel (SyncChannel ``SendMessage``).

zeep builds and parses every envelope from our WSDL (``contracts/shep``); this module
adds what the bus and the gateway's guarantees need around it: the routing header,
the WS-Security signature both ways, typed errors, retries of transient failures
within one deadline, and a circuit breaker per service.

Transport: zeep's ``AsyncTransport`` over an ``httpx.AsyncClient``. The gateway is
asyncio throughout, and the async transport lets a timeout or a cancellation reach the
socket; a sync transport in a thread could not be cancelled, only abandoned.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from lxml import etree
from zeep.wsdl import Document

from adapters.shep import _zeep
from adapters.shep._channel import ShepChannelClient, raise_for_code
from adapters.shep.errors import ShepUnexpectedReply
from adapters.shep.settings import ShepSettings
from contracts.clock import ALMATY
from contracts.shep import NS_INTERFACES, NS_TYPES, WSDL_PATH

__all__ = ["ShepSettings", "SyncAnswer", "SyncChannelClient", "wsdl_document"]

log = logging.getLogger(__name__)


_BINDING = f"{{{NS_INTERFACES}}}SyncChannelHttpBinding"
_FAULT_ELEMENT = f"{{{NS_TYPES}}}SendMessageFault1_SendMessageFault"


@dataclass(frozen=True, slots=True)
class SyncAnswer:
    """A successful (``SCSS001``) answer: the header and the registry's payload."""

    message_id: str
    correlation_id: str
    response_date: datetime
    status_code: str
    status_message: str
    session_id: str
    data: Sequence[etree._Element]


@cache
def wsdl_document() -> Document:
    """Our WSDL, parsed once per process: parsing it costs more than a call."""
    return _zeep.load_document(WSDL_PATH)


class SyncChannelClient(ShepChannelClient):
    """Sends one registry request through the bus and returns its signed answer."""

    binding = _BINDING
    fault_element = _FAULT_ELEMENT

    @classmethod
    def wsdl(cls) -> Document:
        return wsdl_document()

    async def send(
        self,
        service_id: str,
        payload: etree._Element,
        *,
        correlation_id: str | None = None,
        properties: dict[str, str] | None = None,
    ) -> SyncAnswer:
        """One logical call: retried while transient, within ``settings.deadline``.

        Every attempt carries the same messageId, so a bus that saw an attempt whose
        answer we lost can recognise the repeat.
        """
        s = self.settings
        message_id = str(uuid.uuid4())
        info: dict[str, Any] = {
            "messageId": message_id,
            "correlationId": correlation_id,
            "serviceId": service_id,
            "messageDate": None,  # set per attempt
            "sender": {"senderId": s.sender_id, "password": s.password},
            "properties": [{"key": k, "value": v} for k, v in (properties or {}).items()],
        }
        request = {"requestInfo": info, "requestData": {"data": {"_value_1": [payload]}}}

        def stamp() -> None:
            info["messageDate"] = self._clock.now().astimezone(ALMATY)

        return await self._guarded(
            service_id,
            lambda: self._attempt(request, message_id),
            message_id=message_id,
            before_attempt=stamp,
        )

    async def _attempt(self, request: dict[str, Any], message_id: str) -> SyncAnswer:
        result = await self._invoke("SendMessage", request, message_id)
        info = result.responseInfo
        if info.correlationId != message_id:
            raise ShepUnexpectedReply(
                f"the answer's correlationId {info.correlationId!r} is not our messageId",
                message_id=message_id,
            )
        raise_for_code(info.status.code, info.status.message, message_id)
        data = result.responseData.data
        return SyncAnswer(
            message_id=info.messageId,
            correlation_id=info.correlationId,
            response_date=info.responseDate,
            status_code=info.status.code,
            status_message=info.status.message,
            session_id=info.sessionId,
            data=list(data._value_1 or []) if data is not None else [],
        )
