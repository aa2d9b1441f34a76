"""SOAP 1.1 over HTTP, as the bus holds its callers to it.

What a request must be before the bus reads its Body, each rule with its source
(SOAP 1.1, W3C Note of 8 May 2000; WS-I Basic Profile 1.1 where SOAP 1.1 leaves a
choice), and the refusal each breach gets. Both channels, sync and async, run every
request through here, and every refusal becomes a SOAP fault (HTTP 500, ``text/xml``):
a SOAP client never gets a bare HTTP error or a page of text from the bus.

- ``Content-Type`` is ``text/xml`` (SOAP 1.1, 6.1.1); a charset, if named, is UTF-8.
- The message is well-formed XML with no Document Type Declaration and no processing
  instructions (SOAP 1.1, 3).
- The root is ``Envelope`` in the SOAP 1.1 namespace; any other envelope namespace,
  SOAP 1.2's included, is a ``VersionMismatch`` fault (4.1.2, 4.4.1).
- Every header entry is namespace-qualified (4.2); one meant for the bus (no
  ``actor``, or ``actor`` next) with ``mustUnderstand="1"`` that the bus does not
  understand is a ``MustUnderstand`` fault (4.2.3), and ``mustUnderstand`` is 0 or 1.
- ``SOAPAction`` is present (6.1.1), a quoted string (BP R1109) equal to the
  operation's ``soapAction`` in the WSDL (BP R2744).
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from enum import StrEnum

from lxml import etree

from contracts.shep import codes
from contracts.shep.wsse import NS_SOAP11, SOAP_ACTOR_NEXT

__all__ = [
    "INTERNAL_FAULT",
    "XML_MEDIA_TYPE",
    "FaultCode",
    "Refusal",
    "check_action",
    "check_headers",
    "read_envelope",
    "too_large",
]

XML_MEDIA_TYPE = "text/xml; charset=utf-8"
_SOAP12_MEDIA = "application/soap+xml"
_PARSERS = threading.local()


def parse(raw: bytes) -> etree._Element:
    """``raw`` read by this thread's own parser: no entities, no network, no DTD.

    The bus reads messages in Starlette's worker threads. lxml frees the GIL while it
    parses only with the default parser or with a parser per thread (lxml's FAQ, "Can I
    use threads to concurrently access the lxml API?"); one parser shared by every thread
    is outside what it supports. A signed request the gateway sent was once refused here
    as not well-formed, during a full test run, with an error no rerun reproduced.
    """
    parser = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False
        )
        _PARSERS.parser = parser
    root: etree._Element = etree.fromstring(raw, parser)
    return root


class FaultCode(StrEnum):
    """SOAP 1.1's four fault codes (section 4.4.1)."""

    VERSION_MISMATCH = "VersionMismatch"
    MUST_UNDERSTAND = "MustUnderstand"
    CLIENT = "Client"
    SERVER = "Server"


class Refusal(Exception):
    """Why the bus will not do what a message asks, and the fault that says so.

    ``code`` is the bus's ``ErrorInfo`` code (``contracts/shep/codes.py``); the fault
    carries it in ``detail`` for Client and Server faults. A VersionMismatch or
    MustUnderstand fault has no ``detail``: SOAP 1.1 keeps ``detail`` for errors in
    processing the Body, and these come before the Body is read.
    """

    def __init__(
        self,
        code: str,
        message: str,
        details: list[str] | None = None,
        *,
        faultcode: FaultCode | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or []
        if faultcode is None:
            server_side = code in (codes.SERVICE_UNAVAILABLE, codes.INTERNAL_ERROR)
            faultcode = FaultCode.SERVER if server_side else FaultCode.CLIENT
        self.faultcode = faultcode

    @property
    def has_detail(self) -> bool:
        return self.faultcode in (FaultCode.CLIENT, FaultCode.SERVER)

    @property
    def journal_code(self) -> str:
        """What the journal records: the ErrorInfo code, or the fault code without one."""
        return self.code if self.has_detail else str(self.faultcode)


def _client(message: str) -> Refusal:
    return Refusal(codes.INVALID_REQUEST, message)


def _media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    if not content_type:
        return "", {}
    media, *rest = content_type.split(";")
    params = {}
    for item in rest:
        name, _, value = item.partition("=")
        params[name.strip().lower()] = value.strip().strip('"')
    return media.strip().lower(), params


def read_envelope(raw: bytes, content_type: str | None) -> etree._Element:
    """The SOAP 1.1 envelope in ``raw``, or the refusal SOAP 1.1 prescribes for it."""
    media, params = _media_type(content_type)
    if media not in ("text/xml", _SOAP12_MEDIA):
        raise _client(
            f"Content-Type must be text/xml (SOAP 1.1 over HTTP), not {content_type or 'absent'}"
        )
    charset = params.get("charset")
    if charset is not None and charset.lower() != "utf-8":
        raise _client(f"this bus reads UTF-8 messages, not {charset}")
    try:
        root = parse(raw)
    except etree.XMLSyntaxError as exc:
        raise _client(f"not well-formed XML: {exc}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise _client("a SOAP message must not contain a Document Type Declaration")
    around = [*root.itersiblings(preceding=True), *root.itersiblings()]
    if any(isinstance(n, etree._ProcessingInstruction) for n in around) or any(
        True for _ in root.iter(etree.ProcessingInstruction)
    ):
        raise _client("a SOAP message must not contain processing instructions")
    name = etree.QName(root)
    if name.localname != "Envelope":
        raise _client(f"not a SOAP envelope: the root element is {name.localname}")
    if name.namespace != NS_SOAP11:
        raise Refusal(
            codes.INVALID_REQUEST,
            f"this bus speaks SOAP 1.1 ({NS_SOAP11}); the envelope's namespace is "
            f"{name.namespace or 'none'}",
            faultcode=FaultCode.VERSION_MISMATCH,
        )
    if media == _SOAP12_MEDIA:
        raise _client("a SOAP 1.1 message travels as text/xml, not application/soap+xml")
    return root


def check_headers(envelope: etree._Element, understood: Collection[str]) -> None:
    """Refuse a header entry meant for the bus that it must, but cannot, understand."""
    header = envelope.find(f"{{{NS_SOAP11}}}Header")
    if header is None:
        return
    for entry in header:
        if not isinstance(entry.tag, str):
            continue
        if etree.QName(entry).namespace is None:
            raise _client(f"header entry {entry.tag} is not namespace-qualified")
        actor = entry.get(f"{{{NS_SOAP11}}}actor")
        if actor not in (None, SOAP_ACTOR_NEXT):
            continue  # addressed to another node on the path
        flag = entry.get(f"{{{NS_SOAP11}}}mustUnderstand", "0")
        if flag not in ("0", "1"):
            raise _client(f"mustUnderstand must be 0 or 1, not {flag!r} (on {entry.tag})")
        if flag == "1" and entry.tag not in understood:
            raise Refusal(
                codes.INVALID_REQUEST,
                f"the bus does not understand the header {entry.tag}, marked mustUnderstand",
                faultcode=FaultCode.MUST_UNDERSTAND,
            )


def check_action(value: str | None, expected: str) -> None:
    """Refuse a missing, unquoted or mismatched ``SOAPAction`` header."""
    if value is None:
        raise _client("the SOAPAction header is missing; SOAP 1.1 over HTTP requires it")
    quoted = value.strip()
    if len(quoted) < 2 or not (quoted.startswith('"') and quoted.endswith('"')):
        raise _client(f"SOAPAction must be a quoted string, got {value!r}")
    if quoted[1:-1] != expected:
        raise _client(
            f"SOAPAction {quoted} does not name the operation in the Body, "
            f'whose soapAction is "{expected}"'
        )


def too_large(limit: int) -> Refusal:
    """An oversize body gets a fault like any other refusal, not a bare 413."""
    return _client(f"the message is larger than the bus's limit of {limit} bytes")


INTERNAL_FAULT = (
    b'<?xml version="1.0" encoding="utf-8"?>\n'
    b'<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soap-env:Body><soap-env:Fault><faultcode>soap-env:Server</faultcode>"
    b"<faultstring>the bus failed while handling the message</faultstring>"
    b"</soap-env:Fault></soap-env:Body></soap-env:Envelope>"
)
"""The last resort, unsigned: when even rendering a signed fault failed."""
