"""The few zeep calls we make, given types.

zeep ships partial annotations, so ``mypy --strict`` refuses its constructors; the
untyped surface is kept to this one module instead of spread across the adapter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import zeep
import zeep.xsd
from lxml import etree
from zeep.proxy import AsyncServiceProxy
from zeep.transports import AsyncTransport
from zeep.wsdl import Document


def local_transport() -> zeep.Transport:
    """For documents on disk; never used for a network call."""
    return zeep.Transport()  # type: ignore[no-untyped-call]


def load_document(path: Path) -> Document:
    return Document(str(path), local_transport(), settings=zeep.Settings(strict=True))  # type: ignore[arg-type]


def async_client(
    document: Document, wsse: Any, http: httpx.AsyncClient, wsdl_http: httpx.Client
) -> zeep.AsyncClient:
    transport = AsyncTransport(client=http, wsdl_client=wsdl_http)  # type: ignore[no-untyped-call]
    return zeep.AsyncClient(  # type: ignore[no-untyped-call]
        document,
        wsse=wsse,
        transport=transport,
        # A reply with a DOCTYPE is refused before anything reads it (SOAP 1.1, 3).
        settings=zeep.Settings(strict=True, xml_huge_tree=False, forbid_dtd=True),
    )


def service(client: zeep.AsyncClient, binding: str, address: str) -> Any:
    """An async proxy bound to ``address``: ``create_service`` would give a sync one."""
    return AsyncServiceProxy(client, client.wsdl.bindings[binding], address=address)  # type: ignore[no-untyped-call]


def element(source: zeep.AsyncClient | zeep.xsd.Schema, qname: str) -> Any:
    return source.get_element(qname)


def load_schema(path: Path) -> zeep.xsd.Schema:
    root = etree.parse(str(path)).getroot()
    return zeep.xsd.Schema(root, transport=local_transport(), location=str(path))  # type: ignore[no-untyped-call]
