"""The adapter's WS-Security (xmlsec underneath): what must verify and what must not."""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import xmlsec
from lxml import etree

from adapters.shep.dsig import (
    RSA_SHA256,
    RsaSigner,
    SignatureAlgorithm,
    SignatureError,
    TrustStore,
    XmlsecAlgorithm,
    generate_rsa_credentials,
)
from adapters.shep.wsse import BodySignature, check_fresh, sign_envelope, verify_envelope
from contracts.clock import ManualClock
from contracts.shep.wsse import NS_DS, NS_SOAP11, NS_WSSE, NS_WSU

ENVELOPE = (
    b'<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soap-env:Body><p:Ask xmlns:p='urn:test'><p:iin>900101300017</p:iin></p:Ask>"
    b"</soap-env:Body></soap-env:Envelope>"
)
NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
WSU_ID = f"{{{NS_WSU}}}Id"


@pytest.fixture(scope="module")
def alice() -> RsaSigner:
    return generate_rsa_credentials("alice")


@pytest.fixture(scope="module")
def mallory() -> RsaSigner:
    return generate_rsa_credentials("mallory")


def signed_wire(signer: RsaSigner, now: datetime = NOW) -> bytes:
    """Sign, serialise and parse again, as the receiving side would see it."""
    envelope = sign_envelope(etree.fromstring(ENVELOPE), signer, now=now)
    wire: bytes = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
    return wire


def received(signer: RsaSigner) -> etree._Element:
    return etree.fromstring(signed_wire(signer))


def find(envelope: etree._Element, path: str) -> etree._Element:
    found = envelope.find(path)
    assert found is not None, path
    return found


BODY = f"{{{NS_SOAP11}}}Body"
HEADER = f"{{{NS_SOAP11}}}Header"
CREATED = f".//{{{NS_WSU}}}Created"


def test_a_signed_envelope_verifies_naming_its_certificate_and_times(alice: RsaSigner) -> None:
    verified = verify_envelope(received(alice), TrustStore([alice.certificate_der]))
    assert verified.certificate_der == alice.certificate_der
    assert verified.created == NOW
    assert verified.expires == NOW + timedelta(minutes=5)


def test_the_signature_covers_the_body_and_the_timestamp_by_their_ids(alice: RsaSigner) -> None:
    envelope = received(alice)
    body_id = find(envelope, BODY).get(WSU_ID)
    timestamp = find(envelope, f"{HEADER}/{{{NS_WSSE}}}Security/{{{NS_WSU}}}Timestamp")
    uris = [r.get("URI") for r in envelope.iter(f"{{{NS_DS}}}Reference")]
    assert sorted(uris) == sorted([f"#{body_id}", f"#{timestamp.get(WSU_ID)}"])
    assert find(envelope, f".//{{{NS_WSSE}}}BinarySecurityToken").text


def test_a_tampered_body_fails(alice: RsaSigner) -> None:
    envelope = received(alice)
    find(envelope, ".//{urn:test}iin").text = "900101300025"
    with pytest.raises(SignatureError, match="does not verify"):
        verify_envelope(envelope, TrustStore([alice.certificate_der]))


def test_a_tampered_timestamp_fails(alice: RsaSigner) -> None:
    """Making an old message look new breaks the signature."""
    envelope = received(alice)
    find(envelope, CREATED).text = "2030-01-01T00:00:00.000Z"
    with pytest.raises(SignatureError, match="does not verify"):
        verify_envelope(envelope, TrustStore([alice.certificate_der]))


def test_a_digest_re_pointed_at_a_forged_body_fails(alice: RsaSigner) -> None:
    """The digest then matches the forged Body, but the SignedInfo it sits in does not."""
    envelope = received(alice)
    find(envelope, ".//{urn:test}iin").text = "900101300025"
    body = find(envelope, BODY)
    canonical = etree.tostring(body, method="c14n", exclusive=True, with_comments=False)
    uri = f"#{body.get(WSU_ID)}"
    (reference,) = [r for r in envelope.iter(f"{{{NS_DS}}}Reference") if r.get("URI") == uri]
    digest = find(reference, f"{{{NS_DS}}}DigestValue")
    digest.text = base64.b64encode(hashlib.sha256(canonical).digest()).decode()
    with pytest.raises(SignatureError, match="does not verify"):
        verify_envelope(envelope, TrustStore([alice.certificate_der]))


