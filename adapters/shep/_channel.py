"""What the bus's two channel clients (SyncChannel, AsyncChannel) share.

Both talk SOAP to the same bus through zeep over one ``httpx.AsyncClient``, sign every
message and verify every answer, and keep the same guarantees: transient failures are
retried within one deadline, a circuit breaker guards each key, and bus codes, SOAP
faults and transport errors become the same typed ``ShepError`` family. That plumbing
lives here once, so the two clients differ only in their WSDL and their operations.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, ClassVar, Self, TypeVar

import httpx
import zeep
import zeep.exceptions
from lxml import etree
from opentelemetry import propagate, trace
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
from adapters.shep.dsig import Signer, TrustStore
from adapters.shep.errors import (
    ShepAuthError,
    ShepCircuitOpen,
    ShepError,
    ShepNotFound,
    ShepSignatureError,
    ShepUnavailable,
)
from adapters.shep.settings import ShepSettings
from adapters.shep.wsse import BodySignature, SignatureError
from contracts.clock import Clock, SystemClock
from contracts.shep import codes

_tracer = trace.get_tracer("adapters.shep")


async def _traceparent(request: httpx.Request) -> None:
    propagate.inject(request.headers)


__all__ = ["ShepChannelClient", "raise_for_code"]

T = TypeVar("T")

# HTTP statuses that say "not now" rather than "never": retried.
_TRANSIENT_HTTP = frozenset({408, 429, 500, 502, 503, 504})


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


class ShepChannelClient:
    """Base of the channel clients: zeep/httpx setup, retries, breakers, fault mapping.

    A subclass names its WSDL binding and fault element (``binding``,
    ``fault_element``) and its parsed WSDL (``wsdl``), then runs each operation through
    ``_guarded`` (retry, breaker, deadline) around ``_invoke`` (one SOAP exchange, its
    errors mapped to ``ShepError``s).
    """

    binding: ClassVar[str]
    fault_element: ClassVar[str]

    @classmethod
    def wsdl(cls) -> Document:
        """The channel's WSDL, parsed (and cached) by the subclass."""
        raise NotImplementedError

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
        # The W3C traceparent of the caller's span goes to the bus with every request, so
        # one trace shows the lookup, the bus and the registry (a no-op with traces off).
        hooks = self._http.event_hooks
        self._http.event_hooks = {**hooks, "request": [*hooks.get("request", []), _traceparent]}
        # Only used by zeep for remote WSDL downloads, which we never do.
        self._wsdl_http = httpx.Client()
        signature = BodySignature(
            signer,
            trust,
            clock=self._clock,
            window=timedelta(seconds=settings.timestamp_window),
            ttl=timedelta(seconds=settings.timestamp_ttl),
        )
        self._zeep = _zeep.async_client(self.wsdl(), signature, self._http, self._wsdl_http)
        self._service = _zeep.service(self._zeep, self.binding, settings.address)
        self._fault_type = _zeep.element(self._zeep, self.fault_element)
        self.breakers = breakers or BreakerBoard(
            failure_threshold=settings.breaker_failures,
            cool_down=settings.breaker_cool_down,
            **({"clock": monotonic} if monotonic is not None else {}),
        )

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()
        self._wsdl_http.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _guarded(
        self,
        breaker_key: str,
        attempt_call: Callable[[], Awaitable[T]],
        *,
        message_id: str | None = None,
        before_attempt: Callable[[], None] | None = None,
        deadline_prefix: str = "",
    ) -> T:
        """One logical call: retried while transient, within ``settings.deadline``.

        ``attempt_call`` makes one attempt; ``before_attempt`` runs once the breaker let
        the attempt through (e.g. to stamp the message date). A ``ShepUnavailable``
        counts against the breaker, any other ``ShepError`` proves the bus is up.
        """
        s = self.settings
        breaker = self.breakers.get(breaker_key)
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
        try:
            async with asyncio.timeout(s.deadline):
                async for attempt in retrying:
                    with attempt:
                        breaker.before_call()
                        if before_attempt is not None:
                            before_attempt()
                        try:
                            result = await attempt_call()
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
                f"{deadline_prefix}no answer within the {s.deadline}s deadline",
                message_id=message_id,
            ) from None
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    async def _invoke(self, operation: str, request: dict[str, Any], message_id: str | None) -> Any:
        """One SOAP exchange; faults and transport errors raised as ``ShepError``s."""
        with _tracer.start_as_current_span(
            f"ШЭП {operation}",
            kind=trace.SpanKind.CLIENT,
            attributes={"shep.message_id": message_id or ""},
        ):
            return await self._exchange(operation, request, message_id)

    async def _exchange(
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
        except (zeep.exceptions.DTDForbidden, zeep.exceptions.EntitiesForbidden) as exc:
            raise ShepError(
                "the bus's answer carries a DOCTYPE, which SOAP 1.1 forbids", message_id=message_id
            ) from exc
        except (zeep.exceptions.Error, etree.LxmlError, ValueError) as exc:
            raise ShepError(f"malformed answer: {exc}", message_id=message_id) from exc

    def _raise_fault(self, fault: zeep.exceptions.Fault, message_id: str | None) -> None:
        detail = fault.detail
        node = detail.find(self.fault_element) if isinstance(detail, etree._Element) else None
        if node is None:
            # VersionMismatch and MustUnderstand carry no detail (SOAP 1.1, 4.4).
            raise ShepError(
                f"SOAP fault {fault.code} without ErrorInfo: {fault.message}",
                message_id=message_id,
            )
        info = self._fault_type.parse(node, self._zeep.wsdl.types)
        raise_for_code(info.errorCode, info.errorMessage, message_id)
        raise ShepError(info.errorMessage, code=info.errorCode, message_id=message_id)
