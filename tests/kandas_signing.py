"""A certification authority of the tests' own, and officials who sign hand-overs with it.

Tests sign the way a body's system does: an RSA key, a certificate whose subject names the
body (O), the role (title), the region (ST) and the IIN (serialNumber), and a signature
over `contracts.signing.canonical_bytes` of the statement.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from contracts.cases import Decision, StepDecision
from contracts.signing import (
    HandoverStatement,
    Signature,
    SignatureAlgorithm,
    canonical_bytes,
)


@dataclass(frozen=True)
class Official:
    body: str
    role: str
    full_name: str
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def sign(self, statement: HandoverStatement) -> Signature:
        value = self.key.sign(canonical_bytes(statement), padding.PKCS1v15(), hashes.SHA256())
        return Signature(
            algorithm=SignatureAlgorithm.rsa_sha256,
            certificate=self.certificate_pem,
            value=base64.b64encode(value).decode(),
        )

    def decide(
        self,
        case_id: str,
        step: str,
        round_: int,
        decision: Decision,
        *,
        remarks: str | None = None,
        data: dict[str, Any] | None = None,
        signed_at: datetime | None = None,
    ) -> StepDecision:
        statement = HandoverStatement(
            case_id=case_id,
            flow="kandas_application",
            step=step,
            round=round_,
            body=self.body,
            decision=decision.value,
            remarks=remarks,
            data=data or {},
            signed_at=signed_at or datetime.now(UTC),
        )
        return StepDecision(
            case_id=case_id,
            step=step,
            round=round_,
            body=self.body,
            decision=decision,
            remarks=remarks,
            data=statement.data,
            signed_at=statement.signed_at,
            signature=self.sign(statement),
        )


def _name(**attributes: str) -> x509.Name:
    oids = {
        "CN": NameOID.COMMON_NAME,
        "O": NameOID.ORGANIZATION_NAME,
        "title": NameOID.TITLE,
        "ST": NameOID.STATE_OR_PROVINCE_NAME,
        "serialNumber": NameOID.SERIAL_NUMBER,
    }
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in attributes.items()])


class TestAuthority:
    __test__ = False  # not a test class, whatever its name

    def __init__(self, name: str = "Тестовый УЦ") -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.now(UTC)
        subject = _name(CN=name)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    @property
    def root_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def official(
        self,
        body: str,
        role: str,
        *,
        region: str = "",
        iin: str = "870314400015",
        full_name: str | None = None,
        days: int = 365,
    ) -> Official:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.now(UTC)
        name = full_name or f"{role.capitalize()} {body}"
        certificate = (
            x509.CertificateBuilder()
            .subject_name(
                _name(CN=name, O=body, title=role, ST=region or body, serialNumber=f"IIN{iin}")
            )
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=days))
            .sign(self.key, hashes.SHA256())
        )
        return Official(body, role, name, key, certificate)


class Refused(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class CheckedSigner:
    full_name: str
    role: str
    serial: str
    fingerprint_sha256: str


def fake_verifier(authority: TestAuthority) -> Any:
    """A stand-in with the verifier's contract, for tests of the flow rather than of the
    cryptography (gateway.signatures has its own tests)."""

    def verify(
        statement: HandoverStatement,
        signature: Signature,
        *,
        expected_body: str,
        expected_role: str,
        now: datetime,
    ) -> CheckedSigner:
        certificate = x509.load_pem_x509_certificate(signature.certificate.encode())
        try:
            authority.key.public_key().verify(
                certificate.signature,
                certificate.tbs_certificate_bytes,
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except Exception:
            raise Refused("untrusted", "the certificate is not issued by a trusted root") from None
        subject = certificate.subject

        def attr(oid: x509.ObjectIdentifier) -> str:
            found = subject.get_attributes_for_oid(oid)
            return str(found[0].value) if found else ""

        if attr(NameOID.ORGANIZATION_NAME) != expected_body:
            raise Refused(
                "wrong_body", f"signed by an official of another body, not {expected_body}"
            )
        if attr(NameOID.TITLE) != expected_role:
            raise Refused("wrong_role", f"the step must be signed by the {expected_role}")
        try:
            public = certificate.public_key()
            assert isinstance(public, rsa.RSAPublicKey)
            public.verify(
                base64.b64decode(signature.value),
                canonical_bytes(statement),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except Exception:
            raise Refused("bad_signature", "the signature does not cover this statement") from None
        return CheckedSigner(
            attr(NameOID.COMMON_NAME),
            attr(NameOID.TITLE),
            format(certificate.serial_number, "x"),
            certificate.fingerprint(hashes.SHA256()).hex(),
        )

    return verify
