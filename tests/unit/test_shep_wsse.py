"""WS-Security over the SOAP Body: what must verify and what must not."""

from __future__ import annotations

import base64
import copy

import pytest
from lxml import etree

from adapters.shep.wsse import (
    NS_DS,
    NS_SOAP11,
    NS_WSSE,
    RSA_SHA256,
    RsaSigner,
    SignatureError,
    TrustStore,
    _c14n,
    generate_rsa_credentials,
    sign_envelope,
    verify_envelope,
)

ENVELOPE = (
    b'<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soap-env:Body><p:Ask xmlns:p='urn:test'><p:iin>900101300017</p:iin></p:Ask>"
    b"</soap-env:Body></soap-env:Envelope>"
)


@pytest.fixture(scope="module")
def alice() -> RsaSigner:
    return generate_rsa_credentials("alice")


@pytest.fixture(scope="module")
def mallory() -> RsaSigner:
    return generate_rsa_credentials("mallory")


def signed_wire(signer: RsaSigner) -> bytes:
    """Sign, serialise and parse again, as the receiving side would see it."""
    envelope = sign_envelope(etree.fromstring(ENVELOPE), signer)
    wire: bytes = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
    return wire


def test_a_signed_envelope_verifies_and_names_its_certificate(alice: RsaSigner) -> None:
    received = etree.fromstring(signed_wire(alice))
    assert verify_envelope(received, TrustStore([alice.certificate_der])) == alice.certificate_der


def test_the_signature_covers_the_body_by_its_wsu_id(alice: RsaSigner) -> None:
    received = etree.fromstring(signed_wire(alice))
    body = received.find(f"{{{NS_SOAP11}}}Body")
    assert body is not None
    body_id = body.get(
        "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd}Id"
    )
    reference = received.find(f".//{{{NS_DS}}}Reference")
    assert reference is not None and reference.get("URI") == f"#{body_id}"
    token = received.find(f".//{{{NS_WSSE}}}BinarySecurityToken")
    assert token is not None and token.text


def test_a_tampered_body_fails(alice: RsaSigner) -> None:
    received = etree.fromstring(signed_wire(alice))
    iin = received.find(".//{urn:test}iin")
    assert iin is not None
    iin.text = "900101300025"
    with pytest.raises(SignatureError, match="digest"):
        verify_envelope(received, TrustStore([alice.certificate_der]))


def test_a_tampered_signed_info_fails(alice: RsaSigner) -> None:
    received = etree.fromstring(signed_wire(alice))
    digest = received.find(f".//{{{NS_DS}}}DigestValue")
    assert digest is not None
    # Re-point the digest at a forged body: the digest then matches, the signature not.
    iin = received.find(".//{urn:test}iin")
    assert iin is not None
    iin.text = "900101300025"
    body = received.find(f"{{{NS_SOAP11}}}Body")
    assert body is not None
    digest.text = base64.b64encode(RSA_SHA256.digest(_c14n(body))).decode()
    with pytest.raises(SignatureError, match="does not match"):
        verify_envelope(received, TrustStore([alice.certificate_der]))


def test_a_signature_by_an_untrusted_key_fails(alice: RsaSigner, mallory: RsaSigner) -> None:
    received = etree.fromstring(signed_wire(mallory))
    with pytest.raises(SignatureError, match="not trusted"):
        verify_envelope(received, TrustStore([alice.certificate_der]))


def test_a_wrong_key_behind_a_trusted_certificate_fails(
    alice: RsaSigner, mallory: RsaSigner
) -> None:
    """Mallory presents Alice's certificate but can only sign with her own key."""
    impostor = RsaSigner(mallory.private_key, alice.certificate)
    received = etree.fromstring(signed_wire(impostor))
    with pytest.raises(SignatureError, match="does not match"):
        verify_envelope(received, TrustStore([alice.certificate_der]))


def test_an_unsigned_envelope_fails(alice: RsaSigner) -> None:
    with pytest.raises(SignatureError, match="not signed"):
        verify_envelope(etree.fromstring(ENVELOPE), TrustStore([alice.certificate_der]))


def test_a_signature_moved_onto_another_envelope_fails(alice: RsaSigner) -> None:
    """Wrapping: keep the signed Body elsewhere and put a forged Body in its place."""
    received = etree.fromstring(signed_wire(alice))
    body = received.find(f"{{{NS_SOAP11}}}Body")
    assert body is not None
    header = received.find(f"{{{NS_SOAP11}}}Header")
    assert header is not None
    header.append(copy.deepcopy(body))  # the signed original, hidden in the header
    iin = body.find(".//{urn:test}iin")
    assert iin is not None
    iin.text = "900101300025"
    with pytest.raises(SignatureError):
        verify_envelope(received, TrustStore([alice.certificate_der]))


def test_pem_round_trip_keeps_the_identity(alice: RsaSigner) -> None:
    again = RsaSigner.from_pem(alice.private_key_pem(), alice.certificate_pem())
    received = etree.fromstring(signed_wire(again))
    assert verify_envelope(received, TrustStore([alice.certificate_der]))
