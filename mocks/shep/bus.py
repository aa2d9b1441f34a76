"""The mock bus's synchronous channel, without HTTP: bytes in, signed bytes out.

The checks run in the order a real bus would need them, each failing with its own
code (see README.md): the message must be SOAP and match the contract, the sender must
be known and its password right, the Body must be signed by that sender's
certificate, the serviceId must name a registry, and the registry must find the
record. Every answer, faults included, is signed by the bus so that the client can
tell a bus's refusal from a forgery.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from lxml import etree

from adapters.shep.wsse import NS_SOAP11, SignatureError, sign_envelope, verify_envelope
from contracts.clock import Clock, SystemClock
from contracts.shep import NS_TYPES, codes, contract_errors
from mocks.shep.config import BusConfig
from mocks.shep.registries import Registry, RegistryFault

ALMATY = ZoneInfo("Asia/Almaty")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
_MAX_SUB_ERRORS = 20


@dataclass(frozen=True, slots=True)
class BusReply:
    http_status: int
    body: bytes
    status_code: str
    message_id: str | None = None
    service_id: str | None = None
    sender_id: str | None = None


class _Refusal(Exception):
    def __init__(self, code: str, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or []


class SyncBus:
    """The synchronous channel; ``AsyncBus`` reuses its checks, signing and faults."""

    fault_element: ClassVar[str] = f"{{{NS_TYPES}}}SendMessageFault1_SendMessageFault"
    """The ``ErrorInfo`` element a fault's detail carries."""
    types_namespace: ClassVar[str] = NS_TYPES

    def __init__(
        self,
        config: BusConfig,
        registries: Mapping[str, Registry],
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        self.registries = registries
        self.clock = clock or SystemClock()

    def _now(self) -> datetime:
        return self.clock.now().astimezone(ALMATY)

    def handle(self, raw: bytes) -> BusReply:
        message_id = service_id = sender_id = None
        try:
            envelope, request = self._parse(raw)
            info = request.find("request/requestInfo")
            assert info is not None  # the schema requires it
            message_id = info.findtext("messageId")
            service_id = info.findtext("serviceId")
            sender_id = info.findtext("sender/senderId")
            self._authenticate(envelope, sender_id or "", info.findtext("sender/password") or "")
            registry_key = self.config.services.get(service_id or "")
            registry = self.registries.get(registry_key) if registry_key else None
            if registry is None:
                raise _Refusal(codes.SERVICE_UNKNOWN, f"no service {service_id!r} on this bus")
            data = request.find("request/requestData/data")
            assert data is not None
            try:
                payload = registry.handle(list(data))
            except RegistryFault as fault:
                raise _Refusal(fault.code, fault.message) from None
            body = self._answer(info, payload)
            status, code = 200, codes.SUCCESS
        except _Refusal as refusal:
            body = self._fault(refusal)
            status, code = 500, refusal.code
        return BusReply(status, body, code, message_id, service_id, sender_id)

    def _parse(self, raw: bytes) -> tuple[etree._Element, etree._Element]:
        """The envelope and its validated SendMessage, or a refusal saying what is wrong."""
        return self._parse_envelope(raw, {f"{{{NS_TYPES}}}SendMessage"}, "SendMessage")

    def _parse_envelope(
        self, raw: bytes, allowed: Collection[str], expected: str
    ) -> tuple[etree._Element, etree._Element]:
        """The envelope and its one validated operation (a tag in ``allowed``).

        ``expected`` names the allowed operations in the refusal of any other Body.
        """
        try:
            envelope = etree.fromstring(raw, _PARSER)
        except etree.XMLSyntaxError as exc:
            raise _Refusal(codes.INVALID_REQUEST, f"not well-formed XML: {exc}") from None
        if envelope.tag != f"{{{NS_SOAP11}}}Envelope":
            raise _Refusal(codes.INVALID_REQUEST, "not a SOAP 1.1 envelope")
        body = envelope.find(f"{{{NS_SOAP11}}}Body")
        children = [] if body is None else [c for c in body if isinstance(c.tag, str)]
        if len(children) != 1 or children[0].tag not in allowed:
            raise _Refusal(codes.INVALID_REQUEST, f"the Body must hold exactly one {expected}")
        errors = contract_errors(children[0])
        if errors:
            raise _Refusal(
                codes.INVALID_REQUEST,
                "the request does not match the contract",
                errors[:_MAX_SUB_ERRORS],
            )
        return envelope, children[0]

    def _authenticate(self, envelope: etree._Element, sender_id: str, password: str) -> None:
        """Refuse an unknown sender, a wrong password or a Body not signed by the sender."""
        self._check_sender(sender_id, password)
        try:
            verify_envelope(envelope, self.config.trust_for(sender_id))
        except SignatureError as exc:
            raise _Refusal(codes.SIGNATURE_INVALID, f"signature rejected: {exc}") from None

    def _check_sender(self, sender_id: str, password: str) -> None:
        account = self.config.senders.get(sender_id)
        # Compare even for an unknown sender, so timing does not reveal which ids exist.
        expected = account.password if account else "\0" + password
        if not hmac.compare_digest(expected.encode(), password.encode()) or account is None:
            raise _Refusal(codes.SENDER_UNKNOWN, "unknown sender or wrong password")

    def _envelope(self) -> tuple[etree._Element, etree._Element]:
        envelope = etree.Element(f"{{{NS_SOAP11}}}Envelope", nsmap={"soap-env": NS_SOAP11})
        body = etree.SubElement(envelope, f"{{{NS_SOAP11}}}Body")
        return envelope, body

    def _finish(self, envelope: etree._Element) -> bytes:
        sign_envelope(envelope, self.config.signer)
        raw: bytes = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
        return raw

    def _answer(self, info: etree._Element, payload: list[etree._Element]) -> bytes:
        envelope, body = self._envelope()
        wrapper = etree.SubElement(
            body, f"{{{NS_TYPES}}}SendMessageResponse", nsmap={"types": NS_TYPES}
        )
        response = etree.SubElement(wrapper, "response")
        header = etree.SubElement(response, "responseInfo")
        for name, value in (
            ("messageId", str(uuid.uuid4())),
            ("correlationId", info.findtext("messageId") or ""),
            ("responseDate", self._now().isoformat()),
        ):
            etree.SubElement(header, name).text = value
        status = etree.SubElement(header, "status")
        etree.SubElement(status, "code").text = codes.SUCCESS
        etree.SubElement(status, "message").text = "OK"
        etree.SubElement(header, "sessionId").text = info.findtext("sessionId") or str(uuid.uuid4())
        data = etree.SubElement(etree.SubElement(response, "responseData"), "data")
        data.extend(payload)
        return self._finish(envelope)

    def _fault(self, refusal: _Refusal) -> bytes:
        envelope, body = self._envelope()
        fault = etree.SubElement(body, f"{{{NS_SOAP11}}}Fault")
        client_side = refusal.code != codes.SERVICE_UNAVAILABLE
        etree.SubElement(fault, "faultcode").text = "soap-env:" + (
            "Client" if client_side else "Server"
        )
        etree.SubElement(fault, "faultstring").text = refusal.message
        detail = etree.SubElement(fault, "detail")
        error = etree.SubElement(detail, self.fault_element, nsmap={"types": self.types_namespace})
        now = self._now().isoformat()
        self._error_info(error, refusal.code, refusal.message, now)
        for text in refusal.details:
            self._error_info(etree.SubElement(error, "subError"), refusal.code, text, now)
        return self._finish(envelope)

    @staticmethod
    def _error_info(node: etree._Element, code: str, message: str, when: str) -> None:
        etree.SubElement(node, "errorCode").text = code
        etree.SubElement(node, "errorMessage").text = message
        etree.SubElement(node, "errorDate").text = when
