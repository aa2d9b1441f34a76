"""Client of the bus's asynchronous channel (AsyncChannel, four operations).

The sync channel answers in the same HTTP exchange; this one acknowledges a REQUEST at
once and queues the registry's RESPONSE for us to collect (``getMessages``) and then
confirm (``sendDeliveryNotification``). Until confirmed, a RESPONSE stays
``ON_DELIVERY`` and is offered again: delivery is at-least-once, so a caller that
crashes between fetching and confirming sees the RESPONSE again (dedupe on its
``message_id``).

Same discipline as ``SyncChannelClient``: zeep builds and parses every envelope from
our WSDL, every message is signed and every answer verified (``BodySignature``), bus
codes become the same typed errors, transient failures are retried within the
deadline, and a circuit breaker guards each service (``sendMessage``) and the channel
itself (the other three operations).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from lxml import etree
from zeep.wsdl import Document

from adapters.shep import _zeep
from adapters.shep._channel import ShepChannelClient, raise_for_code
from adapters.shep.errors import ShepUnavailable, ShepUnexpectedReply
from contracts.clock import ALMATY
from contracts.shep import ASYNC_WSDL_PATH, NS_ASYNC_INTERFACES, NS_ASYNC_TYPES, codes

__all__ = [
    "CHANNEL_BREAKER",
    "AsyncChannelClient",
    "AsyncMessage",
    "DeliveryState",
    "MessageStatus",
    "async_wsdl_document",
]

_BINDING = f"{{{NS_ASYNC_INTERFACES}}}AsyncChannelHttpBinding"
_FAULT_ELEMENT = f"{{{NS_ASYNC_TYPES}}}AsyncChannelFault"
CHANNEL_BREAKER = "AsyncChannel"
"""Breaker key of getMessageStatus, getMessages and sendDeliveryNotification."""


class DeliveryState:
    """The bus's delivery states (plain strings on the wire)."""

    ON_DELIVERY = "ON_DELIVERY"
    DELIVERED = "DELIVERED"
    NOT_DELIVERED = "NOT_DELIVERED"
    DELIVERY_STOPPED = "DELIVERY_STOPPED"
    FAILED = frozenset({NOT_DELIVERED, DELIVERY_STOPPED})


@dataclass(frozen=True, slots=True)
class MessageStatus:
    message_id: str
    message_type: str
    state: str
    state_date: datetime


@dataclass(frozen=True, slots=True)
class AsyncMessage:
    """A message the bus queued for us, typically the RESPONSE to one of our REQUESTs."""

    message_id: str
    correlation_id: str | None
    service_id: str
    message_type: str
    message_date: datetime
    status_code: str
    status_message: str
    data: Sequence[etree._Element]


@cache
def async_wsdl_document() -> Document:
    """Our AsyncChannel WSDL, parsed once per process."""
    return _zeep.load_document(ASYNC_WSDL_PATH)


