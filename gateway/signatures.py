"""Verifying the signed hand-overs (ЭЦП) of a case: who signed, whether they may, over what.

A hand-over is accepted only when all of this holds, checked in this order so that the
first failure is the one reported:

1. there is a signature, well-formed, by an algorithm we implement;
2. its certificate was issued by one of our trusted anchors (the CA's root, and any
   intermediate CA its operator publishes beside it), and both are valid now;
3. the certificate is not revoked, when a CRL of its issuer is loaded;
4. the signature verifies over `contracts.signing.canonical_bytes` of *this*
   statement: the gateway rebuilds the statement from the decision it received, so a
   signature over any other bytes (another remark, another round) fails here;
5. the certificate's subject names the body that owns the step (O) and the step's
   role (title), and the statement is that body's.

Checking a signature against whatever certificate came with it would prove nothing
(anyone can sign with a key of their own), hence step 2 before step 4; and who signed
is established before whether they may (step 5), so a forgery is reported as a
forgery. Chain checking is ours, not `cryptography.x509.verification`'s: that verifier
implements the Web PKI profile (server and TLS-client certificates, SAN and EKU rules),
which a document-signing certificate of НУЦ РК does not follow.

Pure: no files, no clock, no network, except `TrustAnchors.from_file`, which reads the
one file it is given. Refusals carry a stable `reason` code and an English `detail`;
the staff pages show `gateway.web.i18n` texts `signature_<reason>` (Russian, Kazakh),
formatted with `params`. Neither the detail nor the params carry the signer's name or
IIN, so a refusal can be logged as it is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from contracts.iin import InvalidIIN, check_iin, mask_iin
from contracts.signing import (
    SUBJECT_IIN_PREFIX,
    HandoverStatement,
    Signature,
    SignatureAlgorithm,
    canonical_bytes,
)

__all__ = [
    "CLOCK_SKEW",
    "FORM_FIELDS",
    "VERIFIERS",
    "ChainFailure",
    "ChainReport",
    "HandoverRecord",
    "Refusal",
    "RsaSha256Verifier",
    "SignatureRefused",
    "SignatureVerifier",
    "Signer",
    "SigningRequest",
    "TrustAnchors",
    "signature_from_form",
    "signing_request",
    "verify_chain",
    "verify_handover",
]

CLOCK_SKEW = timedelta(minutes=5)
"""How far in the future (by our clock) a statement's `signed_at` may be: the signer's
clock, a body's server or a staff member's computer, is not ours."""
MIN_RSA_BITS = 2048


class Refusal(StrEnum):
    """Why a signature was refused: stable codes for APIs, logs and the i18n keys."""

    unsigned = "unsigned"
    malformed = "malformed"
    unknown_algorithm = "unknown_algorithm"
    algorithm_unavailable = "algorithm_unavailable"
    algorithm_mismatch = "algorithm_mismatch"
    untrusted_issuer = "untrusted_issuer"
    certificate_expired = "certificate_expired"
    certificate_not_yet_valid = "certificate_not_yet_valid"
    revoked = "revoked"
    revocation_unknown = "revocation_unknown"
    not_for_signing = "not_for_signing"
    subject_invalid = "subject_invalid"
    invalid_signature = "invalid_signature"
    signed_in_future = "signed_in_future"
    body_mismatch = "body_mismatch"
    role_mismatch = "role_mismatch"
    chain_broken = "chain_broken"


class SignatureRefused(Exception):
    """A hand-over whose signature the gateway does not accept, and why.

    ``reason`` is the code; ``detail`` says it in English for integrators and logs;
    ``params`` fill the placeholders of the staff pages' text
    (``gateway.web.i18n``, key ``message_key``).
    """

    def __init__(self, reason: Refusal, detail: str, **params: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
        self.params = params

    @property
    def message_key(self) -> str:
        return f"signature_{self.reason.value}"


@dataclass(frozen=True)
class Signer:
    """Who signed, as their certificate says; what the timeline records."""

    full_name: str = field(repr=False)
    iin: str = field(repr=False)
    body: str
    role: str
    region: str
    serial: str
    """The certificate's serial number, lower-case hex (as the CA lists it)."""
    fingerprint_sha256: str
    """SHA-256 of the certificate (DER), lower-case hex: names this certificate exactly."""
    algorithm: SignatureAlgorithm
    not_after: datetime

    @property
    def masked_iin(self) -> str:
        return mask_iin(self.iin)


# --- algorithms ------------------------------------------------------------------------


