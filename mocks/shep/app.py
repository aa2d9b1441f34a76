"""The mock bus over HTTP: the SOAP endpoint, its WSDL and XSDs, and the admin API.

The WSDL is served with its address rewritten to wherever the mock actually listens,
so ``zeep.Client("http://127.0.0.1:PORT/bip-sync-wss-gost/?wsdl")`` works against a
mock on any port; the XSDs it imports are served beside it.

The admin API is ``mocks.admin``'s (``/__admin/faults``, ``requests``, ``scenarios``,
``clock``, ``reset``). Fault rules match by ``serviceId``, which only the SOAP body
tells, so the endpoint reads it and asks the admin itself instead of using the REST
middleware. A ``soap_fault`` is raised from inside the registry the call reaches, so
the bus renders and signs it like any registry failure: a request the bus refuses
first (a bad password, an unknown service) gets that refusal, not the injected fault.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from fastapi import FastAPI, Request, Response
from lxml import etree
from opentelemetry import propagate, trace
from starlette.concurrency import run_in_threadpool

from contracts.shep import WSDL_PATH, codes
from mocks.admin import (
    AppliedFault,
    ConnectionResetResponse,
    FaultKind,
    MockAdmin,
    install_admin,
    malformed_body,
    truncate_body,
)
from mocks.admin.faults import earlier_reply
from mocks.admin.journal import JournalRecord
from mocks.population import Population
from mocks.shep.asp_registries import asp_registries
from mocks.shep.async_bus import AsyncBus, install_async_channel
from mocks.shep.bus import BusReply, SyncBus
from mocks.shep.config import BusConfig
from mocks.shep.contract_http import (
    XML_MEDIA_TYPE,
    install_contract_routes,
    read_limited,
    soap_response,
)
from mocks.shep.journal import Journal
from mocks.shep.registries import Registry, RegistryFault, registries_for
from mocks.shep.soap11 import INTERNAL_FAULT, parse, too_large

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("mocks.shep")


def create_app(
    population: Population,
    config: BusConfig,
    *,
    journal: Journal | None = None,
    admin: MockAdmin | None = None,
) -> FastAPI:
    """An ASGI app of the mock bus answering from ``population``.

    ``admin`` (its journal, clock, rules) may be shared with a test; without it the
    bus makes its own around ``journal``. The bus's dates come from ``admin.clock``.
    """
    if admin is None:
        admin = MockAdmin(journal=journal if journal is not None else Journal(config.journal_size))
    injector = _Injector()
    every = {**registries_for(population), **asp_registries(population)}
    registries = {key: _Injectable(r, injector) for key, r in every.items()}
    bus = SyncBus(config, registries, clock=admin.clock)
    path = config.path if config.path.endswith("/") else config.path + "/"
    app = FastAPI(title="Mock e-government bus (ШЭП)", docs_url=None, redoc_url=None)
    app.state.bus = bus
    app.state.journal = admin.journal
    app.state.population = population
    install_admin(app, admin)
    # The asynchronous channel beside it, on the same registries (async_bus.py).
    install_async_channel(app, AsyncBus(config, registries, clock=admin.clock), admin)
    install_contract_routes(app, path, WSDL_PATH)

    @app.post(path)
    @app.post(path.rstrip("/"))
    async def send_message(request: Request) -> Response:
        # A real bus continues its callers' traces; so does the mock (no-op without an SDK).
        parent = propagate.extract(dict(request.headers))
        try:
            with _tracer.start_as_current_span(
                "ШЭП mock bus", context=parent, kind=trace.SpanKind.SERVER
            ):
                return await exchange(request)
        except Exception as exc:  # the last resort: still a SOAP fault, never a text page
            log.error("the bus's endpoint failed: %s", type(exc).__name__)
            return soap_response(INTERNAL_FAULT, 500)

    async def exchange(request: Request) -> Response:
        received_at, clock_time, started = datetime.now(UTC), admin.clock.now(), time.monotonic()
        raw = await read_limited(request, config.max_body_bytes)
        fault: AppliedFault | None = None
        replayed: JournalRecord | None = None
        if raw is None:
            raw, heard = b"", _Heard()
            reply = await run_in_threadpool(bus.refuse, too_large(config.max_body_bytes))
        else:
            heard = await run_in_threadpool(_Heard.read, raw)
            fault = admin.decide(heard.service_id)
            if fault is not None and fault.delay_ms:
                await asyncio.sleep(fault.delay_seconds)
            if fault is not None and fault.kind is FaultKind.REPLAY_REPLY:
                replayed = _earlier(admin, path, heard)
                fault = fault if replayed is not None else None
            if replayed is not None:
                reply = BusReply(
                    200, replayed.response, "", heard.message_id, heard.service_id, heard.sender_id
                )
            else:
                headers = request.headers
                content_type, action = headers.get("content-type"), headers.get("soapaction")
                reply, fault = await _answer(bus, injector, raw, content_type, action, heard, fault)

        def journal(status: int | None, body: bytes) -> None:
            extra = {
                "status_code": reply.status_code,
                "message_id": reply.message_id or heard.message_id,
                "service_id": reply.service_id or heard.service_id,
                "sender_id": reply.sender_id or heard.sender_id,
            }
            if "traceparent" in request.headers:
                extra["traceparent"] = request.headers["traceparent"]
            if replayed is not None:
                extra["replay_of"] = replayed.extra.get("message_id")
            admin.journal.add(
                method=request.method,
                path=request.url.path,
                service=reply.service_id or heard.service_id,
                http_status=status,
                request=raw,
                response=body,
                fault=fault.label if fault else None,
                received_at=received_at,
                clock_time=clock_time,
                duration_ms=(time.monotonic() - started) * 1000,
                extra=extra,
            )

        if fault is not None and fault.kind is FaultKind.CONNECTION_RESET:
            journal(None, b"")
            return ConnectionResetResponse()
        if fault is not None and fault.kind is FaultKind.HTTP_ERROR:
            body = (fault.body or "").encode()
            journal(fault.status or 500, body)
            media_type = fault.content_type or "text/plain; charset=utf-8"
            return Response(body, status_code=fault.status or 500, media_type=media_type)
        if fault is not None and fault.kind is FaultKind.MALFORMED:
            body = malformed_body(fault.body)
            journal(200, body)
            return Response(body, status_code=200, media_type=fault.content_type or XML_MEDIA_TYPE)
        body = reply.body
        if fault is not None and fault.kind is FaultKind.TRUNCATED:
            body = truncate_body(body)
        journal(reply.http_status, body)
        return soap_response(body, reply.http_status)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


@dataclass(frozen=True, slots=True)
class _Heard:
    """What the request says about itself, read before the bus checks anything."""

    service_id: str | None = None
    message_id: str | None = None
    sender_id: str | None = None

    @classmethod
    def read(cls, raw: bytes) -> _Heard:
        try:
            root = parse(raw)
        except etree.XMLSyntaxError:
            return cls()
        # requestInfo's children are unqualified in our contract.
        info = root.find(".//requestInfo")
        if info is None:
            return cls()
        return cls(
            info.findtext("serviceId"), info.findtext("messageId"), info.findtext("sender/senderId")
        )


async def _answer(
    bus: SyncBus,
    injector: _Injector,
    raw: bytes,
    content_type: str | None,
    soap_action: str | None,
    heard: _Heard,
    fault: AppliedFault | None,
) -> tuple[BusReply, AppliedFault | None]:
    """The bus's reply, and the fault that actually applied to it."""
    if fault is not None and fault.kind in _NOT_CONSULTED:
        return BusReply(0, b"", "", heard.message_id, heard.service_id, heard.sender_id), fault
    handle = partial(bus.handle, raw, content_type=content_type, soap_action=soap_action)
    if fault is None or fault.kind is not FaultKind.SOAP_FAULT:
        # Parsing, schema validation and two RSA operations: keep them off the loop.
        return await run_in_threadpool(handle), fault
    reply, used = await run_in_threadpool(injector.handle, handle, fault)
    return reply, fault if used else None


