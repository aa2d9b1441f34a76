"""The admin API of the mock bodies: faults, the body's clock and the journal over HTTP.

The HTTP mocks get theirs from ``mocks.admin``; the bodies speak AMQP, so their faults
are about what a body does with a task rather than with an HTTP answer:

* ``reject``  - take the task, then report ``rejected`` with the given reason;
* ``delay``   - take the task and work ``delay_seconds`` longer before starting;
* ``silent``  - take the task, report ``received`` and never anything more;
* ``crash``   - hand the delivery back (nack with requeue) without taking it, so that
  RabbitMQ counts the delivery and dead-letters the message past the delivery limit.

Triggers follow ``mocks.admin``: ``probability`` (seeded), ``every_nth``, ``times``.
Every delivery of a ``task.assigned`` message to a matching body is one call.

``POST /__admin/reset`` clears the faults and the clock but keeps the journals: the
journal is also the body's deduplication record, and wiping it under a running body
would make it take a redelivered task a second time. Delete the state directory
with the mocks stopped to start from nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import uvicorn
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mocks.admin.clock import MockClock
from mocks.admin.http import problem
from mocks.agencies import metrics
from mocks.agencies.journal import JournalEntry, journal

ANY_AGENCY = "*"
PREFIX = "/__admin"


class BodyFaultKind(StrEnum):
    REJECT = "reject"
    DELAY = "delay"
    SILENT = "silent"
    CRASH = "crash"


class BodyFaultSpec(BaseModel):
    """What a client posts to ``/__admin/faults``; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agency: str = Field(default=ANY_AGENCY, min_length=1, max_length=100)
    kind: BodyFaultKind
    reason: str = Field(
        default="The task is outside this body's competence (injected by the mock's admin API).",
        min_length=1,
        max_length=2000,
    )
    delay_seconds: float = Field(default=0.0, ge=0.0, le=30 * 86400, allow_inf_nan=False)
    probability: float | None = Field(default=None, ge=0.0, le=1.0)
    seed: int | None = None
    every_nth: int | None = Field(default=None, ge=1)
    times: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _delay_needs_seconds(self) -> BodyFaultSpec:
        if self.kind is BodyFaultKind.DELAY and self.delay_seconds <= 0:
            raise ValueError("a delay fault needs delay_seconds > 0")
        return self


@dataclass(frozen=True)
class BodyFault:
    """The decision for one delivery."""

    rule_id: int
    kind: BodyFaultKind
    reason: str
    delay_seconds: float


class BodyFaultRule:
    """A spec and its counters, with the trigger semantics of ``mocks.admin`` rules."""

    def __init__(self, rule_id: int, spec: BodyFaultSpec, rng: random.Random) -> None:
        self.id = rule_id
        self.spec = spec
        self._rng = rng
        self.seen = 0
        self.fired = 0
        self.remaining = spec.times

    @property
    def active(self) -> bool:
        return self.remaining is None or self.remaining > 0

    def matches(self, agency: str) -> bool:
        return self.active and self.spec.agency in (ANY_AGENCY, agency)

    def count(self) -> None:
        self.seen += 1

    def fires(self) -> bool:
        """Whether this (already counted) call triggers the rule; spends it if so."""
        s = self.spec
        if s.every_nth is not None and self.seen % s.every_nth != 0:
            return False
        if s.probability is not None and self._rng.random() >= s.probability:
            return False
        self.fired += 1
        if self.remaining is not None:
            self.remaining -= 1
        return True

    def as_json(self) -> dict[str, Any]:
        data = self.spec.model_dump(mode="json", exclude_none=True)
        data.update(id=self.id, seen=self.seen, fired=self.fired, active=self.active)
        if self.remaining is not None:
            data["remaining"] = self.remaining
        return data


