"""The mock bus speaks SOAP 1.1 over HTTP, on both channels: raw bytes in, faults out.

Each test posts bytes written here (signed with the adapter's WS-Security where the
request must otherwise be valid) to the bus running under uvicorn, and reads the
answer as any SOAP 1.1 client would: HTTP 500, ``text/xml``, a signed envelope whose
Fault carries the SOAP 1.1 fault code, and for Client and Server faults the bus's
``ErrorInfo`` in ``detail``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from lxml import etree

from adapters.shep import RsaSigner, TrustStore, generate_rsa_credentials
from adapters.shep.wsse import sign_envelope, verify_envelope
from contracts.shep import GBDFL_NS, NS_ASYNC_TYPES, NS_TYPES, codes
from contracts.shep.wsse import NS_SOAP11, NS_SOAP12
from mocks.admin import MockAdmin
from mocks.population import generate_population
from mocks.shep import BusConfig, Journal, SenderAccount, create_app
from mocks.shep.server import RunningServer, serve_in_thread
from mocks.shep.wsse import KeyPair

pytestmark = pytest.mark.integration

XML = "text/xml; charset=utf-8"


@dataclass(frozen=True)
class Channel:
    name: str
    path: str
    action: str
    fault_element: str

    def body(self, iin: str) -> str:
        if self.name == "sync":
            now = datetime.now(UTC).isoformat()
            return (
                f'<t:SendMessage xmlns:t="{NS_TYPES}"><request><requestInfo>'
                f"<messageId>{uuid.uuid4()}</messageId><serviceId>GBDFL_UniversalServiceSync"
                f"</serviceId><messageDate>{now}</messageDate><sender><senderId>GW</senderId>"
                "<password>secret</password></sender></requestInfo><requestData><data>"
                f'<p:PersonRequest xmlns:p="{GBDFL_NS}"><p:iin>{iin}</p:iin></p:PersonRequest>'
                "</data></requestData></request></t:SendMessage>"
            )
        return (
            f'<t:getMessages xmlns:t="{NS_ASYNC_TYPES}"><request><sender><senderId>GW</senderId>'
            "<password>secret</password></sender></request></t:getMessages>"
        )


SYNC = Channel(
    "sync",
    "/bip-sync-wss-gost/",
    "SendMessage",
    f"{{{NS_TYPES}}}SendMessageFault1_SendMessageFault",
)
ASYNC = Channel(
    "async", "/bip-async-wss-gost/", "getMessages", f"{{{NS_ASYNC_TYPES}}}AsyncChannelFault"
)
CHANNELS = pytest.mark.parametrize("channel", [SYNC, ASYNC], ids=["sync", "async"])


@dataclass(frozen=True)
class Bus:
    server: RunningServer
    app: FastAPI
    admin: MockAdmin
    bus_key: KeyPair
    client_key: RsaSigner
    iin: str

    def request(
        self,
        channel: Channel,
        *,
        header: str = "",
        now: datetime | None = None,
        envelope_ns: str = NS_SOAP11,
    ) -> bytes:
        """A request the bus would answer, signed by our registered key."""
        raw = (
            f'<e:Envelope xmlns:e="{envelope_ns}"><e:Header>{header}</e:Header>'
            f"<e:Body>{channel.body(self.iin)}</e:Body></e:Envelope>"
        )
        envelope = etree.fromstring(raw.encode())
        if envelope_ns == NS_SOAP11:
            sign_envelope(envelope, self.client_key, now=now or datetime.now(UTC))
        signed: bytes = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
        return signed

    async def post(
        self,
        channel: Channel,
        raw: bytes,
        *,
        content_type: str | None = XML,
        action: str | None = "",
    ) -> httpx.Response:
        headers = {}
        if content_type is not None:
            headers["Content-Type"] = content_type
        if action is not None:
            headers["SOAPAction"] = action or f'"{channel.action}"'
        async with httpx.AsyncClient(base_url=self.server.base_url) as http:
            return await http.post(channel.path, content=raw, headers=headers)


@dataclass(frozen=True)
class Fault:
    code: str
    string: str
    error_code: str | None


def fault_of(bus: Bus, channel: Channel, response: httpx.Response, *, signed: bool = True) -> Fault:
    """The fault, checked to be what SOAP 1.1 says a fault is over HTTP."""
    assert response.status_code == 500, response.text
    assert response.headers["content-type"] == XML
    envelope = etree.fromstring(response.content)
    assert envelope.tag == f"{{{NS_SOAP11}}}Envelope"
    if signed:
        verify_envelope(envelope, TrustStore([bus.bus_key.certificate_der]))
    body = envelope.find(f"{{{NS_SOAP11}}}Body")
    assert body is not None
    (fault,) = body
    assert fault.tag == f"{{{NS_SOAP11}}}Fault"
    error = fault.find(f"detail/{channel.fault_element}")
    return Fault(
        fault.findtext("faultcode") or "",
        fault.findtext("faultstring") or "",
        None if error is None else error.findtext("errorCode"),
    )


def assert_client_fault(fault: Fault, *words: str) -> None:
    assert fault.code == "soap-env:Client"
    assert fault.error_code == codes.INVALID_REQUEST
    for word in words:
        assert word in fault.string


@pytest.fixture(scope="module")
def bus() -> Iterator[Bus]:
    bus_key, client_key = KeyPair.generate("bus"), generate_rsa_credentials("gateway")
    config = BusConfig(
        signer=bus_key, senders={"GW": SenderAccount("GW", "secret", (client_key.certificate_der,))}
    )
    population = generate_population(42)
    admin = MockAdmin(journal=Journal())
    app = create_app(population, config, admin=admin)
    with serve_in_thread(app) as server:
        yield Bus(server, app, admin, bus_key, client_key, population.people[0].iin)


# --- the baseline: the same bytes, done right, are answered ------------------------------


@CHANNELS
async def test_a_signed_request_done_right_is_answered(bus: Bus, channel: Channel) -> None:
    response = await bus.post(channel, bus.request(channel))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XML
    verify_envelope(etree.fromstring(response.content), TrustStore([bus.bus_key.certificate_der]))


# --- no DTD, no entities, no processing instructions (SOAP 1.1, 3) -----------------------


@CHANNELS
async def test_an_xml_entity_gets_a_client_fault_not_a_text_error(
    bus: Bus, channel: Channel
) -> None:
    """The issue's case: this once gave text/plain "Internal Server Error"."""
    signed = bus.request(channel).decode()
    declaration, rest = signed.split("\n", 1)
    raw = f'{declaration}\n<!DOCTYPE e:Envelope [<!ENTITY who "GW">]>\n{rest}'
    raw = raw.replace("<senderId>GW</senderId>", "<senderId>&who;</senderId>")
    fault = fault_of(bus, channel, await bus.post(channel, raw.encode()))
    assert_client_fault(fault, "Document Type Declaration")


