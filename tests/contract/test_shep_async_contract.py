"""Every message of the asynchronous channel obeys ``contracts/shep`` (AsyncChannel).

The client talks to the mock in-process (httpx's ASGI transport) through every
operation and every refusal; then each message in the journal, both directions, is
checked against the XSDs with lxml, payload included.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import zeep
from lxml import etree

from adapters.shep import (
    RsaSigner,
    ShepError,
    ShepNotFound,
    ShepSettings,
    TrustStore,
    generate_rsa_credentials,
)
from adapters.shep.async_channel import AsyncChannelClient
from contracts.shep import (
    ASYNC_WSDL_PATH,
    CONTRACT_DIR,
    GBDFL_NS,
    NS_ASYNC_TYPES,
    SCHEMA_FILES,
    bus_schema,
    codes,
    service_by_key,
)
from contracts.shep.wsse import NS_SOAP11, NS_WSSE
from mocks.population import Population, generate_population
from mocks.shep import BusConfig, Journal, JournalEntry, SenderAccount, create_app
from mocks.shep.wsse import KeyPair

ADDRESS = "http://bus.test/bip-async-wss-gost/"
INDIVIDUALS = service_by_key("individuals").service_id
OPERATIONS = ("sendMessage", "getMessageStatus", "getMessages", "sendDeliveryNotification")


@pytest.fixture(scope="module")
def bus_key() -> KeyPair:
    return KeyPair.generate("bus")


@pytest.fixture(scope="module")
def client_key() -> RsaSigner:
    return generate_rsa_credentials("gateway")


@pytest.fixture(scope="module")
def population() -> Population:
    return generate_population(42)


@pytest.fixture
def journal() -> Journal:
    return Journal()


@pytest.fixture
async def http(
    bus_key: KeyPair, client_key: RsaSigner, population: Population, journal: Journal
) -> AsyncIterator[httpx.AsyncClient]:
    account = SenderAccount("GW", "secret", (client_key.certificate_der,))
    app = create_app(
        population, BusConfig(signer=bus_key, senders={"GW": account}), journal=journal
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        yield client


def client(
    http: httpx.AsyncClient, signer: RsaSigner, bus_key: KeyPair, password: str = "secret"
) -> AsyncChannelClient:
    settings = ShepSettings(address=ADDRESS, sender_id="GW", password=password)
    return AsyncChannelClient(settings, signer, TrustStore([bus_key.certificate_der]), http=http)


def person_request(iin: str) -> etree._Element:
    payload = etree.Element(f"{{{GBDFL_NS}}}PersonRequest")
    etree.SubElement(payload, f"{{{GBDFL_NS}}}iin").text = iin
    return payload


def assert_valid(element: etree._Element, what: str) -> None:
    schema = bus_schema()
    assert schema.validate(element), f"{what}: {schema.error_log}"


def body_of(raw: bytes) -> etree._Element:
    envelope = etree.fromstring(raw)
    assert envelope.tag == f"{{{NS_SOAP11}}}Envelope"
    assert envelope.find(f"{{{NS_SOAP11}}}Header/{{{NS_WSSE}}}Security") is not None, "unsigned"
    body = envelope.find(f"{{{NS_SOAP11}}}Body")
    assert body is not None
    (content,) = [c for c in body if isinstance(c.tag, str)]
    return content


def check_message(raw: bytes, expected: str) -> etree._Element:
    content = body_of(raw)
    if expected == "Fault":
        assert content.tag == f"{{{NS_SOAP11}}}Fault"
        (error,) = content.findall(f"detail/{{{NS_ASYNC_TYPES}}}AsyncChannelFault")
        assert_valid(error, "ErrorInfo")
        return error
    assert content.tag == f"{{{NS_ASYNC_TYPES}}}{expected}"
    assert_valid(content, expected)
    # Lax processing skips what it does not know: insist that it knew the payload.
    for payload in content.findall(".//data/*"):
        assert etree.QName(payload).namespace == GBDFL_NS, payload.tag
        assert_valid(payload, "payload")
    return content


def check_exchange(entry: JournalEntry) -> str:
    operation = str(etree.QName(body_of(entry.request)).localname)
    assert operation in OPERATIONS
    check_message(entry.request, operation)
    if entry.status_code == codes.SUCCESS:
        assert entry.http_status == 200
        check_message(entry.response, operation + "Response")
    else:
        assert entry.http_status == 500
        error = check_message(entry.response, "Fault")
        assert error.findtext("errorCode") == entry.status_code
    return operation


async def test_every_exchanged_message_validates(
    http: httpx.AsyncClient,
    journal: Journal,
    population: Population,
    client_key: RsaSigner,
    bus_key: KeyPair,
) -> None:
    async with client(http, client_key, bus_key) as good:
        for person in population.people[:5]:
            response = await good.request_and_wait(INDIVIDUALS, person_request(person.iin))
            assert response.data
        with pytest.raises(ShepNotFound):
            await good.request_and_wait(INDIVIDUALS, person_request(population.absent_iin))
        request_id = await good.send_request(INDIVIDUALS, person_request(population.people[9].iin))
        (waiting,) = await good.fetch_responses(correlation_id=request_id)
        await good.status([request_id, waiting.message_id])
        await good.confirm([waiting.message_id])
        await good.fetch_responses(10)
        with pytest.raises(ShepError):
            await good.send_request("NO_SUCH_SERVICE", person_request(population.people[0].iin))
    async with client(http, client_key, bus_key, password="wrong") as bad_password:
        with pytest.raises(ShepError):
            await bad_password.fetch_responses()
    async with client(http, generate_rsa_credentials("impostor"), bus_key) as bad_key:
        with pytest.raises(ShepError):
            await bad_key.send_request(INDIVIDUALS, person_request(population.people[0].iin))

    entries = journal.entries()
    assert {e.status_code for e in entries} == {
        codes.SUCCESS,
        codes.SERVICE_UNKNOWN,
        codes.SENDER_UNKNOWN,
        codes.SIGNATURE_INVALID,
    }
    assert {check_exchange(entry) for entry in entries} == set(OPERATIONS)


async def test_a_request_that_breaks_the_contract_gets_a_valid_fault_with_reasons(
    http: httpx.AsyncClient,
) -> None:
    bad = (
        f'<e:Envelope xmlns:e="{NS_SOAP11}"><e:Body><t:sendMessage xmlns:t="{NS_ASYNC_TYPES}">'
        "<request><messageInfo><messageId>1</messageId><messageType>LETTER</messageType>"
        "</messageInfo></request></t:sendMessage></e:Body></e:Envelope>"
    ).encode()
    # As SOAP 1.1 over HTTP requires, so that the contract is what fails.
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"sendMessage"'}
    response = await http.post(ADDRESS, content=bad, headers=headers)
    assert response.status_code == 500
    error = check_message(response.content, "Fault")
    assert error.findtext("errorCode") == codes.INVALID_REQUEST
    assert error.findall("subError")


@pytest.mark.parametrize(
    "raw",
    [
        b"not xml",
        f'<e:Envelope xmlns:e="{NS_SOAP11}"/>'.encode(),
        f'<e:Envelope xmlns:e="{NS_SOAP11}"><e:Body><SendMessage/></e:Body></e:Envelope>'.encode(),
    ],
)
async def test_garbage_gets_a_valid_fault(http: httpx.AsyncClient, raw: bytes) -> None:
    response = await http.post(ADDRESS, content=raw)
    error = check_message(response.content, "Fault")
    assert error.findtext("errorCode") == codes.INVALID_REQUEST


def test_the_wsdl_has_the_four_operations() -> None:
    for name in ("AsyncChannel-Types.xsd", "AsyncChannel-Message.xsd"):
        assert name in SCHEMA_FILES.values()
        etree.XMLSchema(etree.parse(str(CONTRACT_DIR / name)))
    wsdl = zeep.Client(str(ASYNC_WSDL_PATH))  # type: ignore[no-untyped-call]
    operations = wsdl.service._binding._operations
    assert set(operations) == set(OPERATIONS)
    for name in OPERATIONS:
        assert operations[name].input.body.qname == f"{{{NS_ASYNC_TYPES}}}{name}"
        assert operations[name].output.body.qname == f"{{{NS_ASYNC_TYPES}}}{name}Response"
    assert wsdl.service._binding_options["address"] == "http://127.0.0.1:8200/bip-async-wss-gost/"


async def test_the_served_wsdl_and_schemas_are_the_contract(http: httpx.AsyncClient) -> None:
    wsdl = await http.get(ADDRESS + "?wsdl")
    assert wsdl.status_code == 200
    assert b'location="http://bus.test/bip-async-wss-gost/"' in wsdl.content
    assert b"AsyncChannelHttpBinding" in wsdl.content
    for name in SCHEMA_FILES.values():
        served = await http.get(ADDRESS + name)
        assert served.content == (CONTRACT_DIR / name).read_bytes()
    assert (await http.get(ADDRESS + "..%2Fservices.json")).status_code == 404