class BodyFaults:
    """The fault rules of all bodies in one process, evaluated in the order added."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._rules: list[BodyFaultRule] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, spec: BodyFaultSpec) -> BodyFaultRule:
        with self._lock:
            rule_id = next(self._ids)
            seed: int | str = spec.seed if spec.seed is not None else f"{self.seed}:{rule_id}"
            rule = BodyFaultRule(rule_id, spec, random.Random(seed))
            self._rules.append(rule)
            return rule

    def rules(self) -> list[BodyFaultRule]:
        with self._lock:
            return list(self._rules)

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._ids = itertools.count(1)

    def decide(self, agency: str) -> BodyFault | None:
        """The fault for one delivery of a new task to `agency`, or None.

        Every matching rule counts the delivery (so ``every_nth`` counts all of them);
        the first that fires is applied.
        """
        with self._lock:
            chosen: BodyFaultRule | None = None
            for rule in self._rules:
                if not rule.matches(agency):
                    continue
                rule.count()
                if chosen is None and rule.fires():
                    chosen = rule
            if chosen is None:
                return None
            s = chosen.spec
            return BodyFault(chosen.id, s.kind, s.reason, s.delay_seconds)


class _Wakeable(Protocol):
    def wake(self) -> None: ...


class AgenciesAdmin:
    """Admin state shared by the bodies of one process and the HTTP endpoints."""

    def __init__(
        self,
        state_dir: Path,
        codes: Sequence[str] = (),
        *,
        clock: MockClock | None = None,
        seed: int = 0,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.codes = list(codes)
        self.clock = clock or MockClock()
        self.faults = BodyFaults(seed)
        self._listeners: list[_Wakeable] = []

    def now(self) -> float:
        """The bodies' clock in unix seconds (what stores and schedulers read)."""
        return self.clock.now().timestamp()

    def on_clock_change(self, listener: _Wakeable) -> None:
        """`listener.wake()` runs whenever the clock is set, moved or reset."""
        self._listeners.append(listener)

    def forget(self, listener: _Wakeable) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def clock_changed(self) -> None:
        for listener in list(self._listeners):
            listener.wake()

    def reset(self) -> None:
        self.faults.clear()
        self.clock.reset()
        self.clock_changed()

    def entries(
        self,
        agency: str | None = None,
        type_: str | None = None,
        task_id: str | None = None,
        effect: str | None = None,
    ) -> list[dict[str, Any]]:
        codes = [agency] if agency else self.codes
        found: list[dict[str, Any]] = []
        for code in codes:
            for entry in journal(self.state_dir, code):
                if type_ and entry.type != type_:
                    continue
                if task_id and entry.task_id != task_id:
                    continue
                if effect and entry.effect.value != effect:
                    continue
                found.append(_entry_json(code, entry))
        return found


def _entry_json(agency: str, entry: JournalEntry) -> dict[str, Any]:
    data = asdict(entry)
    data["agency"] = agency
    data["received_at"] = entry.received_at.isoformat()
    data["effect"] = entry.effect.value
    return data


