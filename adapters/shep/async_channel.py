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

import httpx
import zeep
import zeep.exceptions
from lxml import etree
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
    wait_random,
)
from zeep.wsdl import Document

from adapters.shep import _zeep
from adapters.shep.breaker import BreakerBoard, MonotonicClock
from adapters.shep.client import (
    _TRANSIENT_HTTP,
    ALMATY,
    ShepSettings,
    _is_retryable,
    raise_for_code,
)
from adapters.shep.errors import ShepError, ShepSignatureError, ShepUnavailable
from adapters.shep.wsse import BodySignature, SignatureError, Signer, TrustStore
from contracts.shep import ASYNC_WSDL_PATH, NS_ASYNC_INTERFACES, NS_ASYNC_TYPES, codes
from gateway.clock import Clock, SystemClock

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


class AsyncChannelClient:
    """Puts REQUESTs on the bus and collects, confirms and reports on their RESPONSEs."""

    def __init__(
        self,
        settings: ShepSettings,
        signer: Signer,
        trust: TrustStore,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        monotonic: MonotonicClock | None = None,
        breakers: BreakerBoard | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self._clock = clock or SystemClock()
        self._sleep = sleep
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            follow_redirects=False,
        )
        self._wsdl_http = httpx.Client()  # zeep wants one; never used for a download
        self._zeep = _zeep.async_client(
            async_wsdl_document(), BodySignature(signer, trust), self._http, self._wsdl_http
        )
        self._service = _zeep.service(self._zeep, _BINDING, settings.address)
        self._fault_type = _zeep.element(self._zeep, _FAULT_ELEMENT)
        self.breakers = breakers or BreakerBoard(
            failure_threshold=settings.breaker_failures,
            cool_down=settings.breaker_cool_down,
            **({"clock": monotonic} if monotonic is not None else {}),
        )

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()
        self._wsdl_http.close()

    async def __aenter__(self) -> AsyncChannelClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

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
        return acknowledged

    async def status(self, message_ids: Iterable[str]) -> dict[str, MessageStatus]:
        """Delivery state per message id the bus knows for us (unknown ids are absent)."""
        ids = list(message_ids)
        if not ids:
            return {}
        result = await self._call(
            "getMessageStatus", {"sender": self._sender, "messageId": ids}, CHANNEL_BREAKER
        )
        return self._statuses(result)

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
        return [_message(m) for m in result.message or []]

    async def confirm(self, message_ids: Iterable[str]) -> dict[str, MessageStatus]:
        """Tell the bus we took these messages; their states after it (DELIVERED)."""
        ids = list(message_ids)
        if not ids:
            return {}
        result = await self._call(
            "sendDeliveryNotification", {"sender": self._sender, "messageId": ids}, CHANNEL_BREAKER
        )
        return self._statuses(result)

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

    def _statuses(self, result: Any) -> dict[str, MessageStatus]:
        raise_for_code(result.status.code, result.status.message)
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
        s = self.settings
        breaker = self.breakers.get(breaker_key)
        retrying = AsyncRetrying(
            retry=retry_if_exception(_is_retryable),
            stop=stop_after_attempt(s.max_attempts) | stop_before_delay(s.deadline),
            wait=wait_exponential(multiplier=s.backoff_initial, max=s.backoff_max)
            + wait_random(0, s.backoff_initial),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            async with asyncio.timeout(s.deadline):
                async for attempt in retrying:
                    with attempt:
                        breaker.before_call()
                        if before_attempt is not None:
                            before_attempt()
                        try:
                            result = await self._attempt(operation, request, message_id)
                        except ShepUnavailable:
                            breaker.record_failure()
                            raise
                        except ShepError:
                            breaker.record_success()  # the bus answered: it is up
                            raise
                        except BaseException:
                            breaker.abandon()
                            raise
                        breaker.record_success()
                        return result
        except TimeoutError:
            raise ShepUnavailable(
                f"{operation}: no answer within the {s.deadline}s deadline", message_id=message_id
            ) from None
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    async def _attempt(
        self, operation: str, request: dict[str, Any], message_id: str | None
    ) -> Any:
        try:
            return await getattr(self._service, operation)(request=request)
        except zeep.exceptions.Fault as fault:
            self._raise_fault(fault, message_id)
        except zeep.exceptions.TransportError as exc:
            if exc.status_code in _TRANSIENT_HTTP:
                raise ShepUnavailable(
                    f"bus answered HTTP {exc.status_code}", message_id=message_id
                ) from exc
            raise ShepError(f"bus answered HTTP {exc.status_code}", message_id=message_id) from exc
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise ShepUnavailable(
                f"bus unreachable: {type(exc).__name__}", message_id=message_id
            ) from exc
        except SignatureError as exc:
            raise ShepSignatureError(
                f"the bus's answer failed verification: {exc}", message_id=message_id
            ) from exc
        except (zeep.exceptions.Error, etree.LxmlError, ValueError) as exc:
            raise ShepError(f"malformed answer: {exc}", message_id=message_id) from exc

    def _raise_fault(self, fault: zeep.exceptions.Fault, message_id: str | None) -> None:
        detail = fault.detail
        node = detail.find(_FAULT_ELEMENT) if isinstance(detail, etree._Element) else None
        if node is None:
            raise ShepError(f"SOAP fault without ErrorInfo: {fault.message}", message_id=message_id)
        info = self._fault_type.parse(node, self._zeep.wsdl.types)
        raise_for_code(info.errorCode, info.errorMessage, message_id)
        raise ShepError(info.errorMessage, code=info.errorCode, message_id=message_id)


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