class SignatureVerifier(Protocol):
    """The cryptography of one signature algorithm over a statement's bytes."""

    def key_problem(self, key: CertificatePublicKeyTypes) -> str | None:
        """Why this certificate's key cannot make this algorithm's signatures, or None."""
        ...

    def verify(self, key: CertificatePublicKeyTypes, data: bytes, signature: bytes) -> bool: ...


class RsaSha256Verifier:
    """RSASSA-PKCS1-v1_5 with SHA-256 (WebCrypto's name), the stand-in for ГОСТ."""

    def key_problem(self, key: CertificatePublicKeyTypes) -> str | None:
        if not isinstance(key, rsa.RSAPublicKey):
            return "the certificate's key is not an RSA key"
        if key.key_size < MIN_RSA_BITS:
            return f"the certificate's RSA key has {key.key_size} bits, fewer than {MIN_RSA_BITS}"
        return None

    def verify(self, key: CertificatePublicKeyTypes, data: bytes, signature: bytes) -> bool:
        if not isinstance(key, rsa.RSAPublicKey):
            return False
        try:
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True


#: Every algorithm the contract names; None where this machine has no implementation
#: (ГОСТ 34.10-2015 needs a provider `cryptography` does not have).
VERIFIERS: Mapping[str, SignatureVerifier | None] = {
    SignatureAlgorithm.rsa_sha256.value: RsaSha256Verifier(),
    SignatureAlgorithm.gost_2015_512.value: None,
}


# --- trust -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Crl:
    issuer: x509.Name
    next_update: datetime | None
    revoked: Mapping[int, datetime]