def test_a_signature_by_an_untrusted_key_fails(alice: RsaSigner, mallory: RsaSigner) -> None:
    with pytest.raises(SignatureError, match="not trusted"):
        verify_envelope(received(mallory), TrustStore([alice.certificate_der]))


def test_a_wrong_key_behind_a_trusted_certificate_fails(
    alice: RsaSigner, mallory: RsaSigner
) -> None:
    """Mallory presents Alice's certificate but can only sign with her own key."""
    impostor = RsaSigner(mallory.private_key, alice.certificate)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_envelope(received(impostor), TrustStore([alice.certificate_der]))


def test_an_unsigned_envelope_fails(alice: RsaSigner) -> None:
    with pytest.raises(SignatureError, match="not signed"):
        verify_envelope(etree.fromstring(ENVELOPE), TrustStore([alice.certificate_der]))


def test_a_signed_body_moved_into_the_header_with_a_forged_one_in_its_place_fails(
    alice: RsaSigner,
) -> None:
    """Signature wrapping: the signed original hidden in the header keeps its id."""
    envelope = received(alice)
    body = find(envelope, BODY)
    find(envelope, HEADER).append(copy.deepcopy(body))
    find(body, ".//{urn:test}iin").text = "900101300025"
    with pytest.raises(SignatureError, match="not unique"):
        verify_envelope(envelope, TrustStore([alice.certificate_der]))


def test_a_forged_body_under_a_fresh_id_is_not_what_was_signed(alice: RsaSigner) -> None:
    """Wrapping, the other way: the forged Body gets its own id, the signed one moves."""
    envelope = received(alice)
    body = find(envelope, BODY)
    hidden = copy.deepcopy(body)
    find(envelope, HEADER).append(hidden)
    body.set(WSU_ID, "forged")
    find(body, ".//{urn:test}iin").text = "900101300025"
    with pytest.raises(SignatureError, match="exactly this envelope's Body"):
        verify_envelope(envelope, TrustStore([alice.certificate_der]))


def test_a_message_without_a_timestamp_fails(alice: RsaSigner) -> None:
    envelope = received(alice)
    timestamp = find(envelope, f".//{{{NS_WSU}}}Timestamp")
    timestamp.getparent().remove(timestamp)
    with pytest.raises(SignatureError, match="wsu:Timestamp"):
        verify_envelope(envelope, TrustStore([alice.certificate_der]))


def test_a_signature_over_the_body_alone_fails(alice: RsaSigner) -> None:
    """An unsigned timestamp is no timestamp: anyone could have refreshed it."""
    envelope = received(alice)
    timestamp_id = find(envelope, f".//{{{NS_WSU}}}Timestamp").get(WSU_ID)
    for reference in list(envelope.iter(f"{{{NS_DS}}}Reference")):
        if reference.get("URI") == f"#{timestamp_id}":
            reference.getparent().remove(reference)
    with pytest.raises(SignatureError, match="exactly this envelope's Body and Timestamp"):
        verify_envelope(envelope, TrustStore([alice.certificate_der]))


def test_a_transform_other_than_exclusive_c14n_fails(alice: RsaSigner) -> None:
    envelope = received(alice)
    transform = next(envelope.iter(f"{{{NS_DS}}}Transform"))
    transform.set("Algorithm", "http://www.w3.org/2000/09/xmldsig#enveloped-signature")
    with pytest.raises(SignatureError, match="exclusive c14n"):
        verify_envelope(envelope, TrustStore([alice.certificate_der]))


