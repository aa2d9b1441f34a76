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
        iin: str = "870314300017",
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

