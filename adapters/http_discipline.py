"""One way to call a REST upstream: timeouts, bounded retries, a breaker, typed errors.

The portal and the Kandas system are called from workers that must neither hang on a
dead upstream nor hammer a struggling one, and whose callers need to know what to do
next. So every call here has:

- a connect and a read timeout per attempt, and a total ``deadline`` over all attempts
  and back-off sleeps (``asyncio.timeout`` enforces it even if a sleep would overrun);
- retries only where trying again can help: connect errors, timeouts, 502/503/504 and
  429; a 429's ``Retry-After`` is honoured, but never past the deadline (if the
  upstream asks us to wait longer than we have, we give up at once rather than sleep
  and fail anyway);
- exponential back-off with jitter (tenacity), so clients failing together do not
  retry together;
- a circuit breaker per endpoint (the bus client's ``CircuitBreaker``, reused), so a
  dead endpoint fails fast while the rest of the upstream keeps working;
- one ``Idempotency-Key`` per logical call, repeated on every attempt of a write, so an
  upstream that saw an attempt whose answer we lost can recognise the repeat;
- errors typed by what the caller should do: ``UpstreamUnavailable`` (transient, already
  retried), ``UpstreamRejected`` (our request is wrong; names the field and reason),
  ``UpstreamNotFound`` (an answer, not a failure), ``UpstreamError`` (anything else:
  a contract problem worth an incident).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
    wait_random,
)
from tenacity.stop import stop_base

from adapters.shep.breaker import BreakerBoard, BreakerState, MonotonicClock
from adapters.shep.errors import ShepCircuitOpen

__all__ = [
    "HttpSettings",
    "Problem",
    "RestCaller",
    "UpstreamCircuitOpen",
    "UpstreamError",
    "UpstreamNotFound",
    "UpstreamRejected",
    "UpstreamUnavailable",
    "parse_retry_after",
]

log = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)

# "Not now" rather than "never": the only statuses worth a second attempt.
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
# "Your request is wrong": the caller must change it, a retry would be refused again.
REJECTION_STATUSES = frozenset({400, 409, 422})


class UpstreamError(Exception):
    """The upstream failed or answered something we cannot use."""

    def __init__(
        self,
        message: str,
        *,
        service: str = "",
        endpoint: str = "",
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.service = service
        self.endpoint = endpoint
        self.status = status


class UpstreamUnavailable(UpstreamError):
    """Unreachable, too slow or overloaded, after the retries the deadline allowed."""

    def __init__(
        self,
        message: str,
        *,
        service: str = "",
        endpoint: str = "",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, service=service, endpoint=endpoint, status=status)
        self.retry_after = retry_after


class UpstreamCircuitOpen(UpstreamUnavailable):
    """Not even tried: the endpoint failed repeatedly and is cooling down."""


class UpstreamNotFound(UpstreamError):
    """The upstream has no such record: an answer the caller acts on, not a failure."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One refused field, as the upstream's problem document named it."""

    field: str
    reason: str


class UpstreamRejected(UpstreamError):
    """The upstream refused our request as wrong; ``problems`` say which field and why."""

    def __init__(
        self,
        message: str,
        *,
        problems: list[Problem],
        service: str = "",
        endpoint: str = "",
        status: int | None = None,
    ) -> None:
        super().__init__(message, service=service, endpoint=endpoint, status=status)
        self.problems = problems

    @property
    def field(self) -> str:
        """The first refused field: most refusals name exactly one."""
        return self.problems[0].field if self.problems else "body"

    @property
    def reason(self) -> str:
        return self.problems[0].reason if self.problems else str(self)

    @property
    def fields(self) -> list[str]:
        return [p.field for p in self.problems]


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """Where an upstream is and how long we are prepared to wait for it.

    ``deadline`` bounds one logical call, retries and back-off included; each attempt
    is further bounded by the connect and read timeouts.
    """

    base_url: str
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    deadline: float = 20.0
    max_attempts: int = 4
    backoff_initial: float = 0.2
    backoff_max: float = 2.0
    breaker_failures: int = 5
    breaker_cool_down: float = 30.0
    headers: Mapping[str, str] = field(default_factory=dict)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _problems_of(response: httpx.Response) -> list[Problem]:
    """Read the refused fields from a problem document, or from FastAPI's default shape."""
    try:
        body = response.json()
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    found: list[Problem] = []
    errors = body.get("errors")
    if isinstance(errors, list):
        for item in errors:
            if isinstance(item, dict):
                found.append(
                    Problem(str(item.get("field", "body")), str(item.get("reason", "invalid")))
                )
    detail = body.get("detail")
    if not found and isinstance(detail, list):
        for item in detail:
            if isinstance(item, dict):
                loc = [str(p) for p in item.get("loc", []) if p not in ("body", "query")]
                found.append(Problem(".".join(loc) or "body", str(item.get("msg", "invalid"))))
    if not found and isinstance(detail, str):
        found.append(Problem("body", detail))
    return found


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, UpstreamUnavailable) and not isinstance(exc, UpstreamCircuitOpen)


class _HonourRetryAfter:
    """Back-off that waits at least what a 429's ``Retry-After`` asked for."""

    def __init__(self, backoff: Callable[[RetryCallState], float]) -> None:
        self._backoff = backoff

    def __call__(self, state: RetryCallState) -> float:
        wait = self._backoff(state)
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, UpstreamUnavailable) and exc.retry_after is not None:
            wait = max(wait, exc.retry_after)
        return wait


