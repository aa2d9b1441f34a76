"""The mock bus's synchronous channel, without HTTP: bytes and two headers in, signed bytes out.

The checks run in the order a real bus would need them, each failing with its own
code (see README.md): the message must be SOAP 1.1 over HTTP (``soap11.py``: media
type, no DTD, the envelope's version, headers it must understand, SOAPAction) and
match the contract, the sender must be known and its password right, the Body and
Timestamp must be signed by that sender's certificate and the Timestamp fresh, the
serviceId must name a registry, and the registry must find the record. Every answer,
faults included, is signed and timestamped by the bus so that the client can tell a
bus's refusal from a forgery, and a fresh answer from a replayed one.
"""

from __future__ import annotations

import hmac
import logging
import traceback
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

from lxml import etree

from contracts.clock import Clock, SystemClock
from contracts.shep import NS_TYPES, WSDL_PATH, codes, contract_errors, soap_actions
from contracts.shep.wsse import NS_SOAP11, NS_WSSE
from mocks.shep import wsse
from mocks.shep.config import BusConfig
from mocks.shep.registries import Registry, RegistryFault
from mocks.shep.soap11 import (
    Refusal,
    check_action,
    check_headers,
    read_envelope,
)

log = logging.getLogger(__name__)

ALMATY = ZoneInfo("Asia/Almaty")
_MAX_SUB_ERRORS = 20
_UNDERSTOOD = frozenset({f"{{{NS_WSSE}}}Security"})
"""The header entries the bus processes; any other marked mustUnderstand is refused."""


@dataclass(frozen=True, slots=True)
class BusReply:
    http_status: int
    body: bytes
    status_code: str
    """``SCSS001``, the fault's ErrorInfo code, or its SOAP fault code when it has none."""
    message_id: str | None = None
    service_id: str | None = None
    sender_id: str | None = None


