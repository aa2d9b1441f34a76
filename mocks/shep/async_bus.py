"""The mock bus's asynchronous channel: bytes in, signed bytes out, and its HTTP route.

A sender puts a REQUEST on the bus (``sendMessage``) and gets an acknowledgement at
once; the bus hands the payload to the same mock registry the synchronous channel uses
and queues the registry's answer as a RESPONSE for that sender, with ``correlationId``
= the request's ``messageId``. The sender collects it (``getMessages``) and confirms it
(``sendDeliveryNotification``); until then the RESPONSE stays ``ON_DELIVERY`` and keeps
being offered, which is what makes delivery at-least-once.

Delivery states, per message:

- REQUEST: ``ON_DELIVERY`` until the registry has taken it (``response_delay`` after it
  was sent, 0 by default), then ``DELIVERED``; ``NOT_DELIVERED`` when the registry was
  unavailable (``ESRV002``): no RESPONSE will come.
- RESPONSE: ``ON_DELIVERY`` from when it is queued until the recipient confirms it, then
  ``DELIVERED``; ``getMessages`` no longer returns it.

A registry's refusal of the payload (``EDAT001``, ``EDAT002``) is not a fault of
``sendMessage``: the bus accepted the message, so the refusal comes back as a RESPONSE
whose ``messageInfo/status`` carries the code. Everything the bus itself refuses (not
the contract, unknown sender or wrong password, bad signature, unknown service) is a
SOAP fault with ``ErrorInfo``, as on the synchronous channel, and with the same checks
and the same signing: ``AsyncBus`` is a ``SyncBus`` with other operations.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from fastapi import FastAPI, Request, Response
from lxml import etree
from starlette.concurrency import run_in_threadpool

from contracts.clock import Clock
from contracts.shep import ASYNC_WSDL_PATH, NS_ASYNC_TYPES, codes
from contracts.shep.wsse import NS_SOAP11
from mocks.admin import MockAdmin
from mocks.shep.bus import BusReply, SyncBus
from mocks.shep.config import BusConfig
from mocks.shep.contract_http import install_contract_routes, read_limited, soap_response
from mocks.shep.registries import Registry, RegistryFault
from mocks.shep.soap11 import INTERNAL_FAULT, Refusal, parse, too_large

__all__ = [
    "ASYNC_PATH",
    "DELIVERY_STATES",
    "MESSAGE_TYPES",
    "AsyncBus",
    "install_async_channel",
]

ASYNC_PATH = "/bip-async-wss-gost/"
MESSAGE_TYPES = ("REQUEST", "NOTIFICATION", "UPDATE", "RESPONSE")
DELIVERY_STATES = ("ON_DELIVERY", "DELIVERED", "NOT_DELIVERED", "DELIVERY_STOPPED")
OPERATIONS = ("sendMessage", "getMessageStatus", "getMessages", "sendDeliveryNotification")
DEFAULT_MAX_COUNT = 100

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Stored:
    """One message the bus holds, as its owner (sender or recipient) sees it."""

    message_id: str
    message_type: str
    owner: str
    service_id: str
    sent_at: datetime
    available_at: datetime
    correlation_id: str | None = None
    state: str = "ON_DELIVERY"
    state_date: datetime | None = None
    message: bytes | None = None
    """For a RESPONSE: the serialised ``AsyncMessage`` that ``getMessages`` returns."""
    response_id: str | None = None


@dataclass(slots=True)
class _Queue:
    messages: dict[str, _Stored] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class AsyncBus(SyncBus):
    """The four operations of the asynchronous channel over the sync bus's checks."""

    fault_element = f"{{{NS_ASYNC_TYPES}}}AsyncChannelFault"
    types_namespace = NS_ASYNC_TYPES
    wsdl_path = ASYNC_WSDL_PATH

    def __init__(
        self,
        config: BusConfig,
        registries: Mapping[str, Registry],
        clock: Clock | None = None,
        *,
        wall_clock: Clock | None = None,
        response_delay: timedelta = timedelta(0),
    ) -> None:
        super().__init__(config, registries, clock, wall_clock=wall_clock)
        self.response_delay = response_delay
        self._queue = _Queue()

    def reset(self) -> None:
        with self._queue.lock:
            self._queue.messages.clear()

    def handle(self, raw: bytes, *, content_type: str | None, soap_action: str | None) -> BusReply:
        message_id = service_id = sender_id = None
        try:
            envelope, operation = self._parse_async(raw, content_type, soap_action)
            name = etree.QName(operation).localname
            request = operation.find("request")
            assert request is not None  # the schema requires it
            sender_path = "messageInfo/sender" if name == "sendMessage" else "sender"
            sender_id = request.findtext(f"{sender_path}/senderId") or ""
            password = request.findtext(f"{sender_path}/password") or ""
            self._authenticate(envelope, sender_id, password)
            if name == "sendMessage":
                message_id = request.findtext("messageInfo/messageId")
                service_id = request.findtext("messageInfo/serviceId")
                body = self._send_message(request, sender_id)
            elif name == "getMessages":
                body = self._get_messages(request, sender_id)
            else:
                ids = [e.text or "" for e in request.findall("messageId")]
                if name == "sendDeliveryNotification":
                    self._confirm(ids, sender_id)
                body = self._statuses(name, ids, sender_id)
        except Exception as exc:  # every failure is a SOAP fault, the bus's own included
            return self.refuse(exc, message_id, service_id, sender_id or None)
        return BusReply(200, body, codes.SUCCESS, message_id, service_id, sender_id or None)

    # -- parsing -----------------------------------------------------------------------

    def _parse_async(
        self, raw: bytes, content_type: str | None, soap_action: str | None
    ) -> tuple[etree._Element, etree._Element]:
        allowed = {f"{{{NS_ASYNC_TYPES}}}{op}" for op in OPERATIONS}
        return self._parse_envelope(
            raw, content_type, soap_action, allowed, "of " + ", ".join(OPERATIONS)
        )

    # -- operations --------------------------------------------------------------------

    def _send_message(self, request: etree._Element, sender_id: str) -> bytes:
        info = request.find("messageInfo")
        assert info is not None
        message_id = info.findtext("messageId") or ""
        service_id = info.findtext("serviceId") or ""
        message_type = info.findtext("messageType") or ""
        with self._queue.lock:
            known = self._queue.messages.get(message_id)
        if known is not None:
            if known.owner != sender_id or known.message_type != "REQUEST":
                raise Refusal(codes.INVALID_REQUEST, f"messageId {message_id!r} is taken")
            return self._acknowledge(message_id, info.findtext("correlationId"))  # a repeat
        if message_type != "REQUEST":
            raise Refusal(
                codes.INVALID_REQUEST,
                f"this bus's registries take REQUEST messages, not {message_type}",
            )
        registry_key = self.config.services.get(service_id)
        registry = self.registries.get(registry_key) if registry_key else None
        if registry is None:
            raise Refusal(codes.SERVICE_UNKNOWN, f"no service {service_id!r} on this bus")
        data = request.find("messageData/data")
        assert data is not None
        now = self._now()
        available = now + self.response_delay
        stored = _Stored(message_id, "REQUEST", sender_id, service_id, now, available)
        try:
            payload = registry.handle(list(data))
            status = (codes.SUCCESS, "OK")
        except RegistryFault as fault:
            payload, status = [], (fault.code, fault.message)
        response: _Stored | None = None
        if status[0] in codes.TRANSIENT_CODES:
            stored.state, stored.state_date = "NOT_DELIVERED", now
        else:
            response_id = str(uuid.uuid4())
            stored.response_id = response_id
            response = _Stored(
                response_id,
                "RESPONSE",
                sender_id,
                service_id,
                available,
                available,
                correlation_id=message_id,
                state_date=available,
                message=self._response_message(
                    response_id,
                    message_id,
                    service_id,
                    registry_key or "",
                    available,
                    status,
                    payload,
                ),
            )
        with self._queue.lock:
            self._queue.messages[message_id] = stored
            if response is not None:
                self._queue.messages[response.message_id] = response
        return self._acknowledge(message_id, info.findtext("correlationId"))

    def _acknowledge(self, message_id: str, correlation_id: str | None) -> bytes:
        envelope, body = self._envelope()
        response = etree.SubElement(
            etree.SubElement(
                body, f"{{{NS_ASYNC_TYPES}}}sendMessageResponse", nsmap={"types": NS_ASYNC_TYPES}
            ),
            "response",
        )
        etree.SubElement(response, "messageId").text = message_id
        if correlation_id:
            etree.SubElement(response, "correlationId").text = correlation_id
        etree.SubElement(response, "responseDate").text = self._now().isoformat()
        self._status(response, codes.SUCCESS, "accepted for delivery")
        return self._finish(envelope)

    def _response_message(
        self,
        response_id: str,
        request_id: str,
        service_id: str,
        registry_key: str,
        when: datetime,
        status: tuple[str, str],
        payload: list[etree._Element],
    ) -> bytes:
        message = etree.Element("message")
        info = etree.SubElement(message, "messageInfo")
        for name, value in (
            ("messageId", response_id),
            ("correlationId", request_id),
            ("serviceId", service_id),
            ("messageType", "RESPONSE"),
            ("messageDate", when.isoformat()),
        ):
            etree.SubElement(info, name).text = value
        sender = etree.SubElement(info, "sender")
        etree.SubElement(sender, "senderId").text = registry_key
        etree.SubElement(sender, "password").text = ""
        self._status(info, *status)
        data = etree.SubElement(etree.SubElement(message, "messageData"), "data")
        data.extend(payload)
        raw: bytes = etree.tostring(message)
        return raw

    def _get_messages(self, request: etree._Element, sender_id: str) -> bytes:
        correlation_id = request.findtext("correlationId")
        max_count = int(request.findtext("maxCount") or DEFAULT_MAX_COUNT)
        now = self._now()
        with self._queue.lock:
            waiting = sorted(
                (
                    m
                    for m in self._queue.messages.values()
                    if m.owner == sender_id
                    and m.message_type == "RESPONSE"
                    and m.state == "ON_DELIVERY"
                    and m.available_at <= now
                    and (correlation_id is None or m.correlation_id == correlation_id)
                ),
                key=lambda m: (m.available_at, m.message_id),
            )[:max_count]
        envelope, body = self._envelope()
        response = etree.SubElement(
            etree.SubElement(
                body, f"{{{NS_ASYNC_TYPES}}}getMessagesResponse", nsmap={"types": NS_ASYNC_TYPES}
            ),
            "response",
        )
        self._status(response, codes.SUCCESS, f"{len(waiting)} message(s)")
        for stored in waiting:
            assert stored.message is not None
            response.append(parse(stored.message))
        return self._finish(envelope)

    def _confirm(self, ids: list[str], sender_id: str) -> None:
        now = self._now()
        with self._queue.lock:
            for message_id in ids:
                stored = self._queue.messages.get(message_id)
                if (
                    stored is not None
                    and stored.owner == sender_id
                    and stored.message_type == "RESPONSE"
                    and stored.state == "ON_DELIVERY"
                    and stored.available_at <= now
                ):
                    stored.state, stored.state_date = "DELIVERED", now

    def _statuses(self, operation: str, ids: list[str], sender_id: str) -> bytes:
        now = self._now()
        envelope, body = self._envelope()
        response = etree.SubElement(
            etree.SubElement(
                body, f"{{{NS_ASYNC_TYPES}}}{operation}Response", nsmap={"types": NS_ASYNC_TYPES}
            ),
            "response",
        )
        self._status(response, codes.SUCCESS, "OK")
        with self._queue.lock:
            found = [self._queue.messages.get(i) for i in dict.fromkeys(ids)]
            for stored in found:
                if stored is None or stored.owner != sender_id:
                    continue  # unknown, or another sender's: not told apart
                state, since = stored.state, stored.state_date or stored.sent_at
                if stored.message_type == "REQUEST" and state == "ON_DELIVERY":
                    if stored.available_at <= now:
                        state, since = "DELIVERED", stored.available_at
                item = etree.SubElement(response, "messageStatus")
                etree.SubElement(item, "messageId").text = stored.message_id
                etree.SubElement(item, "messageType").text = stored.message_type
                etree.SubElement(item, "state").text = state
                etree.SubElement(item, "stateDate").text = since.isoformat()
        return self._finish(envelope)

    @staticmethod
    def _status(parent: etree._Element, code: str, message: str) -> None:
        status = etree.SubElement(parent, "status")
        etree.SubElement(status, "code").text = code
        etree.SubElement(status, "message").text = message