def _earlier(admin: MockAdmin, path: str, heard: _Heard) -> JournalRecord | None:
    """The sync channel's latest genuine answer to another request of this service."""
    channel = path.rstrip("/")
    return earlier_reply(
        admin.journal.records(service=heard.service_id),
        exclude=lambda r: (
            r.path.rstrip("/") != channel
            or (heard.message_id is not None and r.extra.get("message_id") == heard.message_id)
        ),
    )


_NOT_CONSULTED = frozenset({FaultKind.HTTP_ERROR, FaultKind.MALFORMED, FaultKind.CONNECTION_RESET})


class _Injector:
    """Hands a soap_fault to the registry the bus reaches, within one worker thread.

    ``SyncBus.handle`` runs whole in one thread, and the registry it calls runs in that
    same thread, so a thread-local carries the fault there without touching the bus.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def handle(self, handle: Callable[[], BusReply], fault: AppliedFault) -> tuple[BusReply, bool]:
        self._local.fault, self._local.used = fault, False
        try:
            return handle(), bool(self._local.used)
        finally:
            self._local.fault = None

    def raise_pending(self) -> None:
        fault: AppliedFault | None = getattr(self._local, "fault", None)
        if fault is not None:
            self._local.used = True
            raise RegistryFault(fault.code or codes.SERVICE_UNAVAILABLE, fault.message)


class _Injectable:
    def __init__(self, registry: Registry, injector: _Injector) -> None:
        self._registry = registry
        self._injector = injector

    def handle(self, data: Sequence[etree._Element]) -> list[etree._Element]:
        self._injector.raise_pending()
        return self._registry.handle(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._registry, name)