@dataclass(frozen=True)
class TrustAnchors:
    """The CA certificates whose certificates we accept, and their revocation lists."""

    certificates: tuple[x509.Certificate, ...]
    crls: tuple[_Crl, ...] = ()

    @classmethod
    def from_pem(cls, data: bytes) -> TrustAnchors:
        """One or more PEM certificates, each a CA certificate (else ValueError)."""
        try:
            certificates = tuple(x509.load_pem_x509_certificates(data))
        except ValueError:
            raise ValueError("no PEM certificate found in the trust anchors") from None
        for number, certificate in enumerate(certificates, start=1):
            if not _is_ca(certificate):
                raise ValueError(
                    f"trust anchor {number} ({certificate.subject.rfc4514_string()}) "
                    "is not a CA certificate"
                )
        return cls(certificates)

    @classmethod
    def from_file(cls, path: Path) -> TrustAnchors:
        """The anchors in ``path`` (`GATEWAY_CA_ROOT`); the error names the file."""
        try:
            return cls.from_pem(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: {exc}") from None

    def with_crl(self, data: bytes) -> TrustAnchors:
        """These anchors with a CRL (PEM or DER) of one of them, replacing its older one.

        The CRL must be signed by the anchor it names, or ValueError: a list of revoked
        serials from anyone else could only be used to deny service.
        """
        try:
            crl = (
                x509.load_pem_x509_crl(data)
                if data.lstrip().startswith(b"-----")
                else x509.load_der_x509_crl(data)
            )
        except ValueError:
            raise ValueError("not a certificate revocation list (PEM or DER)") from None
        issuer = next(
            (
                anchor
                for anchor in self.certificates
                if anchor.subject == crl.issuer and _crl_signed_by(crl, anchor)
            ),
            None,
        )
        if issuer is None:
            raise ValueError("the CRL is not signed by any trusted anchor")
        entry = _Crl(
            issuer=crl.issuer,
            next_update=crl.next_update_utc,
            revoked={r.serial_number: r.revocation_date_utc for r in crl},
        )
        others = tuple(c for c in self.crls if c.issuer != crl.issuer)
        return TrustAnchors(self.certificates, (*others, entry))

    def issuer_of(self, certificate: x509.Certificate) -> x509.Certificate | None:
        for anchor in self.certificates:
            if anchor.subject != certificate.issuer:
                continue
            try:
                certificate.verify_directly_issued_by(anchor)
            except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
                continue
            return anchor
        return None

    def crl_for(self, issuer: x509.Name) -> _Crl | None:
        return next((c for c in self.crls if c.issuer == issuer), None)


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return constraints.value.ca


def _crl_signed_by(crl: x509.CertificateRevocationList, anchor: x509.Certificate) -> bool:
    key = anchor.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        return False  # the only kind of CA key we can check here
    return crl.is_signature_valid(key)


# --- one hand-over ---------------------------------------------------------------------


def verify_handover(
    statement: HandoverStatement,
    signature: Signature | None,
    *,
    trust: TrustAnchors,
    expected_body: str,
    expected_role: str,
    now: datetime,
) -> Signer:
    """The signer of ``statement``, or SignatureRefused naming the first check that failed.

    ``expected_body`` and ``expected_role`` are the step's owner and role by the flow's
    definition; ``now`` is the moment of acceptance (validity and revocation are judged
    at it, so `verify_chain` re-checks a stored hand-over at the moment it was accepted).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if signature is None or not signature.value.strip():
        raise SignatureRefused(Refusal.unsigned, "the hand-over is not signed")

    algorithm = str(signature.algorithm)
    if algorithm not in VERIFIERS:
        raise SignatureRefused(
            Refusal.unknown_algorithm,
            f"unknown signature algorithm {algorithm[:40]!r}",
            algorithm=algorithm[:40],
        )
    verifier = VERIFIERS[algorithm]
    if verifier is None:
        raise SignatureRefused(
            Refusal.algorithm_unavailable,
            f"{algorithm} is not available on this gateway (no provider for it)",
            algorithm=algorithm,
        )

    certificate = _certificate(signature.certificate)
    value = _signature_bytes(signature.value)
    try:
        key = certificate.public_key()
    except (UnsupportedAlgorithm, ValueError):
        raise SignatureRefused(
            Refusal.algorithm_mismatch,
            f"the certificate's key type is not supported for {algorithm}",
            algorithm=algorithm,
        ) from None
    problem = verifier.key_problem(key)
    if problem is not None:
        raise SignatureRefused(Refusal.algorithm_mismatch, problem, algorithm=algorithm)

    issuer = trust.issuer_of(certificate)
    if issuer is None:
        raise SignatureRefused(
            Refusal.untrusted_issuer, "the certificate was not issued by a trusted authority"
        )
    if not issuer.not_valid_before_utc <= now <= issuer.not_valid_after_utc:
        raise SignatureRefused(
            Refusal.untrusted_issuer, "the issuing authority's certificate is not valid now"
        )
    _check_validity(certificate, now, "now")
    _check_validity(certificate, statement.signed_at, "at signed_at")
    _check_revocation(certificate, trust, now)
    _check_usage(certificate)

    try:
        data = canonical_bytes(statement)
    except ValueError as exc:
        raise SignatureRefused(
            Refusal.malformed, f"the statement cannot be signed: {exc}"
        ) from None
    if not verifier.verify(key, data, value):
        raise SignatureRefused(
            Refusal.invalid_signature,
            "the signature does not verify over this hand-over (signed over other data, "
            "or with another key than the certificate's)",
        )
    if statement.signed_at > now + CLOCK_SKEW:
        raise SignatureRefused(
            Refusal.signed_in_future,
            f"signed_at is more than {int(CLOCK_SKEW.total_seconds() // 60)} minutes "
            "ahead of the gateway's clock",
        )

    signer = _signer(certificate, algorithm)
    if signer.body != expected_body:
        raise SignatureRefused(
            Refusal.body_mismatch,
            f"signed by an official of {signer.body}; the step belongs to {expected_body}",
            actual=signer.body,
            expected=expected_body,
        )
    if statement.body != expected_body:
        raise SignatureRefused(
            Refusal.body_mismatch,
            f"the statement names {statement.body}; the step belongs to {expected_body}",
            actual=statement.body,
            expected=expected_body,
        )
    if signer.role != expected_role:
        raise SignatureRefused(
            Refusal.role_mismatch,
            f"signed by a {signer.role}; this step is signed by a {expected_role}",
            actual=signer.role,
            expected=expected_role,
        )
    return signer


def _certificate(pem: str) -> x509.Certificate:
    try:
        found = x509.load_pem_x509_certificates(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise SignatureRefused(
            Refusal.malformed, "signature.certificate is not a PEM X.509 certificate"
        ) from None
    if len(found) != 1:
        raise SignatureRefused(
            Refusal.malformed, "signature.certificate must hold exactly the signer's certificate"
        )
    return found[0]


def _signature_bytes(value: str) -> bytes:
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureRefused(Refusal.malformed, "signature.value is not base64") from None


def _check_validity(certificate: x509.Certificate, moment: datetime, when: str) -> None:
    if moment < certificate.not_valid_before_utc:
        raise SignatureRefused(
            Refusal.certificate_not_yet_valid,
            f"the certificate is not yet valid {when} (valid from "
            f"{certificate.not_valid_before_utc.isoformat()})",
            since=certificate.not_valid_before_utc.isoformat(),
        )
    if moment > certificate.not_valid_after_utc:
        raise SignatureRefused(
            Refusal.certificate_expired,
            f"the certificate expired before {when} "
            f"(valid until {certificate.not_valid_after_utc.isoformat()})",
            until=certificate.not_valid_after_utc.isoformat(),
        )


def _check_revocation(certificate: x509.Certificate, trust: TrustAnchors, now: datetime) -> None:
    crl = trust.crl_for(certificate.issuer)
    if crl is None:
        return  # no list loaded for this issuer: revocation is not checked
    revoked_at = crl.revoked.get(certificate.serial_number)
    if revoked_at is not None and revoked_at <= now:
        raise SignatureRefused(
            Refusal.revoked,
            f"the certificate was revoked at {revoked_at.isoformat()}",
            since=revoked_at.isoformat(),
        )
    if revoked_at is None and crl.next_update is not None and now > crl.next_update:
        raise SignatureRefused(
            Refusal.revocation_unknown,
            "the loaded revocation list is out of date; reload the CA's CRL",
        )


def _check_usage(certificate: x509.Certificate) -> None:
    if _is_ca(certificate):
        raise SignatureRefused(Refusal.not_for_signing, "a CA certificate cannot sign a hand-over")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not (usage.digital_signature or usage.content_commitment):
        raise SignatureRefused(
            Refusal.not_for_signing, "the certificate's key usage does not allow signing"
        )


def _signer(certificate: x509.Certificate, algorithm: str) -> Signer:
    def one(oid: x509.ObjectIdentifier, label: str) -> str:
        values = certificate.subject.get_attributes_for_oid(oid)
        value = values[0].value if len(values) == 1 else None
        if not isinstance(value, str) or not value.strip():
            raise SignatureRefused(
                Refusal.subject_invalid,
                f"the certificate's subject has no single {label}",
                attribute=label,
            )
        return value.strip()

    serial_number = one(NameOID.SERIAL_NUMBER, "serialNumber")
    iin = serial_number.removeprefix(SUBJECT_IIN_PREFIX)
    try:
        if iin == serial_number:
            raise InvalidIIN(f"must start with {SUBJECT_IIN_PREFIX}")
        check_iin(iin)
    except InvalidIIN as exc:
        raise SignatureRefused(
            Refusal.subject_invalid,
            f"the certificate's serialNumber is not {SUBJECT_IIN_PREFIX} and an IIN: {exc.reason}",
            attribute="serialNumber",
        ) from None
    der = certificate.public_bytes(serialization.Encoding.DER)
    return Signer(
        full_name=one(NameOID.COMMON_NAME, "CN"),
        iin=iin,
        body=one(NameOID.ORGANIZATION_NAME, "O"),
        role=one(NameOID.TITLE, "title"),
        region=one(NameOID.STATE_OR_PROVINCE_NAME, "ST"),
        serial=format(certificate.serial_number, "x"),
        fingerprint_sha256=hashlib.sha256(der).hexdigest(),
        algorithm=SignatureAlgorithm(algorithm),
        not_after=certificate.not_valid_after_utc,
    )


# --- the chain of a case ---------------------------------------------------------------


@dataclass(frozen=True)
class HandoverRecord:
    """One stored hand-over: what was signed, the signature, and what it was checked against."""

    statement: HandoverStatement
    signature: Signature | None
    expected_body: str
    expected_role: str
    accepted_at: datetime
    """When the gateway accepted it: the moment the certificate's validity and
    revocation are judged at, so a certificate that expired since does not undo history."""


@dataclass(frozen=True)
class ChainFailure:
    index: int
    """Position in the records given, from 0."""
    statement: HandoverStatement
    refusal: SignatureRefused


@dataclass(frozen=True)
class ChainReport:
    signers: tuple[Signer, ...]
    """The signers of the records that verified, in order, up to the first failure."""
    failure: ChainFailure | None

    @property
    def ok(self) -> bool:
        return self.failure is None


def verify_chain(records: Sequence[HandoverRecord], *, trust: TrustAnchors) -> ChainReport:
    """Re-verify a case's hand-overs after the fact; stops at the first that fails.

    Beyond each signature, the records must be one case's (same case and flow) and in
    the order they were accepted: a record moved from another case, or reordered,
    breaks the chain even if its own signature is good.
    """
    signers: list[Signer] = []
    first = records[0].statement if records else None
    previous: datetime | None = None
    for index, record in enumerate(records):
        statement = record.statement
        try:
            if first is not None and (
                statement.case_id != first.case_id or statement.flow != first.flow
            ):
                raise SignatureRefused(
                    Refusal.chain_broken,
                    f"hand-over {index} belongs to another case or flow than hand-over 0",
                    index=str(index),
                )
            if previous is not None and record.accepted_at < previous:
                raise SignatureRefused(
                    Refusal.chain_broken,
                    f"hand-over {index} was accepted before the one listed ahead of it",
                    index=str(index),
                )
            signers.append(
                verify_handover(
                    statement,
                    record.signature,
                    trust=trust,
                    expected_body=record.expected_body,
                    expected_role=record.expected_role,
                    now=record.accepted_at,
                )
            )
        except SignatureRefused as refusal:
            return ChainReport(tuple(signers), ChainFailure(index, statement, refusal))
        previous = record.accepted_at
    return ChainReport(tuple(signers), None)


# --- the web form ----------------------------------------------------------------------

FORM_FIELDS = ("signature_value", "signature_certificate", "signature_algorithm")
"""The hidden inputs `gateway/web/static/sign.js` fills before a signed form is sent."""


@dataclass(frozen=True)
class SigningRequest:
    """What the signing widget (`_sign.html`) needs: the exact bytes, twice."""

    canonical_b64: str
    """The canonical bytes, base64, for the browser to sign."""
    canonical_text: str
    """The same bytes as text, shown to the official: what they see is what they sign."""
    algorithm: SignatureAlgorithm = SignatureAlgorithm.rsa_sha256


def signing_request(statement: HandoverStatement) -> SigningRequest:
    data = canonical_bytes(statement)
    return SigningRequest(base64.b64encode(data).decode("ascii"), data.decode("utf-8"))


def signature_from_form(form: Mapping[str, object]) -> Signature | None:
    """The signature a signed form carried, None if it carried none (refused as unsigned).

    A filled but unusable signature is refused here with the field's name, since
    `Signature` would otherwise fail with a validation error the page cannot show.
    """
    values = {name: form.get(name) for name in FORM_FIELDS}
    texts = {name: v.strip() if isinstance(v, str) else "" for name, v in values.items()}
    if not any(texts.values()):
        return None
    algorithm = texts["signature_algorithm"]
    if algorithm not in VERIFIERS:
        raise SignatureRefused(
            Refusal.unknown_algorithm,
            f"unknown signature algorithm {algorithm[:40]!r}",
            algorithm=algorithm[:40],
        )
    try:
        return Signature(
            algorithm=SignatureAlgorithm(algorithm),
            certificate=texts["signature_certificate"],
            value=texts["signature_value"],
        )
    except ValidationError as exc:
        names = ", ".join(f"signature_{e['loc'][0]}" for e in exc.errors() if e["loc"])
        raise SignatureRefused(
            Refusal.malformed, f"the signed form's {names or 'signature'} is missing or invalid"
        ) from None


@dataclass(frozen=True)
class DocumentSigner:
    """Who signed a citizen's document, as their certificate says (no name kept: the
    IIN is what the form is checked against)."""

    iin: str
    serial: str
    algorithm: str


def verify_document(
    data: bytes, signature: Signature, *, trust: TrustAnchors, now: datetime
) -> DocumentSigner:
    """The signer of ``data`` (an e-application's canonical bytes), or SignatureRefused.

    The same checks as a hand-over's, in the same order, except the body and role: a
    citizen signs for themselves, so the caller compares the certificate's IIN with the
    form's.
    """
    if not signature.value.strip():
        raise SignatureRefused(Refusal.unsigned, "the document is not signed")
    algorithm = str(signature.algorithm)
    verifier = VERIFIERS.get(algorithm)
    if verifier is None:
        raise SignatureRefused(
            Refusal.algorithm_unavailable, f"{algorithm} is not available on this gateway"
        )
    certificate = _certificate(signature.certificate)
    value = _signature_bytes(signature.value)
    key = certificate.public_key()
    problem = verifier.key_problem(key)
    if problem is not None:
        raise SignatureRefused(Refusal.algorithm_mismatch, problem, algorithm=algorithm)
    issuer = trust.issuer_of(certificate)
    if issuer is None or not issuer.not_valid_before_utc <= now <= issuer.not_valid_after_utc:
        raise SignatureRefused(
            Refusal.untrusted_issuer, "the certificate was not issued by a trusted authority"
        )
    _check_validity(certificate, now, "now")
    _check_revocation(certificate, trust, now)
    _check_usage(certificate)
    if not verifier.verify(key, data, value):
        raise SignatureRefused(
            Refusal.invalid_signature, "the signature does not verify over this document"
        )
    found = certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    number = str(found[0].value) if found else ""
    if not number.startswith(SUBJECT_IIN_PREFIX):
        raise SignatureRefused(Refusal.subject_invalid, "the certificate names no IIN")
    return DocumentSigner(
        iin=number.removeprefix(SUBJECT_IIN_PREFIX),
        serial=format(certificate.serial_number, "x"),
        algorithm=algorithm,
    )
