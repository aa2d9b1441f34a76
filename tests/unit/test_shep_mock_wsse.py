"""The mock bus's own WS-Security, and that it and the adapter's agree on the wire.

Two implementations of one profile (``contracts/shep/wsse.py``): each must accept
what the other signs, and the bus must refuse what the profile forbids.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from adapters.shep import RsaSigner, TrustStore, generate_rsa_credentials
from adapters.shep.wsse import sign_envelope, verify_envelope
from contracts.shep.wsse import NS_DS, NS_SOAP11, NS_WSU
from mocks.shep import wsse
from mocks.shep.wsse import KeyPair, SecurityError

ENVELOPE = (
    f'<e:Envelope xmlns:e="{NS_SOAP11}"><e:Body><p:Ask xmlns:p="urn:test">'
    "<p:iin>900101300017</p:iin></p:Ask></e:Body></e:Envelope>"
).encode()
NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
WINDOW = timedelta(minutes=5)


@pytest.fixture(scope="module")
def bus_key() -> KeyPair:
    return KeyPair.generate("bus")


@pytest.fixture(scope="module")
def client_key() -> RsaSigner:
    return generate_rsa_credentials("gateway")


def from_client(key: RsaSigner, now: datetime = NOW) -> etree._Element:
    signed = sign_envelope(etree.fromstring(ENVELOPE), key, now=now)
    return etree.fromstring(etree.tostring(signed))


def test_the_adapter_accepts_what_the_bus_signs(bus_key: KeyPair) -> None:
    envelope = etree.fromstring(ENVELOPE)
    wsse.sign(envelope, bus_key, NOW, timedelta(minutes=5))
    verified = verify_envelope(
        etree.fromstring(etree.tostring(envelope)), TrustStore([bus_key.certificate_der])
    )
    assert verified.certificate_der == bus_key.certificate_der
    assert (verified.created, verified.expires) == (NOW, NOW + timedelta(minutes=5))


def test_the_bus_accepts_what_the_adapter_signs(client_key: RsaSigner) -> None:
    trusted = [client_key.certificate_der]
    assert wsse.verify(from_client(client_key), trusted, NOW, WINDOW) == client_key.certificate_der


def test_the_bus_refuses_a_certificate_not_registered(client_key: RsaSigner) -> None:
    stranger = generate_rsa_credentials("stranger")
    with pytest.raises(SecurityError, match="not the one registered"):
        wsse.verify(from_client(stranger), [client_key.certificate_der], NOW, WINDOW)


def test_the_bus_refuses_an_altered_body(client_key: RsaSigner) -> None:
    envelope = from_client(client_key)
    iin = envelope.find(".//{urn:test}iin")
    assert iin is not None
    iin.text = "900101300025"
    with pytest.raises(SecurityError, match="does not verify"):
        wsse.verify(envelope, [client_key.certificate_der], NOW, WINDOW)


@pytest.mark.parametrize("age", [timedelta(minutes=6), timedelta(minutes=-6)])
def test_the_bus_refuses_a_timestamp_outside_its_window(
    client_key: RsaSigner, age: timedelta
) -> None:
    envelope = from_client(client_key, NOW - age)
    with pytest.raises(SecurityError, match="window"):
        wsse.verify(envelope, [client_key.certificate_der], NOW, WINDOW)


def test_the_bus_refuses_an_expired_message(client_key: RsaSigner) -> None:
    envelope = from_client(client_key)
    with pytest.raises(SecurityError, match="expired"):
        wsse.verify(envelope, [client_key.certificate_der], NOW + timedelta(minutes=5), WINDOW * 2)


def test_the_bus_refuses_a_wrapped_body(client_key: RsaSigner) -> None:
    envelope = from_client(client_key)
    body = envelope.find(f"{{{NS_SOAP11}}}Body")
    header = envelope.find(f"{{{NS_SOAP11}}}Header")
    assert body is not None and header is not None
    header.append(copy.deepcopy(body))
    with pytest.raises(SecurityError, match="wsu:Id of its own"):
        wsse.verify(envelope, [client_key.certificate_der], NOW, WINDOW)


def test_the_bus_refuses_a_signature_that_leaves_the_timestamp_out(
    client_key: RsaSigner,
) -> None:
    envelope = from_client(client_key)
    timestamp = envelope.find(f".//{{{NS_WSU}}}Timestamp")
    assert timestamp is not None
    for reference in list(envelope.iter(f"{{{NS_DS}}}Reference")):
        if reference.get("URI") == f"#{timestamp.get(f'{{{NS_WSU}}}Id')}":
            parent = reference.getparent()
            assert parent is not None
            parent.remove(reference)
    with pytest.raises(SecurityError, match="exactly this Body and this Timestamp"):
        wsse.verify(envelope, [client_key.certificate_der], NOW, WINDOW)


def test_the_bus_refuses_an_unsigned_message(client_key: RsaSigner) -> None:
    with pytest.raises(SecurityError, match="not signed"):
        wsse.verify(etree.fromstring(ENVELOPE), [client_key.certificate_der], NOW, WINDOW)


def test_the_bus_keeps_its_key_pair_as_pem(bus_key: KeyPair) -> None:
    again = KeyPair(bus_key.key_pem, bus_key.certificate_pem)
    envelope = etree.fromstring(ENVELOPE)
    wsse.sign(envelope, again, NOW, timedelta(minutes=5))
    wire = etree.fromstring(etree.tostring(envelope))
    verify_envelope(wire, TrustStore([bus_key.certificate_der]))
