"""The admin API over HTTP, and the ASGI pieces that apply faults to real calls.

``install_admin`` mounts the ``/__admin`` endpoints on a Starlette or FastAPI app and,
for REST mocks, ``FaultMiddleware`` (faults and journal keyed by route name). A mock
that finds its service key only by parsing the request (the SOAP bus) skips the
middleware and applies ``MockAdmin.decide``'s answer itself.

Dropping a connection: ASGI has no message for "close without answering" (a server
answers 500 to an app that raises before responding), so ``install_admin`` puts a thin
guard outside the app's whole middleware stack that remembers the server's own
``send``; with uvicorn that is a method of the connection's request cycle, whose
transport we abort with SO_LINGER 0, so the client sees a reset with no response at
all. Under a server without that shape (httpx's ASGITransport in unit tests) the
mock raises ``ConnectionDropped`` instead, which such a test client re-raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mocks.admin.core import MockAdmin
from mocks.admin.faults import AppliedFault, FaultKind, FaultSpec, malformed_body, truncate_body
from mocks.admin.journal import JournalRecord

PROBLEM = "application/problem+json"
_ABORT_KEY = "mocks.admin.abort"
_MAX_ADMIN_BODY = 2 << 20

ServiceKey = Callable[[Scope], str | None]
SoapFaultRenderer = Callable[[AppliedFault], tuple[int, bytes, str]]


class ConnectionDropped(Exception):
    """A connection_reset fault under a server whose transport we cannot reach."""


# --- dropping a connection -------------------------------------------------------


class _TransportGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[_ABORT_KEY] = lambda: _abort_transport(send)
        await self.app(scope, receive, send)


async def _abort_transport(send: Send) -> bool:
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        return False
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # Linger 0: the kernel answers with RST, as a crashed peer or a firewall would.
        with contextlib.suppress(OSError, AttributeError, TypeError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    # Let the server see the connection lost before the app returns, so it neither
    # logs "returned without a response" nor tries to answer 500.
    for _ in range(3):
        await asyncio.sleep(0)
    return True


async def reset_connection(scope: Scope) -> None:
    """Close the client's connection without answering; call, then send nothing."""
    abort: Callable[[], Awaitable[bool]] | None = scope.get(_ABORT_KEY)
    if abort is not None and await abort():
        return
    raise ConnectionDropped("connection_reset fault (this server's transport is not reachable)")


class ConnectionResetResponse(Response):
    """Return it from a route handler to drop the connection instead of answering."""

    def __init__(self) -> None:
        super().__init__(b"", status_code=500)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await reset_connection(scope)


# --- the middleware for REST mocks -----------------------------------------------


def route_name(scope: Scope) -> str | None:
    """The name of the route this request will reach (the REST mocks' service key)."""
    app = scope.get("app")
    router = getattr(app, "router", None)
    for route in getattr(router, "routes", ()):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            name = getattr(route, "name", None)
            return name if isinstance(name, str) else None
    return None


def _json_soap_fault(fault: AppliedFault) -> tuple[int, bytes, str]:
    body = json.dumps({"code": fault.code, "message": fault.message}).encode()
    return 500, body, "application/json"


