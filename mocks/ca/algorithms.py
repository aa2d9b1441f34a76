"""The key algorithms the mock CA can issue and sign with, behind one small seam.

НУЦ РК issues ГОСТ 34.10-2015 keys; `cryptography` has no ГОСТ provider, so only
RSA-SHA256 is implemented. A ГОСТ algorithm would be one more class with the same four
methods, registered under its `contracts.signing.SignatureAlgorithm` name; until then
asking for it is refused with a reason rather than silently given RSA.
"""

from __future__ import annotations

from typing import Protocol

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
)

from contracts.signing import SignatureAlgorithm

__all__ = [
    "ALGORITHMS",
    "AlgorithmUnavailable",
    "CertificateHash",
    "KeyAlgorithm",
    "RsaSha256",
    "key_algorithm",
]

CertificateHash = hashes.SHA256 | hashes.SHA384 | hashes.SHA512


class AlgorithmUnavailable(LookupError):
    """The algorithm is declared in the contract but not implemented on this machine."""


class KeyAlgorithm(Protocol):
    """Key generation and signing for one signature algorithm."""

    @property
    def name(self) -> SignatureAlgorithm: ...

    def generate_key(self) -> CertificateIssuerPrivateKeyTypes: ...

    def certificate_hash(self) -> CertificateHash:
        """The hash the CA signs certificates and CRLs with, for keys of this kind."""
        ...

    def sign(self, key: CertificateIssuerPrivateKeyTypes, data: bytes) -> bytes: ...

    def load_key(self, pem: bytes) -> CertificateIssuerPrivateKeyTypes: ...


class RsaSha256:
    """RSA 2048, PKCS#1 v1.5 with SHA-256: what WebCrypto calls RSASSA-PKCS1-v1_5."""

    name = SignatureAlgorithm.rsa_sha256
    key_size = 2048

    def generate_key(self) -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=self.key_size)

    def certificate_hash(self) -> CertificateHash:
        return hashes.SHA256()

    def sign(self, key: CertificateIssuerPrivateKeyTypes, data: bytes) -> bytes:
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TypeError(f"{self.name} needs an RSA private key")
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    def load_key(self, pem: bytes) -> rsa.RSAPrivateKey:
        # The keys are the mock's own files; the RSA consistency check would double a
        # restart's time (13 keys) for nothing.
        key = serialization.load_pem_private_key(
            pem, password=None, unsafe_skip_rsa_key_validation=True
        )
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{self.name} needs an RSA private key")
        return key


#: Every algorithm of the contract; None where this machine has no implementation.
ALGORITHMS: dict[SignatureAlgorithm, KeyAlgorithm | None] = {
    SignatureAlgorithm.rsa_sha256: RsaSha256(),
    SignatureAlgorithm.gost_2015_512: None,
}


def key_algorithm(name: SignatureAlgorithm | str) -> KeyAlgorithm:
    try:
        found = ALGORITHMS[SignatureAlgorithm(name)]
    except ValueError:
        raise AlgorithmUnavailable(f"unknown signature algorithm {name!r}") from None
    if found is None:
        raise AlgorithmUnavailable(
            f"{name} is declared but needs a ГОСТ provider this machine does not have"
        )
    return found
