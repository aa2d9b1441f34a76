"""Who signs, and with what: the signature suites, the keys, the certificates we trust.

The seam that lets ГОСТ replace RSA later. ``SignatureAlgorithm`` names a suite's
XML-DSig URIs and checks a signature; ``Signer`` holds a private key and its
certificate and fills a prepared ``ds:Signature`` in. ``wsse.py`` builds the header and
applies the profile's checks without knowing which suite runs.

The suite here is RSA-SHA256 on libxmlsec1 (python-xmlsec), the stand-in the mocks and
tests use. A ГОСТ suite plugs in as another pair of implementations: a libxmlsec1
built with ГОСТ transforms (``XmlsecAlgorithm`` with those transforms, the key from an
engine via ``xmlsec.Key.from_engine``), or the national certification authority's own
library behind the same two methods. python-xmlsec's wheel exposes no ГОСТ transform
today.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, Protocol

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from contracts.shep.wsse import NS_WSU

__all__ = [
    "RSA_SHA256",
    "RsaSigner",
    "SignatureAlgorithm",
    "SignatureError",
    "Signer",
    "TrustStore",
    "XmlsecAlgorithm",
    "generate_rsa_credentials",
]


class SignatureError(Exception):
    """The message is unsigned, malformed, signed by a stranger, altered, or stale."""


class SignatureAlgorithm(Protocol):
    """One signature suite: its XML-DSig URIs and how it checks a signature."""

    @property
    def signature_method(self) -> str:
        """The SignatureMethod URI."""
        ...

    @property
    def digest_method(self) -> str:
        """The DigestMethod URI of each reference."""
        ...

    def verify(
        self,
        signature: etree._Element,
        certificate_der: bytes,
        referenced: Sequence[etree._Element],
    ) -> bool:
        """Whether ``signature`` holds for the certificate's key.

        The caller has checked that its references name exactly ``referenced`` (by
        ``wsu:Id``) with this suite's URIs; the suite recomputes and compares.
        """
        ...


class Signer(Protocol):
    """A private key and its certificate, in whatever form the suite needs."""

    @property
    def algorithm(self) -> SignatureAlgorithm: ...

    @property
    def certificate_der(self) -> bytes: ...

    def sign(self, signature: etree._Element, referenced: Sequence[etree._Element]) -> None:
        """Fill in the DigestValues and the SignatureValue of the ``ds:Signature`` template."""
        ...


class XmlsecAlgorithm:
    """A suite libxmlsec1 implements, named by its signature and digest transforms."""

    # The transforms' type is private to python-xmlsec's stubs, hence Any.
    def __init__(self, signature: Any, digest: Any) -> None:
        self._signature = signature
        self._digest = digest

    @property
    def signature_method(self) -> str:
        return str(self._signature.href)

    @property
    def digest_method(self) -> str:
        return str(self._digest.href)

    def context(self, key: xmlsec.Key, referenced: Sequence[etree._Element]) -> Any:
        """A signature context held to this suite: no other transform or method runs."""
        ctx = xmlsec.SignatureContext()
        ctx.key = key
        for node in referenced:
            ctx.register_id(node, "Id", NS_WSU)
        for transform in (xmlsec.constants.TransformExclC14N, self._signature):
            ctx.enable_signature_transform(transform)
        for transform in (xmlsec.constants.TransformExclC14N, self._digest):
            ctx.enable_reference_transform(transform)
        return ctx

    def verify(
        self,
        signature: etree._Element,
        certificate_der: bytes,
        referenced: Sequence[etree._Element],
    ) -> bool:
        try:
            key = xmlsec.Key.from_memory(certificate_der, xmlsec.constants.KeyDataFormatCertDer)
        except xmlsec.Error:
            return False
        try:
            self.context(key, referenced).verify(signature)
        except xmlsec.VerificationError:
            return False
        except xmlsec.Error as exc:
            raise SignatureError(f"the signature cannot be checked: {exc}") from None
        return True


RSA_SHA256 = XmlsecAlgorithm(xmlsec.constants.TransformRsaSha256, xmlsec.constants.TransformSha256)
"""RSA PKCS#1 v1.5 with SHA-256: what the mocks sign with until ГОСТ keys exist."""


@dataclass(frozen=True)
class RsaSigner:
    """An RSA key with its X.509 certificate."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def algorithm(self) -> SignatureAlgorithm:
        return RSA_SHA256

    @cached_property
    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @cached_property
    def _key(self) -> xmlsec.Key:
        # Loaded once: a key loaded afresh for each message costs libcrypto its RSA
        # blinding set-up again, which measured 0.6 ms of a 0.9 ms signature.
        return xmlsec.Key.from_memory(self.private_key_pem(), xmlsec.constants.KeyDataFormatPem)

    def sign(self, signature: etree._Element, referenced: Sequence[etree._Element]) -> None:
        RSA_SHA256.context(self._key, referenced).sign(signature)

    def private_key_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @classmethod
    def from_pem(cls, key_pem: bytes, certificate_pem: bytes) -> RsaSigner:
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the key is not an RSA private key")
        return cls(key, x509.load_pem_x509_certificate(certificate_pem))


def generate_rsa_credentials(common_name: str, *, key_size: int = 2048) -> RsaSigner:
    """A fresh key and self-signed certificate, for tests and development."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "kz-social-gateway, not for production"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return RsaSigner(key, certificate)


class TrustStore:
    """The certificates whose signatures we accept, by SHA-256 fingerprint."""

    def __init__(self, certificates: Iterable[bytes] = ()) -> None:
        self._fingerprints = {hashlib.sha256(der).hexdigest() for der in certificates}

    def add(self, certificate_der: bytes) -> None:
        self._fingerprints.add(hashlib.sha256(certificate_der).hexdigest())

    def trusts(self, certificate_der: bytes) -> bool:
        return hashlib.sha256(certificate_der).hexdigest() in self._fingerprints
