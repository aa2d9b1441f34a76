"""The certification authority's cryptography: a root, certificates for officials, a CRL.

No files and no clock of its own: `mocks.ca.state` keeps the keys on disk and says what
time it is. Subjects follow `contracts.signing`: O = body code, title = role,
ST = region, serialNumber = `IIN` + 12 digits, CN = full name; the key usage is
digital signature and non-repudiation, as on a signing certificate of НУЦ РК.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificateIssuerPublicKeyTypes,
)
from cryptography.x509.oid import NameOID

from contracts.signing import SUBJECT_IIN_PREFIX
from mocks.ca.algorithms import KeyAlgorithm

__all__ = [
    "ROOT_NAME",
    "CertificateAuthority",
    "Revocation",
    "SubjectFields",
    "subject_name",
]

ROOT_NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "kz-social-gateway mock, not for production"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Mock НУЦ РК root"),
    ]
)
ROOT_YEARS = 10
BACKDATE = timedelta(hours=1)
"""Certificates start a little before "now", so a verifier whose clock is a few minutes
behind the CA's does not see a certificate that is not yet valid."""


@dataclass(frozen=True, slots=True)
class SubjectFields:
    full_name: str
    iin: str
    body: str
    role: str
    region: str


def subject_name(fields: SubjectFields) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, fields.region),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, fields.body),
            x509.NameAttribute(NameOID.TITLE, fields.role),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, SUBJECT_IIN_PREFIX + fields.iin),
            x509.NameAttribute(NameOID.COMMON_NAME, fields.full_name),
        ]
    )


@dataclass(frozen=True, slots=True)
class Revocation:
    serial: int
    revoked_at: datetime
    reason: x509.ReasonFlags


class CertificateAuthority:
    """A root key and its self-signed certificate; issues and revokes certificates."""

    def __init__(
        self,
        algorithm: KeyAlgorithm,
        key: CertificateIssuerPrivateKeyTypes,
        certificate: x509.Certificate,
    ) -> None:
        self.algorithm = algorithm
        self.key = key
        self.certificate = certificate

    @classmethod
    def create(cls, algorithm: KeyAlgorithm, now: datetime) -> CertificateAuthority:
        key = algorithm.generate_key()
        public = key.public_key()
        certificate = (
            x509.CertificateBuilder()
            .subject_name(ROOT_NAME)
            .issuer_name(ROOT_NAME)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + timedelta(days=365 * ROOT_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(key, algorithm.certificate_hash())
        )
        return cls(algorithm, key, certificate)

    def issued(self, certificate: x509.Certificate) -> bool:
        """Whether ``certificate`` was signed by this root."""
        try:
            certificate.verify_directly_issued_by(self.certificate)
        except Exception:  # wrong issuer name, wrong key type or a bad signature
            return False
        return True

    def issue(
        self,
        public_key: CertificateIssuerPublicKeyTypes,
        fields: SubjectFields,
        *,
        now: datetime,
        valid_days: int,
    ) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(subject_name(fields))
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, self.algorithm.certificate_hash())
        )

    def crl(
        self, revocations: Iterable[Revocation], *, now: datetime, number: int, days: int = 7
    ) -> x509.CertificateRevocationList:
        """The list of revoked serials, signed by the root, valid for ``days``."""
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(now)
            .next_update(now + timedelta(days=days))
            .add_extension(x509.CRLNumber(number), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        for revocation in revocations:
            entry = (
                x509.RevokedCertificateBuilder()
                .serial_number(revocation.serial)
                .revocation_date(revocation.revoked_at)
            )
            if revocation.reason is not x509.ReasonFlags.unspecified:
                entry = entry.add_extension(x509.CRLReason(revocation.reason), critical=False)
            builder = builder.add_revoked_certificate(entry.build())
        return builder.sign(self.key, self.algorithm.certificate_hash())
