"""The admin API of the chain's mock bodies: faults, the bodies' clock and their journals.

Endpoints under ``/__admin`` (see README.md):

* ``GET /requests`` and ``/requests/count`` - every message a body received, with its
  effect (``taken``, ``withdrawn``, ``duplicate``, ``ignored``); filters ``body``,
  ``type``, ``case_id``, ``step``, ``effect``;
* ``GET /decisions`` - every step a body took and what it decided, signed by whom, and
  whether the broker has it; filters ``body``, ``case_id``, ``step``, ``state``,
  ``decision``;
* ``/faults`` - see ``mocks.kandas_bodies.faults``;
* ``/clock`` - the bodies' clock, which dates the decisions and schedules the work;
* ``POST /reset`` - clears the faults and the clock but keeps the journals: the journal
  is also the body's deduplication record, and wiping it under a running body would make
  it take a redelivered step a second time. Delete the state directory with the mocks
  stopped to start from nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import asdict
from datetime import datetime
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
from mocks.kandas_bodies.faults import ANY, Faults, FaultSpec
from mocks.kandas_bodies.journal import journal, steps

PREFIX = "/__admin"


class Listener(Protocol):
    def wake(self) -> None: ...

    def faults_changed(self) -> None: ...


class BodiesAdmin:
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
        self.faults = Faults(seed)
        self._listeners: list[Listener] = []

    def now(self) -> float:
        """The bodies' clock in unix seconds (what the stores and workers read)."""
        return self.clock.now().timestamp()

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def forget(self, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def clock_changed(self) -> None:
        for listener in list(self._listeners):
            listener.wake()

    def faults_changed(self) -> None:
        for listener in list(self._listeners):
            listener.faults_changed()

    def reset(self) -> None:
        self.faults.clear()
        self.clock.reset()
        self.faults_changed()
        self.clock_changed()

    def requests(self, body: str | None, filters: dict[str, str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for code in [body] if body else self.codes:
            for entry in journal(self.state_dir, code):
                row = asdict(entry) | {"body": code, "effect": entry.effect.value}
                if _matches(row, filters):
                    found.append(row)
        return found

    def decisions(self, body: str | None, filters: dict[str, str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for code in [body] if body else self.codes:
            for record in steps(self.state_dir, code):
                row = asdict(record) | {"body": code, "state": record.state.value}
                if _matches(row, filters):
                    found.append(row)
        return found


def _matches(row: dict[str, Any], filters: dict[str, str]) -> bool:
    return all(str(row.get(key)) == value for key, value in filters.items())


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
        {
            "field": ".".join(str(p) for p in err["loc"]) or "body",
            "reason": err["msg"].removeprefix("Value error, "),
        }
        for err in exc.errors()
    ]
    return problem(422, "invalid request", errors)


async def _json_object(request: Request) -> dict[str, Any] | None:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


_NOT_AN_OBJECT = [{"field": "body", "reason": "not a JSON object"}]


def build_app(admin: BodiesAdmin) -> Starlette:
    """The Starlette app serving ``/__admin`` for the bodies."""

    def unknown_body(request: Request) -> Response | None:
        body = request.query_params.get("body")
        if body and admin.codes and body not in admin.codes:
            return problem(404, f"body '{body}' is not served here")
        return None

    def filters(request: Request, keys: tuple[str, ...]) -> dict[str, str]:
        return {k: v for k in keys if (v := request.query_params.get(k))}

    async def list_faults(request: Request) -> Response:
        return JSONResponse({"faults": [r.as_json() for r in admin.faults.rules()]})

    async def add_fault(request: Request) -> Response:
        body = await _json_object(request)
        if body is None:
            return problem(400, "invalid request", _NOT_AN_OBJECT)
        try:
            spec = FaultSpec.model_validate(body)
        except ValidationError as exc:
            return _invalid(exc)
        if spec.body != ANY and admin.codes and spec.body not in admin.codes:
            reason = f"not served here; served: {', '.join(admin.codes)}"
            return problem(422, "invalid request", [{"field": "body", "reason": reason}])
        rule = admin.faults.add(spec)
        admin.faults_changed()
        return JSONResponse(rule.as_json(), status_code=201)

    async def clear_faults(request: Request) -> Response:
        admin.faults.clear()
        admin.faults_changed()
        return Response(status_code=204)

    async def one_fault(request: Request) -> Response:
        rule_id: int = request.path_params["rule_id"]
        if request.method == "DELETE":
            if admin.faults.remove(rule_id):
                admin.faults_changed()
                return Response(status_code=204)
        else:
            for rule in admin.faults.rules():
                if rule.id == rule_id:
                    return JSONResponse(rule.as_json())
        return problem(404, f"no fault rule {rule_id}")

    async def requests(request: Request) -> Response:
        if (refused := unknown_body(request)) is not None:
            return refused
        wanted = filters(request, ("type", "case_id", "step", "effect"))
        found = await asyncio.to_thread(admin.requests, request.query_params.get("body"), wanted)
        return JSONResponse({"requests": found, "total": len(found)})

    async def count(request: Request) -> Response:
        if (refused := unknown_body(request)) is not None:
            return refused
        wanted = filters(request, ("type", "case_id", "step", "effect"))
        found = await asyncio.to_thread(admin.requests, request.query_params.get("body"), wanted)
        return JSONResponse({"count": len(found)})

    async def decisions(request: Request) -> Response:
        if (refused := unknown_body(request)) is not None:
            return refused
        wanted = filters(request, ("case_id", "step", "state", "decision"))
        found = await asyncio.to_thread(admin.decisions, request.query_params.get("body"), wanted)
        return JSONResponse({"decisions": found, "total": len(found)})

    async def clock(request: Request) -> Response:
        if request.method == "DELETE":
            admin.clock.reset()
        elif request.method == "PUT":
            body = await _json_object(request)
            if body is None:
                return problem(400, "invalid request", _NOT_AN_OBJECT)
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

    routes = [
        Route(PREFIX + "/faults", list_faults, methods=["GET"]),
        Route(PREFIX + "/faults", add_fault, methods=["POST"]),
        Route(PREFIX + "/faults", clear_faults, methods=["DELETE"]),
        Route(PREFIX + "/faults/{rule_id:int}", one_fault, methods=["GET", "DELETE"]),
        Route(PREFIX + "/requests", requests, methods=["GET"]),
        Route(PREFIX + "/requests/count", count, methods=["GET"]),
        Route(PREFIX + "/decisions", decisions, methods=["GET"]),
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
    admin: BodiesAdmin, *, host: str = "127.0.0.1", port: int = 8280
) -> AsyncIterator[uvicorn.Server]:
    """Serve the admin API until the block ends."""
    config = uvicorn.Config(
        build_app(admin), host=host, port=port, log_level="warning", lifespan="off"
    )
    server = _InProcessServer(config)
    task = asyncio.create_task(server.serve(), name="mock-kandas-bodies-admin")
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
