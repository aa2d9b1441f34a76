"""The mock bus over HTTP: the SOAP endpoint, its WSDL and XSDs, and the journal.

The WSDL is served with its address rewritten to wherever the mock actually listens,
so ``zeep.Client("http://127.0.0.1:PORT/bip-sync-wss-gost/?wsdl")`` works against a
mock on any port; the XSDs it imports are served beside it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from contracts.shep import CONTRACT_DIR, SCHEMA_FILES, WSDL_PATH, codes
from mocks.population import Population
from mocks.shep.bus import BusReply, SyncBus
from mocks.shep.config import BusConfig
from mocks.shep.journal import Journal, JournalEntry
from mocks.shep.registries import registries_for

_XML = "text/xml; charset=utf-8"
_ADDRESS = re.compile(rb'(<soap:address location=")[^"]*(")')


def create_app(
    population: Population, config: BusConfig, *, journal: Journal | None = None
) -> FastAPI:
    """An ASGI app of the mock bus answering from ``population``."""
    bus = SyncBus(config, registries_for(population))
    journal = journal or Journal(config.journal_size)
    path = config.path if config.path.endswith("/") else config.path + "/"
    schema_names = set(SCHEMA_FILES.values())
    app = FastAPI(title="Mock e-government bus (ШЭП)", docs_url=None, redoc_url=None)
    app.state.bus = bus
    app.state.journal = journal
    app.state.population = population

    @app.get(path)
    @app.get(path.rstrip("/"))
    async def wsdl(request: Request) -> Response:
        if "wsdl" not in {k.lower() for k in request.query_params}:
            return Response("add ?wsdl for the service description\n", media_type="text/plain")
        here = str(request.url.replace(query="")).encode()
        body = _ADDRESS.sub(lambda m: m.group(1) + here + m.group(2), WSDL_PATH.read_bytes())
        return Response(body, media_type=_XML)

    @app.get(path + "{name}")
    async def schema(name: str) -> Response:
        if name not in schema_names:
            return Response("not found\n", status_code=404, media_type="text/plain")
        return Response((CONTRACT_DIR / name).read_bytes(), media_type=_XML)

    @app.post(path)
    @app.post(path.rstrip("/"))
    async def send_message(request: Request) -> Response:
        received_at = datetime.now(UTC)
        raw = await _read_limited(request, config.max_body_bytes)
        if raw is None:
            reply = BusReply(413, b"", codes.INVALID_REQUEST)
        else:
            # Parsing, schema validation and two RSA operations: keep them off the loop.
            reply = await run_in_threadpool(bus.handle, raw)
        journal.record(
            JournalEntry(
                received_at=received_at,
                http_status=reply.http_status,
                status_code=reply.status_code,
                message_id=reply.message_id,
                service_id=reply.service_id,
                sender_id=reply.sender_id,
                request=raw or b"",
                response=reply.body,
            )
        )
        return Response(reply.body, status_code=reply.http_status, media_type=_XML)

    @app.get("/__admin/requests")
    async def requests() -> JSONResponse:
        entries: list[dict[str, Any]] = [e.as_json() for e in journal.entries()]
        return JSONResponse({"requests": entries, "total": len(entries)})

    @app.delete("/__admin/requests")
    async def reset_requests() -> Response:
        journal.clear()
        return Response(status_code=204)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None once it passes ``limit`` (without reading the rest)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
