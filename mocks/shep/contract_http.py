"""HTTP plumbing shared by the mock bus's two channels (sync and async).

Each channel serves its WSDL, with the address rewritten to wherever the mock listens,
and the XSDs the WSDL imports beside it; each reads a SOAP body only up to the bus's
size limit. Those routes and that reading are the same for both channels, so they
live here once.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI, Request, Response

from contracts.shep import CONTRACT_DIR, SCHEMA_FILES
from mocks.shep.soap11 import XML_MEDIA_TYPE

__all__ = ["XML_MEDIA_TYPE", "install_contract_routes", "read_limited", "soap_response"]
_ADDRESS = re.compile(rb'(<soap:address location=")[^"]*(")')


def install_contract_routes(
    app: FastAPI, path: str, wsdl_path: Path, *, name_prefix: str = ""
) -> None:
    """Serve ``wsdl_path`` at ``path?wsdl`` and the contract's XSDs at ``path<name>``.

    ``path`` ends with ``/``; routes are named ``{name_prefix}wsdl`` and
    ``{name_prefix}schema``.
    """
    schema_names = set(SCHEMA_FILES.values())

    @app.get(path, name=f"{name_prefix}wsdl")
    @app.get(path.rstrip("/"), name=f"{name_prefix}wsdl")
    async def wsdl(request: Request) -> Response:
        if "wsdl" not in {k.lower() for k in request.query_params}:
            return Response("add ?wsdl for the service description\n", media_type="text/plain")
        here = str(request.url.replace(query="")).encode()
        contract = wsdl_path.read_bytes()  # noqa: ASYNC240 - one small local file
        body = _ADDRESS.sub(lambda m: m.group(1) + here + m.group(2), contract)
        return Response(body, media_type=XML_MEDIA_TYPE)

    @app.get(path + "{name}", name=f"{name_prefix}schema")
    async def schema(name: str) -> Response:
        if name not in schema_names:
            return Response("not found\n", status_code=404, media_type="text/plain")
        return Response((CONTRACT_DIR / name).read_bytes(), media_type=XML_MEDIA_TYPE)


async def read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None once it passes ``limit`` (without reading the rest)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def soap_response(body: bytes, status: int) -> Response:
    """A SOAP answer: 200 for a result, 500 for any fault (SOAP 1.1, 6.2), as text/xml."""
    return Response(body, status_code=status, media_type=XML_MEDIA_TYPE)
