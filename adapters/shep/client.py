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

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

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
from adapters.shep.errors import (
    ShepAuthError,
    ShepCircuitOpen,
    ShepError,
    ShepNotFound,
    ShepSignatureError,
    ShepUnavailable,
)
from adapters.shep.wsse import BodySignature, SignatureError, Signer, TrustStore
from contracts.shep import NS_INTERFACES, NS_TYPES, WSDL_PATH, codes
from gateway.clock import Clock, SystemClock

__all__ = ["ShepSettings", "SyncAnswer", "SyncChannelClient", "wsdl_document"]

log = logging.getLogger(__name__)

ALMATY = ZoneInfo("Asia/Almaty")
_BINDING = f"{{{NS_INTERFACES}}}SyncChannelHttpBinding"
_FAULT_ELEMENT = f"{{{NS_TYPES}}}SendMessageFault1_SendMessageFault"
# HTTP statuses that say "not now" rather than "never": retried.
_TRANSIENT_HTTP = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class ShepSettings:
    """Where the bus is, who we are on it, and how long we wait for it.

    ``deadline`` bounds one logical call, retries and back-off included; each attempt
    is further bounded by the connect and read timeouts.
    """

    address: str
    sender_id: str
    password: str
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    deadline: float = 20.0
    max_attempts: int = 4
    backoff_initial: float = 0.2
    backoff_max: float = 2.0
    breaker_failures: int = 5
    breaker_cool_down: float = 30.0


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


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, ShepUnavailable) and not isinstance(exc, ShepCircuitOpen)


def raise_for_code(code: str, message: str, message_id: str | None = None) -> None:
    """Turn a bus status or ``ErrorInfo`` code into the matching exception."""
    if code == codes.SUCCESS:
        return
    if code == codes.NOT_FOUND:
        raise ShepNotFound(message, code=code, message_id=message_id)
    if code in codes.AUTH_CODES:
        raise ShepAuthError(message, code=code, message_id=message_id)
    if code in codes.TRANSIENT_CODES:
        raise ShepUnavailable(message, code=code, message_id=message_id)
    raise ShepError(message, code=code, message_id=message_id)


class SyncChannelClient:
    """Sends one registry request through the bus and returns its signed answer."""

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
        # Only used by zeep for remote WSDL downloads, which we never do.
        self._wsdl_http = httpx.Client()
        self._zeep = _zeep.async_client(
            wsdl_document(), BodySignature(signer, trust), self._http, self._wsdl_http
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

    async def __aenter__(self) -> SyncChannelClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

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
        breaker = self.breakers.get(service_id)
        retrying = AsyncRetrying(
            retry=retry_if_exception(_is_retryable),
            stop=stop_after_attempt(s.max_attempts) | stop_before_delay(s.deadline),
            # Exponential from backoff_initial, capped, plus up to one initial step of
            # jitter so that clients failing together do not retry together.
            wait=wait_exponential(multiplier=s.backoff_initial, max=s.backoff_max)
            + wait_random(0, s.backoff_initial),
            sleep=self._sleep,
            reraise=True,
        )
        info: dict[str, Any] = {
            "messageId": message_id,
            "correlationId": correlation_id,
            "serviceId": service_id,
            "messageDate": None,  # set per attempt
            "sender": {"senderId": s.sender_id, "password": s.password},
            "properties": [{"key": k, "value": v} for k, v in (properties or {}).items()],
        }
        request = {"requestInfo": info, "requestData": {"data": {"_value_1": [payload]}}}
        try:
            async with asyncio.timeout(s.deadline):
                async for attempt in retrying:
                    with attempt:
                        breaker.before_call()
                        info["messageDate"] = self._clock.now().astimezone(ALMATY)
                        try:
                            answer = await self._attempt(request, message_id)
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
                        return answer
        except TimeoutError:
            raise ShepUnavailable(
                f"no answer within the {s.deadline}s deadline", message_id=message_id
            ) from None
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    async def _attempt(self, request: dict[str, Any], message_id: str) -> SyncAnswer:
        try:
            result = await self._service.SendMessage(request=request)
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

        info = result.responseInfo
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

    def _raise_fault(self, fault: zeep.exceptions.Fault, message_id: str) -> None:
        detail = fault.detail
        node = detail.find(_FAULT_ELEMENT) if isinstance(detail, etree._Element) else None
        if node is None:
            raise ShepError(f"SOAP fault without ErrorInfo: {fault.message}", message_id=message_id)
        info = self._fault_type.parse(node, self._zeep.wsdl.types)
        raise_for_code(info.errorCode, info.errorMessage, message_id)
        raise ShepError(info.errorMessage, code=info.errorCode, message_id=message_id)
