"""The gateway's verifier of signed hand-overs: what it accepts, and every way it refuses.

Certificates are made here with `cryptography`, so each test states exactly what is
wrong with the one it hands over; `test_signatures_mock_ca.py` runs the same checks on
keys the mock CA issued.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificateIssuerPublicKeyTypes,
)
from cryptography.x509.oid import NameOID

from contracts.iin import check_iin
from contracts.signing import HandoverStatement, Signature, SignatureAlgorithm, canonical_bytes
from gateway.signatures import (
    HandoverRecord,
    Refusal,
    SignatureRefused,
    Signer,
    TrustAnchors,
    signature_from_form,
    signing_request,
    verify_chain,
    verify_handover,
)
from gateway.web.i18n import KK, RU, translate

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
IIN = check_iin("900101300017")
OTHER_IIN = check_iin("850515400022")


@dataclass
class Keys:
    root: rsa.RSAPrivateKey
    official: rsa.RSAPrivateKey
    stranger: rsa.RSAPrivateKey


@pytest.fixture(scope="module")
def keys() -> Keys:
    def make() -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    return Keys(make(), make(), make())


ROOT_NAME = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test root CA")])


def ca_certificate(
    key: CertificateIssuerPrivateKeyTypes, name: x509.Name = ROOT_NAME, *, ca: bool = True
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=365))
        .not_valid_after(NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


def subject(
    *,
    body: str | None = "lmc_turkestan",
    role: str | None = "head",
    region: str | None = "turkestan",
    serial_number: str | None = "IIN" + IIN,
    name: str | None = "Омарова Жанар Серикқызы",
) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ")]
    for oid, value in (
        (NameOID.STATE_OR_PROVINCE_NAME, region),
        (NameOID.ORGANIZATION_NAME, body),
        (NameOID.TITLE, role),
        (NameOID.SERIAL_NUMBER, serial_number),
        (NameOID.COMMON_NAME, name),
    ):
        if value is not None:
            attributes.append(x509.NameAttribute(oid, value))
    return x509.Name(attributes)


def official_certificate(
    public_key: CertificateIssuerPublicKeyTypes,
    issuer_key: CertificateIssuerPrivateKeyTypes,
    *,
    name: x509.Name | None = None,
    issuer: x509.Name = ROOT_NAME,
    not_before: datetime = NOW - timedelta(days=30),
    not_after: datetime = NOW + timedelta(days=335),
    serial: int = 0x5EED,
    usage: str = "sign",
    ca: bool = False,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(name or subject())
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if usage != "none":
        signing = usage == "sign"
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=signing,
                content_commitment=signing,
                key_encipherment=not signing,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def statement(**changes: Any) -> HandoverStatement:
    base = HandoverStatement(
        case_id="case-1",
        flow="kandas_application",
        step="lmc_review",
        round=0,
        body="lmc_turkestan",
        decision="forward",
        remarks=None,
        data={},
        signed_at=NOW - timedelta(minutes=1),
    )
    return base.model_copy(update=changes)


def rsa_sign(key: rsa.RSAPrivateKey, data: bytes) -> str:
    return base64.b64encode(key.sign(data, padding.PKCS1v15(), hashes.SHA256())).decode()


def signed(
    what: HandoverStatement, key: rsa.RSAPrivateKey, certificate: x509.Certificate
) -> Signature:
    return Signature(
        algorithm=SignatureAlgorithm.rsa_sha256,
        certificate=pem(certificate),
        value=rsa_sign(key, canonical_bytes(what)),
    )


@pytest.fixture(scope="module")
def root(keys: Keys) -> x509.Certificate:
    return ca_certificate(keys.root)


@pytest.fixture(scope="module")
def trust(root: x509.Certificate) -> TrustAnchors:
    return TrustAnchors.from_pem(pem(root).encode())


@pytest.fixture(scope="module")
def good_cert(keys: Keys) -> x509.Certificate:
    return official_certificate(keys.official.public_key(), keys.root)


def verify(
    what: HandoverStatement,
    signature: Signature | None,
    trust: TrustAnchors,
    *,
    body: str = "lmc_turkestan",
    role: str = "head",
    now: datetime = NOW,
) -> Signer:
    return verify_handover(
        what, signature, trust=trust, expected_body=body, expected_role=role, now=now
    )


def refused(
    what: HandoverStatement,
    signature: Signature | None,
    trust: TrustAnchors,
    reason: Refusal,
    **kwargs: Any,
) -> SignatureRefused:
    with pytest.raises(SignatureRefused) as caught:
        verify(what, signature, trust, **kwargs)
    assert caught.value.reason is reason, caught.value.detail
    _texts_render(caught.value)
    return caught.value


def _texts_render(refusal: SignatureRefused) -> None:
    """Every refusal a test meets has its page text in both languages, fully formatted."""
    for lang in ("ru", "kk"):
        text = translate(lang, refusal.message_key, **refusal.params)
        assert text != refusal.message_key and "{" not in text, (lang, text)


# --- the canonical bytes are a contract ---------------------------------------------------


def test_canonical_bytes_of_a_fixed_statement_are_pinned() -> None:
    fixed = HandoverStatement(
        case_id="c-1",
        flow="kandas_application",
        step="lmc_review",
        round=1,
        body="lmc_turkestan",
        decision="return",
        remarks="Нет справки о браке",
        data={"z": 1, "a": True, "m": None, "b": "ok"},
        signed_at=datetime.fromisoformat("2026-03-02T15:04:05.123456+05:00"),
    )
    expected = (
        '{"body":"lmc_turkestan","case_id":"c-1","data":{"a":true,"b":"ok","m":null,"z":1},'
        '"decision":"return","flow":"kandas_application","remarks":"Нет справки о браке",'
        '"round":1,"signed_at":"2026-03-02T10:04:05Z","step":"lmc_review"}'
    ).encode()
    assert canonical_bytes(fixed) == expected


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic notes the float it was not built for
def test_canonical_bytes_refuse_floats_whose_encoding_is_ambiguous() -> None:
    floaty = HandoverStatement.model_construct(**{**statement().model_dump(), "data": {"x": 0.1}})
    with pytest.raises(ValueError, match=r"data\.x"):
        canonical_bytes(floaty)


# --- what is accepted -----------------------------------------------------------------------


def test_a_good_signature_names_the_signer(
    keys: Keys, trust: TrustAnchors, good_cert: x509.Certificate
) -> None:
    what = statement(remarks="всё проверено", data={"outcome": "interested", "members": 3})
    signer = verify(what, signed(what, keys.official, good_cert), trust)
    assert signer.full_name == "Омарова Жанар Серикқызы"
    assert signer.iin == IIN
    assert (signer.body, signer.role, signer.region) == ("lmc_turkestan", "head", "turkestan")
    assert signer.serial == "5eed"
    der = good_cert.public_bytes(serialization.Encoding.DER)
    assert signer.fingerprint_sha256 == hashlib.sha256(der).hexdigest()
    assert signer.algorithm is SignatureAlgorithm.rsa_sha256
    assert signer.not_after == good_cert.not_valid_after_utc


def test_the_signers_repr_keeps_personal_data_out_of_logs(
    keys: Keys, trust: TrustAnchors, good_cert: x509.Certificate
) -> None:
    what = statement()
    signer = verify(what, signed(what, keys.official, good_cert), trust)
    assert IIN not in repr(signer) and "Омарова" not in repr(signer)
    assert signer.masked_iin == "90********17"


def test_a_certificate_without_key_usage_may_sign(keys: Keys, trust: TrustAnchors) -> None:
    certificate = official_certificate(keys.official.public_key(), keys.root, usage="none")
    what = statement()
    assert verify(what, signed(what, keys.official, certificate), trust).iin == IIN


def test_a_signature_with_line_breaks_in_its_base64_verifies(
    keys: Keys, trust: TrustAnchors, good_cert: x509.Certificate
) -> None:
    what = statement()
    value = signed(what, keys.official, good_cert).value
    wrapped = "\n".join(value[i : i + 64] for i in range(0, len(value), 64))
    signature = signed(what, keys.official, good_cert).model_copy(update={"value": wrapped})
    assert verify(what, signature, trust).iin == IIN


# --- every refusal --------------------------------------------------------------------------


def test_unsigned(trust: TrustAnchors, good_cert: x509.Certificate) -> None:
    refused(statement(), None, trust, Refusal.unsigned)
    blank = Signature.model_construct(
        algorithm=SignatureAlgorithm.rsa_sha256, certificate=pem(good_cert), value="   "
    )
    refused(statement(), blank, trust, Refusal.unsigned)


def test_malformed_certificate_or_value(
    keys: Keys, trust: TrustAnchors, good_cert: x509.Certificate, root: x509.Certificate
) -> None:
    what = statement()
    good = signed(what, keys.official, good_cert)
    not_pem = good.model_copy(update={"certificate": "-----BEGIN CERTIFICATE-----\nAAAA" * 20})
    refused(what, not_pem, trust, Refusal.malformed)
    two = good.model_copy(update={"certificate": pem(good_cert) + pem(root)})
    assert "exactly" in refused(what, two, trust, Refusal.malformed).detail
    not_base64 = good.model_copy(update={"value": "not base64 at all!!"})
    assert "base64" in refused(what, not_base64, trust, Refusal.malformed).detail


def test_unknown_algorithm(keys: Keys, trust: TrustAnchors, good_cert: x509.Certificate) -> None:
    what = statement()
    good = signed(what, keys.official, good_cert)
    # Past validation, as from a newer contract version or a hand-built object.
    odd = Signature.model_construct(
        algorithm="ECDSA-P256",  # type: ignore[arg-type]
        certificate=good.certificate,
        value=good.value,
    )
    refusal = refused(what, odd, trust, Refusal.unknown_algorithm)
    assert refusal.params == {"algorithm": "ECDSA-P256"}


def test_gost_is_declared_but_refused_as_not_available(
    keys: Keys, trust: TrustAnchors, good_cert: x509.Certificate
) -> None:
    what = statement()
    gost = signed(what, keys.official, good_cert).model_copy(
        update={"algorithm": SignatureAlgorithm.gost_2015_512}
    )
    refusal = refused(what, gost, trust, Refusal.algorithm_unavailable)
    assert refusal.params == {"algorithm": "GOST34.10-2015-512"}


def test_a_key_that_cannot_make_this_algorithms_signatures(keys: Keys, trust: TrustAnchors) -> None:
    what = statement()
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_cert = official_certificate(ec_key.public_key(), keys.root)
    ec_signature = Signature(
        algorithm=SignatureAlgorithm.rsa_sha256,
        certificate=pem(ec_cert),
        value=base64.b64encode(
            ec_key.sign(canonical_bytes(what), ec.ECDSA(hashes.SHA256()))
        ).decode(),
    )
    assert "not an RSA key" in refused(what, ec_signature, trust, Refusal.algorithm_mismatch).detail
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    weak_cert = official_certificate(weak.public_key(), keys.root)
    assert "1024 bits" in (
        refused(what, signed(what, weak, weak_cert), trust, Refusal.algorithm_mismatch).detail
    )


def test_a_certificate_from_another_authority_is_not_trusted(
    keys: Keys, trust: TrustAnchors
) -> None:
    what = statement()
    # Self-signed by the official, with a perfect subject: anyone can make one.
    self_signed = official_certificate(keys.official.public_key(), keys.official, issuer=subject())
    refused(what, signed(what, keys.official, self_signed), trust, Refusal.untrusted_issuer)
    # An impostor root with our root's very name: the name alone proves nothing.
    impostor = official_certificate(keys.official.public_key(), keys.stranger)
    refused(what, signed(what, keys.official, impostor), trust, Refusal.untrusted_issuer)


def test_an_expired_root_trusts_nothing(keys: Keys, good_cert: x509.Certificate) -> None:
    old_root = (
        x509.CertificateBuilder()
        .subject_name(ROOT_NAME)
        .issuer_name(ROOT_NAME)
        .public_key(keys.root.public_key())
        .serial_number(2)
        .not_valid_before(NOW - timedelta(days=3650))
        .not_valid_after(NOW - timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(keys.root, hashes.SHA256())
    )
    what = statement()
    expired_trust = TrustAnchors.from_pem(pem(old_root).encode())
    refusal = refused(
        what, signed(what, keys.official, good_cert), expired_trust, Refusal.untrusted_issuer
    )
    assert "not valid now" in refusal.detail


def test_an_expired_certificate(keys: Keys, trust: TrustAnchors) -> None:
    expired = official_certificate(
        keys.official.public_key(),
        keys.root,
        not_before=NOW - timedelta(days=400),
        not_after=NOW - timedelta(days=35),
    )
    what = statement()
    refusal = refused(
        what, signed(what, keys.official, expired), trust, Refusal.certificate_expired
    )
    assert refusal.params["until"].startswith("2026-01-26")


def test_a_certificate_not_yet_valid(
    keys: Keys, trust: TrustAnchors, good_cert: x509.Certificate
) -> None:
    future = official_certificate(
        keys.official.public_key(), keys.root, not_before=NOW + timedelta(days=1)
    )
    what = statement()
    refused(what, signed(what, keys.official, future), trust, Refusal.certificate_not_yet_valid)
    # Valid now, but the statement says it was signed before the certificate existed.
    early = statement(signed_at=NOW - timedelta(days=31))
    refusal = refused(
        early, signed(early, keys.official, good_cert), trust, Refusal.certificate_not_yet_valid
    )
    assert "signed_at" in refusal.detail


def _crl(
    issuer_key: rsa.RSAPrivateKey,
    revoked: dict[int, datetime],
    *,
    next_update: datetime = NOW + timedelta(days=7),
) -> bytes:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ROOT_NAME)
        .last_update(NOW - timedelta(hours=1))
        .next_update(next_update)
    )
    for serial, when in revoked.items():
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    crl = builder.sign(issuer_key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.PEM)


def test_a_revoked_certificate_when_a_crl_is_loaded(
    keys: Keys, trust: TrustAnchors, good_cert: x509.Certificate
) -> None:
    what = statement(signed_at=NOW - timedelta(hours=4))
    signature = signed(what, keys.official, good_cert)
    assert verify(what, signature, trust).serial == "5eed"  # no CRL: not checked
    with_crl = trust.with_crl(_crl(keys.root, {0x5EED: NOW - timedelta(hours=2)}))
    refusal = refused(what, signature, with_crl, Refusal.revoked)
    assert refusal.params["since"].startswith("2026-03-02T08:00")
    # Revoked after the moment judged: a hand-over accepted before the revocation stands.
    assert verify(what, signature, with_crl, now=NOW - timedelta(hours=3)).iin == IIN


def test_a_crl_listing_other_serials_passes_and_a_newer_crl_replaces_the_older(
    keys: Keys, trust: TrustAnchors, good_cert: x509.Certificate
) -> None:
    what = statement()
    signature = signed(what, keys.official, good_cert)
    revoked = trust.with_crl(_crl(keys.root, {0x5EED: NOW - timedelta(hours=2)}))
    cleared = revoked.with_crl(_crl(keys.root, {0x1234: NOW - timedelta(hours=2)}))
    assert len(cleared.crls) == 1
    assert verify(what, signature, cleared).iin == IIN


def test_an_out_of_date_crl_leaves_revocation_unknown(
    keys: Keys, trust: TrustAnchors, good_cert: x509.Certificate
) -> None:
    what = statement()
    stale = trust.with_crl(_crl(keys.root, {}, next_update=NOW - timedelta(minutes=5)))
    refused(what, signed(what, keys.official, good_cert), stale, Refusal.revocation_unknown)


def test_a_crl_not_signed_by_an_anchor_is_not_loaded(keys: Keys, trust: TrustAnchors) -> None:
    with pytest.raises(ValueError, match="not signed by any trusted anchor"):
        trust.with_crl(_crl(keys.stranger, {0x5EED: NOW}))
    with pytest.raises(ValueError, match="revocation list"):
        trust.with_crl(b"garbage")


def test_certificates_not_meant_for_signing(keys: Keys, trust: TrustAnchors) -> None:
    what = statement()
    encipher_only = official_certificate(keys.official.public_key(), keys.root, usage="encrypt")
    refused(what, signed(what, keys.official, encipher_only), trust, Refusal.not_for_signing)
    a_ca = official_certificate(keys.official.public_key(), keys.root, ca=True)
    assert "CA certificate" in (
        refused(what, signed(what, keys.official, a_ca), trust, Refusal.not_for_signing).detail
    )


@pytest.mark.parametrize(
    ("name", "attribute"),
    [
        (subject(role=None), "title"),
        (subject(body=None), "O"),
        (subject(name=None), "CN"),
        (subject(region=None), "ST"),
        (subject(serial_number=None), "serialNumber"),
        (subject(serial_number=IIN), "serialNumber"),  # no IIN prefix
        (subject(serial_number="IIN900101300018"), "serialNumber"),  # control digit wrong
    ],
)
def test_a_subject_without_the_conventions(
    keys: Keys, trust: TrustAnchors, name: x509.Name, attribute: str
) -> None:
    what = statement()
    certificate = official_certificate(keys.official.public_key(), keys.root, name=name)
    refusal = refused(
        what, signed(what, keys.official, certificate), trust, Refusal.subject_invalid
    )
    assert refusal.params == {"attribute": attribute}


def test_signed_by_an_official_of_another_body(keys: Keys, trust: TrustAnchors) -> None:
    career_centre = official_certificate(
        keys.official.public_key(),
        keys.root,
        name=subject(body="cc_turkestan", role="head", serial_number="IIN" + OTHER_IIN),
    )
    what = statement()
    refusal = refused(
        what, signed(what, keys.official, career_centre), trust, Refusal.body_mismatch
    )
    assert refusal.params == {"actual": "cc_turkestan", "expected": "lmc_turkestan"}
    assert IIN not in refusal.detail and OTHER_IIN not in refusal.detail
    assert "cc_turkestan" in translate("ru", refusal.message_key, **refusal.params)


def test_a_statement_for_another_body_than_the_steps_owner(
    keys: Keys, trust: TrustAnchors, good_cert: x509.Certificate
) -> None:
    # The official's certificate is right, but the statement claims a different body.
    what = statement(body="lmc_north_kazakhstan")
    refusal = refused(what, signed(what, keys.official, good_cert), trust, Refusal.body_mismatch)
    assert refusal.params == {"actual": "lmc_north_kazakhstan", "expected": "lmc_turkestan"}


def test_signed_by_someone_in_another_role(keys: Keys, trust: TrustAnchors) -> None:
    specialist = official_certificate(
        keys.official.public_key(), keys.root, name=subject(role="specialist")
    )
    what = statement()
    refusal = refused(what, signed(what, keys.official, specialist), trust, Refusal.role_mismatch)
    assert refusal.params == {"actual": "specialist", "expected": "head"}


def test_signed_over_other_data(
    keys: Keys, trust: TrustAnchors, good_cert: x509.Certificate
) -> None:
    signed_text = statement(decision="return", remarks="Нет справки о браке")
    signature = signed(signed_text, keys.official, good_cert)
    assert verify(signed_text, signature, trust).iin == IIN
    for tampered in (
        signed_text.model_copy(update={"remarks": "Нет справки о браке."}),
        signed_text.model_copy(update={"decision": "forward"}),
        signed_text.model_copy(update={"round": 1}),
        signed_text.model_copy(update={"case_id": "case-2"}),
        signed_text.model_copy(update={"data": {"outcome": "interested"}}),
        signed_text.model_copy(update={"signed_at": signed_text.signed_at + timedelta(seconds=1)}),
    ):
        refused(tampered, signature, trust, Refusal.invalid_signature)


def test_signed_with_another_key_than_the_certificates(
    keys: Keys, trust: TrustAnchors, good_cert: x509.Certificate
) -> None:
    what = statement()
    refused(what, signed(what, keys.stranger, good_cert), trust, Refusal.invalid_signature)


def test_signed_in_the_future_beyond_the_clock_skew(
    keys: Keys, trust: TrustAnchors, good_cert: x509.Certificate
) -> None:
    near = statement(signed_at=NOW + timedelta(minutes=4))
    assert verify(near, signed(near, keys.official, good_cert), trust).iin == IIN
    far = statement(signed_at=NOW + timedelta(minutes=6))
    refused(far, signed(far, keys.official, good_cert), trust, Refusal.signed_in_future)


def test_a_naive_now_is_a_programming_error(
    keys: Keys, trust: TrustAnchors, good_cert: x509.Certificate
) -> None:
    what = statement()
    with pytest.raises(ValueError, match="timezone-aware"):
        verify(what, signed(what, keys.official, good_cert), trust, now=NOW.replace(tzinfo=None))


def test_every_refusal_has_its_text_in_both_languages() -> None:
    for reason in Refusal:
        key = f"signature_{reason.value}"
        assert key in RU and key in KK, key


# --- trust anchors ----------------------------------------------------------------------------


def test_trust_anchors_must_be_ca_certificates(keys: Keys, good_cert: x509.Certificate) -> None:
    with pytest.raises(ValueError, match="not a CA certificate"):
        TrustAnchors.from_pem(pem(good_cert).encode())
    with pytest.raises(ValueError, match="no PEM certificate"):
        TrustAnchors.from_pem(b"")


def test_trust_anchors_from_a_file_name_the_file(tmp_path: Path, root: x509.Certificate) -> None:
    path = tmp_path / "root.pem"
    path.write_text(pem(root))
    assert TrustAnchors.from_file(path).certificates == (root,)
    with pytest.raises(ValueError, match=r"missing\.pem"):
        TrustAnchors.from_file(tmp_path / "missing.pem")


def test_an_intermediate_published_beside_the_root_is_an_anchor(
    keys: Keys, root: x509.Certificate
) -> None:
    intermediate_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test НУЦ RSA")])
    intermediate = official_certificate(
        keys.stranger.public_key(),
        keys.root,
        name=intermediate_name,
        ca=True,
        usage="none",
    )
    leaf = official_certificate(
        keys.official.public_key(), keys.stranger, issuer=intermediate_name, serial=77
    )
    anchors = TrustAnchors.from_pem((pem(root) + pem(intermediate)).encode())
    what = statement()
    assert verify(what, signed(what, keys.official, leaf), anchors).serial == "4d"


# --- the chain of a case ----------------------------------------------------------------------


def _records(keys: Keys, certificate: x509.Certificate) -> list[HandoverRecord]:
    records = []
    for index, (step, decision, remarks) in enumerate(
        [
            ("cc_check", "forward", None),
            ("lmc_review", "return", "Уточнить родственников"),
            ("cc_check", "forward", None),
        ]
    ):
        accepted = NOW + timedelta(hours=index)
        what = statement(
            step=step,
            round=1 if index == 2 else 0,
            decision=decision,
            remarks=remarks,
            signed_at=accepted - timedelta(minutes=1),
        )
        records.append(
            HandoverRecord(
                what, signed(what, keys.official, certificate), "lmc_turkestan", "head", accepted
            )
        )
    return records


def test_a_chain_of_good_hand_overs_verifies(
    keys: Keys, trust: TrustAnchors, good_cert: x509.Certificate
) -> None:
    report = verify_chain(_records(keys, good_cert), trust=trust)
    assert report.ok and report.failure is None
    assert [s.iin for s in report.signers] == [IIN] * 3
    assert verify_chain([], trust=trust).ok


def test_the_chain_reports_the_first_tampered_hand_over(
    keys: Keys, trust: TrustAnchors, good_cert: x509.Certificate
) -> None:
    records = _records(keys, good_cert)
    tampered = records[1].statement.model_copy(update={"remarks": "Всё в порядке"})
    records[1] = replace(records[1], statement=tampered)
    records[2] = replace(records[2], signature=None)
    report = verify_chain(records, trust=trust)
    assert not report.ok and report.failure is not None
    assert report.failure.index == 1
    assert report.failure.refusal.reason is Refusal.invalid_signature
    assert report.failure.statement.remarks == "Всё в порядке"
    assert len(report.signers) == 1


def test_the_chain_judges_each_certificate_when_its_hand_over_was_accepted(
    keys: Keys, trust: TrustAnchors
) -> None:
    # The certificate expired after the hand-overs were accepted: history stands.
    short = official_certificate(
        keys.official.public_key(), keys.root, not_after=NOW + timedelta(hours=5)
    )
    assert verify_chain(_records(keys, short), trust=trust).ok
    # Revoked between the first and the second hand-over: the second fails.
    crl = _crl(
        keys.root, {0x5EED: NOW + timedelta(minutes=30)}, next_update=NOW + timedelta(days=7)
    )
    report = verify_chain(_records(keys, short), trust=trust.with_crl(crl))
    assert report.failure is not None and report.failure.index == 1
    assert report.failure.refusal.reason is Refusal.revoked


def test_a_hand_over_from_another_case_or_out_of_order_breaks_the_chain(
    keys: Keys, trust: TrustAnchors, good_cert: x509.Certificate
) -> None:
    records = _records(keys, good_cert)
    stranger = statement(case_id="case-2", signed_at=NOW + timedelta(hours=5))
    moved = [
        *records,
        HandoverRecord(
            stranger,
            signed(stranger, keys.official, good_cert),
            "lmc_turkestan",
            "head",
            NOW + timedelta(hours=6),
        ),
    ]
    report = verify_chain(moved, trust=trust)
    assert report.failure is not None and report.failure.index == 3
    assert report.failure.refusal.reason is Refusal.chain_broken
    _texts_render(report.failure.refusal)
    swapped = [records[0], records[2], records[1]]
    report = verify_chain(swapped, trust=trust)
    assert report.failure is not None and report.failure.index == 2
    assert report.failure.refusal.reason is Refusal.chain_broken


# --- the web form's helpers ---------------------------------------------------------------------


def test_signing_request_carries_the_exact_bytes() -> None:
    what = statement(remarks="Қате жоқ")
    request = signing_request(what)
    assert base64.b64decode(request.canonical_b64) == canonical_bytes(what)
    assert request.canonical_text.encode() == canonical_bytes(what)
    assert request.algorithm is SignatureAlgorithm.rsa_sha256


def test_signature_from_form(keys: Keys, trust: TrustAnchors, good_cert: x509.Certificate) -> None:
    what = statement()
    good = signed(what, keys.official, good_cert)
    assert signature_from_form({}) is None
    assert signature_from_form({"signature_value": " ", "signature_algorithm": ""}) is None
    form = {
        "signature_value": good.value,
        "signature_certificate": good.certificate,
        "signature_algorithm": "RSA-SHA256",
    }
    parsed = signature_from_form(form)
    assert parsed is not None and verify(what, parsed, trust).iin == IIN
    with pytest.raises(SignatureRefused) as caught:
        signature_from_form({**form, "signature_algorithm": "MD5"})
    assert caught.value.reason is Refusal.unknown_algorithm
    with pytest.raises(SignatureRefused) as caught:
        signature_from_form({**form, "signature_certificate": ""})
    assert caught.value.reason is Refusal.malformed
    assert "signature_certificate" in caught.value.detail