class FaultMiddleware:
    """Applies the admin's faults to every non-admin call and journals it.

    ``service_key`` maps a request to the key rules match (default: its route's name,
    falling back to the path); ``soap_fault`` renders a ``soap_fault`` rule in the
    mock's own error format (default: HTTP 500 with ``{"code", "message"}``).
    """

    def __init__(
        self,
        app: ASGIApp,
        admin: MockAdmin,
        *,
        service_key: ServiceKey | None = None,
        soap_fault: SoapFaultRenderer | None = None,
        prefix: str = "/__admin",
    ) -> None:
        self.app = app
        self.admin = admin
        self.service_key = service_key or (lambda scope: route_name(scope) or scope["path"])
        self.soap_fault = soap_fault or _json_soap_fault
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        admin = self.admin
        received_at, clock_time, started = datetime.now(UTC), admin.clock.now(), time.monotonic()
        service = self.service_key(scope)
        fault = admin.decide(service)
        # Read the body first, so the journal has it even when the mock never reads it,
        # then hand it to the mock as if fresh from the client.
        request_body = await _read_all(receive)
        status: list[int] = []
        response_body = bytearray()
        replayed = False

        async def replaying_receive() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": request_body, "more_body": False}
            return await receive()

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            elif message["type"] == "http.response.body":
                response_body.extend(message.get("body", b""))
            await send(message)

        def journal() -> None:
            admin.journal.add(
                method=scope["method"],
                path=scope["path"],
                service=service,
                http_status=status[0] if status else None,
                request=request_body,
                response=bytes(response_body),
                fault=fault.label if fault else None,
                received_at=received_at,
                clock_time=clock_time,
                duration_ms=(time.monotonic() - started) * 1000,
            )

        try:
            if fault is not None and fault.delay_ms:
                await asyncio.sleep(fault.delay_seconds)
            if fault is None or fault.kind is FaultKind.DELAY:
                await self.app(scope, replaying_receive, recording_send)
            elif fault.kind is FaultKind.TRUNCATED:
                await self._truncated(scope, replaying_receive, recording_send)
            else:
                if fault.kind is FaultKind.CONNECTION_RESET:
                    journal()
                    await reset_connection(scope)
                    return
                code, body, content_type = self._replacement(fault)
                await _send_plain(recording_send, code, body, content_type)
        finally:
            if not (fault and fault.kind is FaultKind.CONNECTION_RESET):
                journal()

    def _replacement(self, fault: AppliedFault) -> tuple[int, bytes, str]:
        if fault.kind is FaultKind.HTTP_ERROR:
            body = (fault.body or "").encode()
            return fault.status or 500, body, fault.content_type or "text/plain; charset=utf-8"
        if fault.kind is FaultKind.SOAP_FAULT:
            return self.soap_fault(fault)
        return 200, malformed_body(fault.body), fault.content_type or "application/json"

    async def _truncated(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message | None = None
        body = bytearray()

        async def buffer(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self.app(scope, receive, buffer)
        if start is None:
            return
        cut = truncate_body(bytes(body))
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(cut)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": cut})


async def _read_all(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send_plain(send: Send, status: int, body: bytes, content_type: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# --- the endpoints -----------------------------------------------------------------


def problem(status: int, title: str, errors: list[dict[str, str]] | None = None) -> JSONResponse:
    """The project's error shape: problem+json with ``errors: [{field, reason}]``."""
    content: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if errors:
        content["errors"] = errors
    return JSONResponse(content, status_code=status, media_type=PROBLEM)


def _invalid(exc: ValidationError) -> JSONResponse:
    errors = [
        {
            "field": ".".join(str(p) for p in e["loc"]) or "body",
            "reason": e["msg"].removeprefix("Value error, "),
        }
        for e in exc.errors()
    ]
    return problem(422, "invalid request", errors)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > _MAX_ADMIN_BODY:
        raise _BadBody("the body is too large")
    try:
        return json.loads(raw or b"null")
    except ValueError as exc:
        raise _BadBody(f"not JSON: {exc}") from None


class _BadBody(Exception):
    pass


class _StateChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: str = Field(min_length=1, max_length=200)


class _ClockChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    now: datetime | None = None
    running: bool = False
    advance_seconds: float | None = Field(default=None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_change(self) -> _ClockChange:
        if (self.now is None) == (self.advance_seconds is None):
            raise ValueError("give exactly one of now (ISO 8601) or advance_seconds")
        return self


def _query(request: Request) -> dict[str, Any] | JSONResponse:
    params = request.query_params
    query: dict[str, Any] = {}
    for name in ("service", "path", "fault"):
        if params.get(name):
            query[name] = params[name]
    if params.get("since"):
        try:
            since = datetime.fromisoformat(params["since"].replace(" ", "+"))
        except ValueError:
            return problem(422, "invalid query", [{"field": "since", "reason": "not ISO 8601"}])
        query["since"] = since if since.tzinfo else since.replace(tzinfo=UTC)
    return query


def _records_json(records: list[JournalRecord]) -> JSONResponse:
    return JSONResponse({"requests": [r.as_json() for r in records], "total": len(records)})


def install_admin(
    app: Starlette,
    admin: MockAdmin,
    *,
    prefix: str = "/__admin",
    middleware: bool = False,
    service_key: ServiceKey | None = None,
    soap_fault: SoapFaultRenderer | None = None,
) -> None:
    """Mount the admin endpoints (and, with ``middleware``, ``FaultMiddleware``).

    Call before the app serves its first request: the connection guard and the
    middleware go into the app's middleware stack, which Starlette builds then.
    """
    app.state.admin = admin
    if middleware:
        app.add_middleware(
            FaultMiddleware,
            admin=admin,
            service_key=service_key,
            soap_fault=soap_fault,
            prefix=prefix,
        )
    _guard(app)

    async def list_faults(request: Request) -> Response:
        return JSONResponse({"faults": [r.as_json() for r in admin.faults()]})

    async def add_fault(request: Request) -> Response:
        try:
            rule = admin.add_fault(FaultSpec.model_validate(await _json_body(request)))
        except _BadBody as exc:
            return problem(400, "invalid request", [{"field": "body", "reason": str(exc)}])
        except ValidationError as exc:
            return _invalid(exc)
        return JSONResponse(rule.as_json(), status_code=201)

    async def clear_faults(request: Request) -> Response:
        admin.clear_faults()
        return Response(status_code=204)

    async def one_fault(request: Request) -> Response:
        rule_id: int = request.path_params["rule_id"]
        if request.method == "DELETE":
            if admin.remove_fault(rule_id):
                return Response(status_code=204)
        elif (rule := admin.fault(rule_id)) is not None:
            return JSONResponse(rule.as_json())
        return problem(404, f"no fault rule {rule_id}")

    async def requests(request: Request) -> Response:
        query = _query(request)
        if isinstance(query, Response):
            return query
        return _records_json(admin.journal.records(**query))

    async def count(request: Request) -> Response:
        query = _query(request)
        if isinstance(query, Response):
            return query
        return JSONResponse({"count": admin.journal.count(**query)})

    async def clear_requests(request: Request) -> Response:
        admin.journal.clear()
        return Response(status_code=204)

    async def scenarios(request: Request) -> Response:
        if request.method == "DELETE":
            admin.scenarios.reset()
            return Response(status_code=204)
        states = admin.scenarios.all()
        return JSONResponse({"scenarios": [{"name": n, "state": s} for n, s in states.items()]})

    async def scenario(request: Request) -> Response:
        name: str = request.path_params["name"]
        if request.method == "PUT":
            try:
                change = _StateChange.model_validate(await _json_body(request))
            except _BadBody as exc:
                return problem(400, "invalid request", [{"field": "body", "reason": str(exc)}])
            except ValidationError as exc:
                return _invalid(exc)
            admin.scenarios.set(name, change.state)
        return JSONResponse({"name": name, "state": admin.scenarios.state(name)})

    async def clock(request: Request) -> Response:
        if request.method == "DELETE":
            admin.clock.reset()
        elif request.method == "PUT":
            try:
                change = _ClockChange.model_validate(await _json_body(request))
            except _BadBody as exc:
                return problem(400, "invalid request", [{"field": "body", "reason": str(exc)}])
            except ValidationError as exc:
                return _invalid(exc)
            if change.now is not None:
                admin.clock.set(change.now, running=change.running)
            else:
                admin.clock.advance(change.advance_seconds or 0.0)
        return JSONResponse(admin.clock.as_json())

    async def reset(request: Request) -> Response:
        admin.reset()
        return Response(status_code=204)

    for path, endpoint, methods in (
        ("/faults", list_faults, ["GET"]),
        ("/faults", add_fault, ["POST"]),
        ("/faults", clear_faults, ["DELETE"]),
        ("/faults/{rule_id:int}", one_fault, ["GET", "DELETE"]),
        ("/requests", requests, ["GET"]),
        ("/requests", clear_requests, ["DELETE"]),
        ("/requests/count", count, ["GET"]),
        ("/scenarios", scenarios, ["GET", "DELETE"]),
        ("/scenarios/{name}", scenario, ["GET", "PUT"]),
        ("/clock", clock, ["GET", "PUT", "DELETE"]),
        ("/reset", reset, ["POST"]),
    ):
        app.add_route(
            prefix + path,
            endpoint,
            methods=methods,
            name=f"admin.{endpoint.__name__}",
            include_in_schema=False,
        )


def _guard(app: Starlette) -> None:
    if app.middleware_stack is not None:  # already serving: wrap what runs
        app.middleware_stack = _TransportGuard(app.middleware_stack)
        return
    build = app.build_middleware_stack

    def build_guarded() -> ASGIApp:
        return _TransportGuard(build())

    # The guard must sit outside Starlette's ServerErrorMiddleware, which wraps the
    # server's ``send``; overriding the builder is the one place that sees it.
    setattr(app, "build_middleware_stack", build_guarded)  # noqa: B010
