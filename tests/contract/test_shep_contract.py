"""Every message the adapter and the mock bus exchange obeys ``contracts/shep``.

The adapter talks to the mock in-process (httpx's ASGI transport, no sockets) through
every path the contract has: an answer, each kind of fault, a request the bus cannot
parse. Then each message in the mock's journal, both directions, is checked against
the XSDs with lxml, payload included; a message the schemas do not cover fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import zeep
from lxml import etree

from adapters.shep import (
    IndividualsClient,
    RsaSigner,
    ShepError,
    ShepSettings,
    SyncChannelClient,
    TrustStore,
    generate_rsa_credentials,
)
from contracts.shep import (
    CONTRACT_DIR,
    GBDFL_NS,
    NS_TYPES,
    SCHEMA_FILES,
    WSDL_PATH,
    bus_schema,
    codes,
    load_services,
)
from contracts.shep.wsse import NS_SOAP11, NS_WSSE
from mocks.population import Population, generate_population
from mocks.shep import BusConfig, Journal, JournalEntry, SenderAccount, create_app
from mocks.shep.wsse import KeyPair

ADDRESS = "http://bus.test/bip-sync-wss-gost/"
KNOWN_PAYLOAD_NAMESPACES = {GBDFL_NS}


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
def app(
    bus_key: KeyPair, client_key: RsaSigner, population: Population, journal: Journal
) -> object:
    account = SenderAccount("GW", "secret", (client_key.certificate_der,))
    config = BusConfig(signer=bus_key, senders={"GW": account})
    return create_app(population, config, journal=journal)


@pytest.fixture
async def http(app: object) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:  # type: ignore[arg-type]
        yield client


def channel(
    http: httpx.AsyncClient, signer: RsaSigner, bus_key: KeyPair, **changes: str
) -> SyncChannelClient:
    settings = ShepSettings(
        address=ADDRESS,
        sender_id=changes.get("sender_id", "GW"),
        password=changes.get("password", "secret"),
    )
    return SyncChannelClient(settings, signer, TrustStore([bus_key.certificate_der]), http=http)


def assert_valid(element: etree._Element, what: str) -> None:
    schema = bus_schema()
    assert schema.validate(element), f"{what}: {schema.error_log}"


def check_message(raw: bytes, expected_root: str) -> etree._Element:
    envelope = etree.fromstring(raw)
    assert envelope.tag == f"{{{NS_SOAP11}}}Envelope"
    assert envelope.find(f"{{{NS_SOAP11}}}Header/{{{NS_WSSE}}}Security") is not None, "unsigned"
    body = envelope.find(f"{{{NS_SOAP11}}}Body")
    assert body is not None
    (content,) = [c for c in body if isinstance(c.tag, str)]
    if expected_root == "Fault":
        assert content.tag == f"{{{NS_SOAP11}}}Fault"
        (error,) = content.findall(f"detail/{{{NS_TYPES}}}SendMessageFault1_SendMessageFault")
        assert_valid(error, "ErrorInfo")
        return error
    assert content.tag == f"{{{NS_TYPES}}}{expected_root}"
    assert_valid(content, expected_root)
    # Lax processing skips what it does not know: insist that it knew the payload.
    for payload in content.findall("*/*/data/*"):
        assert etree.QName(payload).namespace in KNOWN_PAYLOAD_NAMESPACES, payload.tag
        assert_valid(payload, "payload")
    return content


def check_exchange(entry: JournalEntry) -> None:
    if entry.status_code != codes.INVALID_REQUEST:
        check_message(entry.request, "SendMessage")
    if entry.status_code == codes.SUCCESS:
        assert entry.http_status == 200
        check_message(entry.response, "SendMessageResponse")
    else:
        assert entry.http_status == 500
        error = check_message(entry.response, "Fault")
        assert error.findtext("errorCode") == entry.status_code


async def test_every_exchanged_message_validates(
    http: httpx.AsyncClient,
    journal: Journal,
    population: Population,
    client_key: RsaSigner,
    bus_key: KeyPair,
) -> None:
    async with channel(http, client_key, bus_key) as good:
        individuals = IndividualsClient(good)
        for iin in (population.deceased_iin, population.temporary_iin, population.foreign_iin):
            assert await individuals.person_by_iin(iin) is not None
        for person in population.people[:10]:
            assert await individuals.person_by_iin(person.iin) is not None
        assert await individuals.person_by_iin(population.absent_iin) is None
        payload = etree.Element(f"{{{GBDFL_NS}}}PersonRequest")
        etree.SubElement(payload, f"{{{GBDFL_NS}}}iin").text = "900101300018"  # bad control
        with pytest.raises(ShepError):
            await good.send("GBDFL_UniversalServiceSync", payload)
        with pytest.raises(ShepError):
            await good.send("NO_SUCH_SERVICE", payload)
    async with channel(http, client_key, bus_key, password="wrong") as bad_password:
        with pytest.raises(ShepError):
            await IndividualsClient(bad_password).person_by_iin(population.deceased_iin)
    impostor = generate_rsa_credentials("impostor")
    async with channel(http, impostor, bus_key) as bad_key:
        with pytest.raises(ShepError):
            await IndividualsClient(bad_key).person_by_iin(population.deceased_iin)

    entries = journal.entries()
    seen = {e.status_code for e in entries}
    assert seen == {
        codes.SUCCESS,
        codes.NOT_FOUND,
        codes.INVALID_DATA,
        codes.SERVICE_UNKNOWN,
        codes.SENDER_UNKNOWN,
        codes.SIGNATURE_INVALID,
    }
    for entry in entries:
        check_exchange(entry)


async def test_a_request_that_breaks_the_contract_gets_a_valid_fault_with_reasons(
    http: httpx.AsyncClient, journal: Journal
) -> None:
    # Hand-written on purpose: zeep would refuse to build this.
    bad = (
        f'<e:Envelope xmlns:e="{NS_SOAP11}"><e:Body><t:SendMessage xmlns:t="{NS_TYPES}">'
        "<request><requestInfo><messageId>1</messageId></requestInfo></request>"
        "</t:SendMessage></e:Body></e:Envelope>"
    ).encode()
    # As SOAP 1.1 over HTTP requires, so that the contract is what fails.
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"SendMessage"'}
    response = await http.post(ADDRESS, content=bad, headers=headers)
    assert response.status_code == 500
    error = check_message(response.content, "Fault")
    assert error.findtext("errorCode") == codes.INVALID_REQUEST
    assert error.findall("subError"), "the schema's complaints are passed on"
    (entry,) = journal.entries()
    check_exchange(entry)


@pytest.mark.parametrize(
    "raw", [b"not xml", b"<a/>", f'<e:Envelope xmlns:e="{NS_SOAP11}"/>'.encode()]
)
async def test_garbage_gets_a_valid_fault(http: httpx.AsyncClient, raw: bytes) -> None:
    response = await http.post(ADDRESS, content=raw)
    error = check_message(response.content, "Fault")
    assert error.findtext("errorCode") == codes.INVALID_REQUEST


def test_the_contract_files_hang_together() -> None:
    for name in SCHEMA_FILES.values():
        etree.XMLSchema(etree.parse(str(CONTRACT_DIR / name)))
    client = zeep.Client(str(WSDL_PATH))  # type: ignore[no-untyped-call]
    operation = client.service._binding._operations["SendMessage"]
    assert operation.input.body.qname == f"{{{NS_TYPES}}}SendMessage"
    assert client.service._binding_options["address"] == "http://127.0.0.1:8200/bip-sync-wss-gost/"
    for service in load_services():
        assert service.payload_schema in SCHEMA_FILES.values()
        schema = etree.parse(str(CONTRACT_DIR / service.payload_schema)).getroot()
        target = schema.get("targetNamespace")
        names = {f"{{{target}}}{e.get('name')}" for e in schema.findall("{*}element")}
        assert {service.request, service.response} <= names


async def test_the_served_schemas_are_the_contract(http: httpx.AsyncClient) -> None:
    wsdl = await http.get(ADDRESS + "?wsdl")
    assert wsdl.status_code == 200
    assert b'location="http://bus.test/bip-sync-wss-gost/"' in wsdl.content
    for name in SCHEMA_FILES.values():
        served = await http.get(ADDRESS + name)
        assert served.content == (CONTRACT_DIR / name).read_bytes()
    assert (await http.get(ADDRESS + "..%2Fservices.json")).status_code == 404