RSA_SHA512 = XmlsecAlgorithm(xmlsec.constants.TransformRsaSha512, xmlsec.constants.TransformSha512)


@dataclass(frozen=True)
class Sha512Signer:
    """Another suite behind the same seam: RSA-SHA512, to show the header is suite-blind."""

    rsa: RsaSigner

    @property
    def algorithm(self) -> SignatureAlgorithm:
        return RSA_SHA512

    @property
    def certificate_der(self) -> bytes:
        return self.rsa.certificate_der

    def sign(self, signature: etree._Element, referenced: Sequence[etree._Element]) -> None:
        key = xmlsec.Key.from_memory(self.rsa.private_key_pem(), xmlsec.constants.KeyDataFormatPem)
        RSA_SHA512.context(key, referenced).sign(signature)


def test_another_suite_plugs_in_and_is_refused_unless_named(alice: RsaSigner) -> None:
    signer = Sha512Signer(alice)
    wire = etree.tostring(sign_envelope(etree.fromstring(ENVELOPE), signer, now=NOW))
    trust = TrustStore([alice.certificate_der])
    with pytest.raises(SignatureError, match="unsupported signature method"):
        verify_envelope(etree.fromstring(wire), trust)
    suites = {signer.algorithm.signature_method: signer.algorithm}
    assert verify_envelope(etree.fromstring(wire), trust, suites).created == NOW


def test_a_suite_is_held_to_its_own_digest(alice: RsaSigner) -> None:
    envelope = received(alice)
    method = next(envelope.iter(f"{{{NS_DS}}}SignatureMethod"))
    method.set("Algorithm", RSA_SHA512.signature_method)
    suites = {RSA_SHA512.signature_method: RSA_SHA512, RSA_SHA256.signature_method: RSA_SHA256}
    with pytest.raises(SignatureError, match="unsupported digest method"):
        verify_envelope(envelope, TrustStore([alice.certificate_der]), suites)


@pytest.mark.parametrize("offset", [timedelta(minutes=6), timedelta(minutes=-6)])
def test_a_timestamp_outside_the_window_is_stale(alice: RsaSigner, offset: timedelta) -> None:
    verified = verify_envelope(received(alice), TrustStore([alice.certificate_der]))
    with pytest.raises(SignatureError, match="stale"):
        check_fresh(verified, NOW + offset, timedelta(minutes=5))


def test_an_expired_timestamp_is_refused_even_within_a_wide_window(alice: RsaSigner) -> None:
    verified = verify_envelope(received(alice), TrustStore([alice.certificate_der]))
    with pytest.raises(SignatureError, match="expired"):
        check_fresh(verified, verified.expires, timedelta(hours=1))


def test_a_timestamp_within_the_window_is_fresh(alice: RsaSigner) -> None:
    verified = verify_envelope(received(alice), TrustStore([alice.certificate_der]))
    check_fresh(verified, NOW + timedelta(minutes=4), timedelta(minutes=5))
    check_fresh(verified, NOW - timedelta(minutes=4), timedelta(minutes=5))


def test_the_zeep_hook_stamps_with_its_clock_and_checks_with_it(alice: RsaSigner) -> None:
    clock = ManualClock(NOW)
    hook = BodySignature(alice, TrustStore([alice.certificate_der]), clock=clock)
    envelope, _ = hook.apply(etree.fromstring(ENVELOPE), {})
    wire = etree.tostring(envelope)
    assert find(etree.fromstring(wire), CREATED).text == "2026-05-04T09:30:00.000Z"
    hook.verify(etree.fromstring(wire))
    clock.advance(timedelta(minutes=10))
    with pytest.raises(SignatureError, match="stale"):
        hook.verify(etree.fromstring(wire))


def test_pem_round_trip_keeps_the_identity(alice: RsaSigner) -> None:
    again = RsaSigner.from_pem(alice.private_key_pem(), alice.certificate_pem())
    verified = verify_envelope(received(again), TrustStore([alice.certificate_der]))
    assert verified.certificate_der == alice.certificate_der