@CHANNELS
async def test_a_doctype_alone_gets_a_client_fault(bus: Bus, channel: Channel) -> None:
    raw = b"<!DOCTYPE Envelope>\n" + bus.request(channel).split(b"\n", 1)[1]
    fault = fault_of(bus, channel, await bus.post(channel, raw))
    assert_client_fault(fault, "Document Type Declaration")


@CHANNELS
async def test_a_processing_instruction_gets_a_client_fault(bus: Bus, channel: Channel) -> None:
    raw = bus.request(channel).replace(b"<e:Body", b"<?bus please?><e:Body", 1)
    fault = fault_of(bus, channel, await bus.post(channel, raw))
    assert_client_fault(fault, "processing instructions")


# --- the envelope's version (SOAP 1.1, 4.1.2 and 4.4.1) -----------------------------------


@CHANNELS
@pytest.mark.parametrize("content_type", [XML, "application/soap+xml; charset=utf-8"])
async def test_a_soap12_envelope_gets_version_mismatch(
    bus: Bus, channel: Channel, content_type: str
) -> None:
    raw = bus.request(channel, envelope_ns=NS_SOAP12)
    response = await bus.post(channel, raw, content_type=content_type, action=None)
    fault = fault_of(bus, channel, response)
    assert fault.code == "soap-env:VersionMismatch"
    assert NS_SOAP11 in fault.string and NS_SOAP12 in fault.string
    assert fault.error_code is None, "no detail: the Body was never processed"
    (record,) = bus.admin.journal.records()[-1:]
    assert record.extra["status_code"] == "VersionMismatch"


async def test_a_soap11_envelope_sent_as_soap12_media_gets_a_client_fault(bus: Bus) -> None:
    response = await bus.post(SYNC, bus.request(SYNC), content_type="application/soap+xml")
    assert_client_fault(fault_of(bus, SYNC, response), "text/xml")


# --- header entries the bus must understand (SOAP 1.1, 4.2.3) -----------------------------


def unknown_header(flag: str, actor: str = "") -> str:
    return (
        f'<x:Route xmlns:x="urn:example:routing" e:mustUnderstand="{flag}" {actor}>'
        "via-somewhere</x:Route>"
    )


@CHANNELS
async def test_an_unknown_header_that_must_be_understood_gets_must_understand(
    bus: Bus, channel: Channel
) -> None:
    raw = bus.request(channel, header=unknown_header("1"))
    fault = fault_of(bus, channel, await bus.post(channel, raw))
    assert fault.code == "soap-env:MustUnderstand"
    assert "{urn:example:routing}Route" in fault.string
    assert fault.error_code is None, "no detail: header faults carry none"