class SyncBus:
    """The synchronous channel; ``AsyncBus`` reuses its checks, signing and faults."""

    fault_element: ClassVar[str] = f"{{{NS_TYPES}}}SendMessageFault1_SendMessageFault"
    """The ``ErrorInfo`` element a fault's detail carries."""
    types_namespace: ClassVar[str] = NS_TYPES
    wsdl_path: ClassVar[Path] = WSDL_PATH
    """Where the channel's SOAPActions come from."""

    def __init__(
        self,
        config: BusConfig,
        registries: Mapping[str, Registry],
        clock: Clock | None = None,
        *,
        wall_clock: Clock | None = None,
    ) -> None:
        """``clock`` dates the bus's answers (the admin API may move it).

        ``wall_clock`` stamps and checks WS-Security timestamps: they follow real time,
        so that moving the business clock does not make every message stale.
        """
        self.config = config
        self.registries = registries
        self.clock = clock or SystemClock()
        self.wall_clock = wall_clock or SystemClock()

    def _now(self) -> datetime:
        return self.clock.now().astimezone(ALMATY)

    def handle(self, raw: bytes, *, content_type: str | None, soap_action: str | None) -> BusReply:
        """One request as it came over HTTP: its body and two of its headers."""
        message_id = service_id = sender_id = None
        try:
            envelope, request = self._parse(raw, content_type, soap_action)
            info = request.find("request/requestInfo")
            assert info is not None  # the schema requires it
            message_id = info.findtext("messageId")
            service_id = info.findtext("serviceId")
            sender_id = info.findtext("sender/senderId")
            self._authenticate(envelope, sender_id or "", info.findtext("sender/password") or "")
            registry_key = self.config.services.get(service_id or "")
            registry = self.registries.get(registry_key) if registry_key else None
            if registry is None:
                raise Refusal(codes.SERVICE_UNKNOWN, f"no service {service_id!r} on this bus")
            data = request.find("request/requestData/data")
            assert data is not None
            try:
                payload = registry.handle(list(data))
            except RegistryFault as fault:
                raise Refusal(fault.code, fault.message) from None
            return BusReply(
                200, self._answer(info, payload), codes.SUCCESS, message_id, service_id, sender_id
            )
        except Exception as exc:  # every failure is a SOAP fault, the bus's own included
            return self.refuse(exc, message_id, service_id, sender_id)

    def refuse(
        self,
        failure: Exception,
        message_id: str | None = None,
        service_id: str | None = None,
        sender_id: str | None = None,
    ) -> BusReply:
        """The signed fault for a refusal, or for the bus's own failure (a Server fault)."""
        if not isinstance(failure, Refusal):
            # Type and place only: the message may hold personal data.
            log.error(
                "the bus failed on a message: %s\n%s",
                type(failure).__name__,
                "".join(traceback.format_tb(failure.__traceback__)),
            )
            failure = Refusal(codes.INTERNAL_ERROR, "the bus failed while handling the message")
        return BusReply(
            500, self._fault(failure), failure.journal_code, message_id, service_id, sender_id
        )

    def _parse(
        self, raw: bytes, content_type: str | None, soap_action: str | None
    ) -> tuple[etree._Element, etree._Element]:
        """The envelope and its validated SendMessage, or a refusal saying what is wrong."""
        return self._parse_envelope(
            raw, content_type, soap_action, {f"{{{NS_TYPES}}}SendMessage"}, "SendMessage"
        )

    def _parse_envelope(
        self,
        raw: bytes,
        content_type: str | None,
        soap_action: str | None,
        allowed: Collection[str],
        expected: str,
    ) -> tuple[etree._Element, etree._Element]:
        """The envelope and its one validated operation (a tag in ``allowed``).

        SOAP 1.1 first (``soap11``: media type, no DTD, the envelope's version, headers
        that must be understood), then the Body's operation, its SOAPAction and the
        contract. ``expected`` names the allowed operations in the refusal of any other.
        """
        envelope = read_envelope(raw, content_type)
        check_headers(envelope, _UNDERSTOOD)
        body = envelope.find(f"{{{NS_SOAP11}}}Body")
        children = [] if body is None else [c for c in body if isinstance(c.tag, str)]
        if len(children) != 1 or children[0].tag not in allowed:
            raise Refusal(codes.INVALID_REQUEST, f"the Body must hold exactly one {expected}")
        check_action(soap_action, soap_actions(self.wsdl_path)[children[0].tag])
        errors = contract_errors(children[0])
        if errors:
            raise Refusal(
                codes.INVALID_REQUEST,
                "the request does not match the contract",
                errors[:_MAX_SUB_ERRORS],
            )
        return envelope, children[0]

    def _authenticate(self, envelope: etree._Element, sender_id: str, password: str) -> None:
        """Refuse an unknown sender, a wrong password, or a Body not signed by the sender
        with a fresh timestamp."""
        self._check_sender(sender_id, password)
        account = self.config.senders.get(sender_id)
        trusted = account.certificates if account else ()
        window = timedelta(seconds=self.config.timestamp_window)
        try:
            wsse.verify(envelope, trusted, self.wall_clock.now(), window)
        except wsse.SecurityError as exc:
            raise Refusal(codes.SIGNATURE_INVALID, f"signature rejected: {exc}") from None

    def _check_sender(self, sender_id: str, password: str) -> None:
        account = self.config.senders.get(sender_id)
        # Compare even for an unknown sender, so timing does not reveal which ids exist.
        expected = account.password if account else "\0" + password
        if not hmac.compare_digest(expected.encode(), password.encode()) or account is None:
            raise Refusal(codes.SENDER_UNKNOWN, "unknown sender or wrong password")

    def _envelope(self) -> tuple[etree._Element, etree._Element]:
        envelope = etree.Element(f"{{{NS_SOAP11}}}Envelope", nsmap={"soap-env": NS_SOAP11})
        body = etree.SubElement(envelope, f"{{{NS_SOAP11}}}Body")
        return envelope, body

    def _finish(self, envelope: etree._Element) -> bytes:
        ttl = timedelta(seconds=self.config.timestamp_ttl)
        wsse.sign(envelope, self.config.signer, self.wall_clock.now(), ttl)
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

    def _fault(self, refusal: Refusal) -> bytes:
        envelope, body = self._envelope()
        fault = etree.SubElement(body, f"{{{NS_SOAP11}}}Fault")
        etree.SubElement(fault, "faultcode").text = f"soap-env:{refusal.faultcode}"
        etree.SubElement(fault, "faultstring").text = refusal.message
        if refusal.has_detail:
            detail = etree.SubElement(fault, "detail")
            error = etree.SubElement(
                detail, self.fault_element, nsmap={"types": self.types_namespace}
            )
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