def _operation_of(raw: bytes) -> str | None:
    try:
        root = parse(raw)
    except etree.XMLSyntaxError:
        return None
    body = root.find(f"{{{NS_SOAP11}}}Body")
    if body is None:
        return None
    for child in body:
        if isinstance(child.tag, str):
            name: str = etree.QName(child).localname
            return name
    return None


def install_async_channel(
    app: FastAPI, bus: AsyncBus, admin: MockAdmin, path: str = ASYNC_PATH
) -> None:
    """Mount the channel at ``path``: the SOAP endpoint, its WSDL (``?wsdl``) and XSDs.

    Every exchange goes to the admin journal like the sync channel's, with the
    operation in ``extra``. Fault injection does not reach this channel (yet).
    """
    path = path if path.endswith("/") else path + "/"
    limit = bus.config.max_body_bytes
    app.state.async_bus = bus
    install_contract_routes(app, path, ASYNC_WSDL_PATH, name_prefix="async_")

    @app.post(path)
    @app.post(path.rstrip("/"))
    async def async_message(request: Request) -> Response:
        try:
            return await exchange(request)
        except Exception as exc:  # the last resort: still a SOAP fault, never a text page
            log.error("the async channel's endpoint failed: %s", type(exc).__name__)
            return soap_response(INTERNAL_FAULT, 500)

    async def exchange(request: Request) -> Response:
        received_at, clock_time, started = datetime.now(UTC), admin.clock.now(), time.monotonic()
        raw = await read_limited(request, limit)
        if raw is None:
            raw = b""
            reply = await run_in_threadpool(bus.refuse, too_large(limit))
        else:
            reply = await run_in_threadpool(
                partial(
                    bus.handle,
                    raw,
                    content_type=request.headers.get("content-type"),
                    soap_action=request.headers.get("soapaction"),
                )
            )
        admin.journal.add(
            method=request.method,
            path=request.url.path,
            service=reply.service_id,
            http_status=reply.http_status,
            request=raw,
            response=reply.body,
            fault=None,
            received_at=received_at,
            clock_time=clock_time,
            duration_ms=(time.monotonic() - started) * 1000,
            extra={
                "status_code": reply.status_code,
                "message_id": reply.message_id,
                "service_id": reply.service_id,
                "sender_id": reply.sender_id,
                "operation": _operation_of(raw),
            },
        )
        return soap_response(reply.body, reply.http_status)