class _ClockChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    now: datetime | None = None
    running: bool = False
    advance_seconds: float | None = Field(default=None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _exactly_one(self) -> _ClockChange:
        if (self.now is None) == (self.advance_seconds is None):
            raise ValueError("give exactly one of now (ISO 8601) or advance_seconds")
        return self


def _invalid(exc: ValidationError) -> JSONResponse:
    errors = [
        {"field": ".".join(str(p) for p in err["loc"]) or "body", "reason": err["msg"]}
        for err in exc.errors()
    ]
    return problem(422, "invalid request", errors)


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return await request.json()
    except ValueError:
        return None


def build_app(admin: AgenciesAdmin) -> Starlette:
    """The Starlette app serving ``/__admin`` for the bodies."""

    async def list_faults(request: Request) -> Response:
        return JSONResponse({"faults": [r.as_json() for r in admin.faults.rules()]})

    async def add_fault(request: Request) -> Response:
        body = await _body(request)
        if not isinstance(body, dict):
            return problem(
                400, "invalid request", [{"field": "body", "reason": "not a JSON object"}]
            )
        try:
            spec = BodyFaultSpec.model_validate(body)
        except ValidationError as exc:
            return _invalid(exc)
        if spec.agency != ANY_AGENCY and admin.codes and spec.agency not in admin.codes:
            reason = f"not served here; served: {', '.join(admin.codes)}"
            return problem(422, "invalid request", [{"field": "agency", "reason": reason}])
        return JSONResponse(admin.faults.add(spec).as_json(), status_code=201)

    async def clear_faults(request: Request) -> Response:
        admin.faults.clear()
        return Response(status_code=204)

    async def one_fault(request: Request) -> Response:
        rule_id: int = request.path_params["rule_id"]
        if request.method == "DELETE":
            if admin.faults.remove(rule_id):
                return Response(status_code=204)
        else:
            for rule in admin.faults.rules():
                if rule.id == rule_id:
                    return JSONResponse(rule.as_json())
        return problem(404, f"no fault rule {rule_id}")

    def filtered(request: Request) -> list[dict[str, Any]]:
        q = request.query_params
        return admin.entries(
            agency=q.get("agency") or None,
            type_=q.get("type") or None,
            task_id=q.get("task_id") or None,
            effect=q.get("effect") or None,
        )

    async def requests(request: Request) -> Response:
        agency = request.query_params.get("agency")
        if agency and admin.codes and agency not in admin.codes:
            return problem(404, f"agency '{agency}' is not served here")
        found = await asyncio.to_thread(filtered, request)
        return JSONResponse({"requests": found, "total": len(found)})

    async def count(request: Request) -> Response:
        agency = request.query_params.get("agency")
        if agency and admin.codes and agency not in admin.codes:
            return problem(404, f"agency '{agency}' is not served here")
        found = await asyncio.to_thread(filtered, request)
        return JSONResponse({"count": len(found)})

    async def clock(request: Request) -> Response:
        if request.method == "DELETE":
            admin.clock.reset()
        elif request.method == "PUT":
            body = await _body(request)
            if not isinstance(body, dict):
                return problem(
                    400, "invalid request", [{"field": "body", "reason": "not a JSON object"}]
                )
            try:
                change = _ClockChange.model_validate(body)
            except ValidationError as exc:
                return _invalid(exc)
            if change.now is not None:
                admin.clock.set(change.now, running=change.running)
            else:
                admin.clock.advance(change.advance_seconds or 0.0)
        if request.method != "GET":
            admin.clock_changed()
        return JSONResponse(admin.clock.as_json())

    async def reset(request: Request) -> Response:
        admin.reset()
        return Response(status_code=204)

    async def scrape(request: Request) -> Response:
        body = await asyncio.to_thread(metrics.exposition, admin.state_dir, admin.codes)
        return Response(body, media_type=metrics.CONTENT_TYPE)

    routes = [
        Route("/metrics", scrape, methods=["GET"]),
        Route(PREFIX + "/faults", list_faults, methods=["GET"]),
        Route(PREFIX + "/faults", add_fault, methods=["POST"]),
        Route(PREFIX + "/faults", clear_faults, methods=["DELETE"]),
        Route(PREFIX + "/faults/{rule_id:int}", one_fault, methods=["GET", "DELETE"]),
        Route(PREFIX + "/requests", requests, methods=["GET"]),
        Route(PREFIX + "/requests/count", count, methods=["GET"]),
        Route(PREFIX + "/clock", clock, methods=["GET", "PUT", "DELETE"]),
        Route(PREFIX + "/reset", reset, methods=["POST"]),
    ]
    return Starlette(routes=routes)


class _InProcessServer(uvicorn.Server):
    """uvicorn inside the mocks' own event loop; the CLI keeps its signal handling."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve_admin(
    admin: AgenciesAdmin, *, host: str = "127.0.0.1", port: int = 8230
) -> AsyncIterator[uvicorn.Server]:
    """Serve the admin API until the block ends."""
    config = uvicorn.Config(
        build_app(admin), host=host, port=port, log_level="warning", lifespan="off"
    )
    server = _InProcessServer(config)
    task = asyncio.create_task(server.serve(), name="mock-agencies-admin")
    try:
        while not server.started:
            if task.done():
                # uvicorn exits (SystemExit) when it cannot bind, e.g. the port is taken.
                with contextlib.suppress(SystemExit):
                    task.result()
                raise RuntimeError(f"the admin API could not listen on {host}:{port}")
            await asyncio.sleep(0.02)
        yield server
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