@CHANNELS
@pytest.mark.parametrize(
    "header",
    [
        unknown_header("0"),
        unknown_header("1", 'e:actor="http://example.org/another-node"'),
        '<x:Route xmlns:x="urn:example:routing">via-somewhere</x:Route>',
    ],
    ids=["optional", "for-another-actor", "no-flag"],
)
async def test_an_unknown_header_the_bus_may_ignore_is_ignored(
    bus: Bus, channel: Channel, header: str
) -> None:
    response = await bus.post(channel, bus.request(channel, header=header))
    assert response.status_code == 200, response.text


@CHANNELS
async def test_must_understand_is_zero_or_one(bus: Bus, channel: Channel) -> None:
    raw = bus.request(channel, header=unknown_header("true"))
    assert_client_fault(fault_of(bus, channel, await bus.post(channel, raw)), "0 or 1")


async def test_an_unqualified_header_entry_gets_a_client_fault(bus: Bus) -> None:
    raw = bus.request(SYNC, header="<Route>via-somewhere</Route>")
    assert_client_fault(fault_of(bus, SYNC, await bus.post(SYNC, raw)), "namespace-qualified")


# --- Content-Type and SOAPAction (SOAP 1.1, 6.1.1; WS-I BP R1109, R2744) ------------------


@CHANNELS
@pytest.mark.parametrize(
    "content_type",
    [None, "application/json", "text/plain", "application/xml", "text/xml; charset=iso-8859-1"],
)
async def test_a_content_type_other_than_text_xml_gets_a_client_fault(
    bus: Bus, channel: Channel, content_type: str | None
) -> None:
    response = await bus.post(channel, bus.request(channel), content_type=content_type)
    fault = fault_of(bus, channel, response)
    assert fault.code == "soap-env:Client" and fault.error_code == codes.INVALID_REQUEST
    assert "text/xml" in fault.string or "UTF-8" in fault.string


@CHANNELS
@pytest.mark.parametrize(
    "action, reason",
    [
        (None, "missing"),
        ("SendMessage", "quoted"),
        ('""', "does not name"),
        ('"sendDeliveryNotification"', "does not name"),
    ],
    ids=["missing", "unquoted", "empty", "another-operation"],
)
async def test_a_soap_action_that_does_not_name_the_operation_gets_a_client_fault(
    bus: Bus, channel: Channel, action: str | None, reason: str
) -> None:
    if action == "SendMessage":
        action = channel.action  # unquoted, otherwise right
    response = await bus.post(channel, bus.request(channel), action=action)
    assert_client_fault(fault_of(bus, channel, response), "SOAPAction", reason)


# --- size, time, and the bus's own failures -----------------------------------------------


@CHANNELS
async def test_an_oversize_body_gets_a_fault_not_an_empty_413(bus: Bus, channel: Channel) -> None:
    raw = bus.request(channel).replace(
        b"</e:Header>", b"<!--" + b"x" * (1 << 20) + b"--></e:Header>"
    )
    fault = fault_of(bus, channel, await bus.post(channel, raw))
    assert_client_fault(fault, "larger than", str(1 << 20))


@CHANNELS
async def test_a_request_with_a_stale_timestamp_is_refused(bus: Bus, channel: Channel) -> None:
    raw = bus.request(channel, now=datetime.now(UTC) - timedelta(minutes=10))
    fault = fault_of(bus, channel, await bus.post(channel, raw))
    assert fault.code == "soap-env:Client"
    assert fault.error_code == codes.SIGNATURE_INVALID
    assert "window" in fault.string


@pytest.fixture
def broken(bus: Bus) -> Iterator[Any]:
    """The running app's buses, for a test to break and the fixture to mend."""
    buses = (bus.app.state.bus, bus.app.state.async_bus)
    yield buses
    for one in buses:
        for name in ("_authenticate", "refuse"):
            one.__dict__.pop(name, None)


def explode(*args: object, **kwargs: object) -> None:
    raise RuntimeError("a bug in the bus")


@CHANNELS
async def test_the_bus_failing_itself_gets_a_signed_server_fault(
    bus: Bus, channel: Channel, broken: Any
) -> None:
    for one in broken:
        one._authenticate = explode
    fault = fault_of(bus, channel, await bus.post(channel, bus.request(channel)))
    assert fault.code == "soap-env:Server"
    assert fault.error_code == codes.INTERNAL_ERROR
    assert "bug" not in fault.string, "the bus's insides stay inside"


@CHANNELS
async def test_even_a_bus_that_cannot_sign_answers_with_a_soap_fault(
    bus: Bus, channel: Channel, broken: Any
) -> None:
    for one in broken:
        one._authenticate = explode
        one.refuse = explode
    response = await bus.post(channel, bus.request(channel))
    fault = fault_of(bus, channel, response, signed=False)
    assert fault.code == "soap-env:Server"