class _StopBeforeDeadline(stop_base):
    """Stop when the next sleep would end past the deadline, on our injected clock.

    tenacity's ``stop_before_delay`` reads the real clock; a test's clock is another,
    so both are checked.
    """

    def __init__(self, monotonic: MonotonicClock, started: float, deadline: float) -> None:
        self._monotonic = monotonic
        self._started = started
        self._deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        upcoming = retry_state.upcoming_sleep or 0.0
        return self._monotonic() - self._started + upcoming >= self._deadline


class RestCaller:
    """Calls one upstream's endpoints with the discipline described above.

    One per upstream and process: it owns the connection pool and the breakers.
    ``monotonic`` and ``sleep`` are injected so tests move time instead of waiting.
    """

    def __init__(
        self,
        service: str,
        settings: HttpSettings,
        *,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        breakers: BreakerBoard | None = None,
        monotonic: MonotonicClock = time.monotonic,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.service = service
        self.settings = settings
        self._monotonic = monotonic
        self._sleep = sleep
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(
            base_url=settings.base_url,
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            headers=dict(settings.headers),
            follow_redirects=False,
            transport=transport,
        )
        self.breakers = breakers or BreakerBoard(
            failure_threshold=settings.breaker_failures,
            cool_down=settings.breaker_cool_down,
            clock=monotonic,
        )

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    def breaker_state(self, endpoint: str) -> BreakerState:
        return self.breakers.get(self._breaker_key(endpoint)).state

    def _breaker_key(self, endpoint: str) -> str:
        return f"{self.service} {endpoint}"

    async def call(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """One logical call; returns the 2xx response or raises a typed error.

        ``endpoint`` names the breaker (a route template such as
        ``POST /api/v1/appeals/{id}/status``), so all appeals share one breaker rather
        than one per id.
        """
        s = self.settings
        breaker = self.breakers.get(self._breaker_key(endpoint))
        headers: dict[str, str] = {}
        if method.upper() not in ("GET", "HEAD"):
            headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
        started = self._monotonic()
        backoff = wait_exponential(multiplier=s.backoff_initial, max=s.backoff_max) + wait_random(
            0, s.backoff_initial
        )

        retrying = AsyncRetrying(
            retry=retry_if_exception(_is_retryable),
            stop=stop_after_attempt(s.max_attempts)
            | stop_before_delay(s.deadline)
            | _StopBeforeDeadline(self._monotonic, started, s.deadline),
            wait=_HonourRetryAfter(backoff),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            async with asyncio.timeout(s.deadline):
                async for attempt in retrying:
                    with attempt:
                        try:
                            breaker.before_call()
                        except ShepCircuitOpen as exc:
                            raise UpstreamCircuitOpen(
                                str(exc), service=self.service, endpoint=endpoint
                            ) from None
                        try:
                            response = await self._attempt(
                                method,
                                path,
                                endpoint,
                                json=json,
                                params=params,
                                headers=headers,
                                time_left=s.deadline - (self._monotonic() - started),
                            )
                        except UpstreamUnavailable:
                            breaker.record_failure()
                            raise
                        except UpstreamError as exc:
                            # It answered, so it is up; a 5xx other than the transient
                            # ones still says the endpoint is unwell.
                            if exc.status is not None and exc.status >= 500:
                                breaker.record_failure()
                            else:
                                breaker.record_success()
                            raise
                        except BaseException:
                            breaker.abandon()
                            raise
                        breaker.record_success()
                        return response
        except TimeoutError:
            raise UpstreamUnavailable(
                f"{self.service}: no answer within the {s.deadline}s deadline",
                service=self.service,
                endpoint=endpoint,
            ) from None
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    async def _attempt(
        self,
        method: str,
        path: str,
        endpoint: str,
        *,
        json: Any,
        params: Mapping[str, str] | None,
        headers: dict[str, str],
        time_left: float,
    ) -> httpx.Response:
        service = self.service
        try:
            response = await self._http.request(
                method, path, json=json, params=params, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise UpstreamUnavailable(
                f"{self.service}: {type(exc).__name__} on {endpoint}",
                service=service,
                endpoint=endpoint,
            ) from exc
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(
                f"{self.service}: unreachable ({type(exc).__name__}) on {endpoint}",
                service=service,
                endpoint=endpoint,
            ) from exc
        status = response.status_code
        if status < 300:
            return response
        if status in TRANSIENT_STATUSES:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None and retry_after > time_left:
                # Waiting as asked would take us past the deadline: say so now.
                raise UpstreamUnavailable(
                    f"{self.service}: HTTP {status}, retry after {retry_after:.0f}s "
                    "is beyond the deadline",
                    status=status,
                    retry_after=retry_after,
                    service=service,
                    endpoint=endpoint,
                )
            raise UpstreamUnavailable(
                f"{self.service}: HTTP {status} on {endpoint}",
                status=status,
                retry_after=retry_after,
                service=service,
                endpoint=endpoint,
            )
        if status == 404:
            raise UpstreamNotFound(
                f"{self.service}: not found: {path}",
                status=status,
                service=service,
                endpoint=endpoint,
            )
        if status in REJECTION_STATUSES:
            problems = _problems_of(response)
            summary = "; ".join(f"{p.field}: {p.reason}" for p in problems) or f"HTTP {status}"
            raise UpstreamRejected(
                f"{self.service} refused {endpoint}: {summary}",
                problems=problems,
                status=status,
                service=service,
                endpoint=endpoint,
            )
        raise UpstreamError(
            f"{self.service}: HTTP {status} on {endpoint}",
            status=status,
            service=service,
            endpoint=endpoint,
        )

    @staticmethod
    def parse(response: httpx.Response, model: type[ModelT], *, service: str = "") -> ModelT:
        """The answer as ``model``, or ``UpstreamError`` if it does not fit the contract."""
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise UpstreamError(
                f"{service}: answer does not fit {model.__name__}: {exc.error_count()} errors",
                status=response.status_code,
            ) from exc