class AsyncChannelClient(ShepChannelClient):
    """Puts REQUESTs on the bus and collects, confirms and reports on their RESPONSEs."""

    binding = _BINDING
    fault_element = _FAULT_ELEMENT

    @classmethod
    def wsdl(cls) -> Document:
        return async_wsdl_document()

    @property
    def _sender(self) -> dict[str, str]:
        return {"senderId": self.settings.sender_id, "password": self.settings.password}

    # -- the four operations -------------------------------------------------------------

    async def send_request(
        self,
        service_id: str,
        payload: etree._Element,
        *,
        correlation_id: str | None = None,
        properties: dict[str, str] | None = None,
        message_id: str | None = None,
    ) -> str:
        """Put a REQUEST on the bus; its messageId once the bus acknowledged it.

        Retries carry the same messageId, which the bus takes as a repeat.
        """
        message_id = message_id or str(uuid.uuid4())
        info: dict[str, Any] = {
            "messageId": message_id,
            "correlationId": correlation_id,
            "serviceId": service_id,
            "messageType": "REQUEST",
            "messageDate": None,  # set per attempt
            "sender": self._sender,
            "properties": [{"key": k, "value": v} for k, v in (properties or {}).items()],
        }
        request = {"messageInfo": info, "messageData": {"data": {"_value_1": [payload]}}}

        def stamp() -> None:
            info["messageDate"] = self._clock.now().astimezone(ALMATY)

        ack = await self._call("sendMessage", request, service_id, message_id, stamp)
        raise_for_code(ack.status.code, ack.status.message, message_id)
        acknowledged: str = ack.messageId
        if acknowledged != message_id:
            raise ShepUnexpectedReply(
                f"the bus acknowledged {acknowledged!r}, not our messageId", message_id=message_id
            )
        return acknowledged

    async def status(self, message_ids: Iterable[str]) -> dict[str, MessageStatus]:
        """Delivery state per message id the bus knows for us (unknown ids are absent)."""
        ids = list(message_ids)
        if not ids:
            return {}
        result = await self._call(
            "getMessageStatus", {"sender": self._sender, "messageId": ids}, CHANNEL_BREAKER
        )
        return self._statuses(result, ids)

    async def fetch_responses(
        self, max_count: int = 100, *, correlation_id: str | None = None
    ) -> list[AsyncMessage]:
        """RESPONSEs queued for us and not yet confirmed, oldest first."""
        request: dict[str, Any] = {
            "sender": self._sender,
            "correlationId": correlation_id,
            "maxCount": max_count,
        }
        result = await self._call("getMessages", request, CHANNEL_BREAKER)
        raise_for_code(result.status.code, result.status.message)
        messages = [_message(m) for m in result.message or []]
        for message in messages:
            if correlation_id is not None and message.correlation_id != correlation_id:
                raise ShepUnexpectedReply(
                    f"asked for the responses to {correlation_id!r}, got one to "
                    f"{message.correlation_id!r}",
                    message_id=message.message_id,
                )
        return messages

    async def confirm(self, message_ids: Iterable[str]) -> dict[str, MessageStatus]:
        """Tell the bus we took these messages; their states after it (DELIVERED)."""
        ids = list(message_ids)
        if not ids:
            return {}
        result = await self._call(
            "sendDeliveryNotification", {"sender": self._sender, "messageId": ids}, CHANNEL_BREAKER
        )
        return self._statuses(result, ids)

    # -- convenience -------------------------------------------------------------------

    async def request_and_wait(
        self,
        service_id: str,
        payload: etree._Element,
        deadline: float | None = None,
        *,
        correlation_id: str | None = None,
    ) -> AsyncMessage:
        """Send a REQUEST and poll, backing off, until its RESPONSE arrives; confirm it.

        Raises what the sync channel would for the RESPONSE's status (``ShepNotFound``
        for ``EDAT001``, ...), ``ShepUnavailable`` if the bus reports the REQUEST
        undeliverable or nothing arrives within ``deadline`` seconds (default
        ``settings.deadline``).
        """
        s = self.settings
        limit = s.deadline if deadline is None else deadline
        message_id: str | None = None
        try:
            async with asyncio.timeout(limit):
                message_id = await self.send_request(
                    service_id, payload, correlation_id=correlation_id
                )
                pause = s.backoff_initial
                while True:
                    found = await self.fetch_responses(1, correlation_id=message_id)
                    if found:
                        response = found[0]
                        await self.confirm([response.message_id])
                        raise_for_code(
                            response.status_code, response.status_message, response.message_id
                        )
                        return response
                    state = (await self.status([message_id])).get(message_id)
                    if state is not None and state.state in DeliveryState.FAILED:
                        raise ShepUnavailable(
                            f"the bus reports the request {state.state}",
                            code=codes.SERVICE_UNAVAILABLE,
                            message_id=message_id,
                        )
                    await self._sleep(pause)
                    pause = min(pause * 2, s.backoff_max)
        except TimeoutError:
            raise ShepUnavailable(
                f"no response within the {limit}s deadline", message_id=message_id
            ) from None

    # -- plumbing ----------------------------------------------------------------------

    def _statuses(self, result: Any, asked: Sequence[str]) -> dict[str, MessageStatus]:
        raise_for_code(result.status.code, result.status.message)
        strangers = {item.messageId for item in result.messageStatus or []} - set(asked)
        if strangers:
            raise ShepUnexpectedReply(
                f"the bus reported on messages we did not ask about: {sorted(strangers)}"
            )
        return {
            item.messageId: MessageStatus(
                message_id=item.messageId,
                message_type=item.messageType,
                state=item.state,
                state_date=item.stateDate,
            )
            for item in result.messageStatus or []
        }

    async def _call(
        self,
        operation: str,
        request: dict[str, Any],
        breaker_key: str,
        message_id: str | None = None,
        before_attempt: Callable[[], None] | None = None,
    ) -> Any:
        """One logical call: retried while transient, within ``settings.deadline``."""
        return await self._guarded(
            breaker_key,
            lambda: self._invoke(operation, request, message_id),
            message_id=message_id,
            before_attempt=before_attempt,
            deadline_prefix=f"{operation}: ",
        )


def _message(item: Any) -> AsyncMessage:
    info = item.messageInfo
    data = item.messageData.data
    return AsyncMessage(
        message_id=info.messageId,
        correlation_id=info.correlationId,
        service_id=info.serviceId,
        message_type=info.messageType,
        message_date=info.messageDate,
        status_code=info.status.code if info.status is not None else codes.SUCCESS,
        status_message=info.status.message if info.status is not None else "",
        data=list(data._value_1 or []) if data is not None else [],
    )
