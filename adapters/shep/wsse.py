"""WS-Security signature of the SOAP Body: XML-DSig, exclusive c14n, X.509 token.

The bus requires every message to be signed by its sender's certificate. Production
uses ГОСТ keys and algorithms we do not have here, so the cryptography sits behind two
small protocols (``SignatureAlgorithm`` verifies, ``Signer`` signs); the XML part, which
is the same for any algorithm, does not know which one it runs. RSA-SHA256 is the
stand-in that the mocks and tests use.

Only the Body is signed, and only by reference to its ``wsu:Id``. The verifier insists
that the reference points at *this* envelope's Body and that the token's certificate
is one it trusts: checking a signature against whatever certificate the message
carries would prove nothing (anybody can sign with their own key).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

__all__ = [
    "RSA_SHA256",
    "BodySignature",
    "RsaSha256",
    "RsaSigner",
    "SignatureAlgorithm",
    "SignatureError",
    "Signer",
    "TrustStore",
    "generate_rsa_credentials",
    "sign_envelope",
    "verify_envelope",
]

NS_SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
NS_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
NS_WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
NS_DS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
X509_TOKEN = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
BASE64_ENCODING = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)

_WSU_ID = f"{{{NS_WSU}}}Id"


class SignatureError(Exception):
    """The message is unsigned, malformed, signed by a stranger, or altered."""


class SignatureAlgorithm(Protocol):
    """The cryptography of one signature suite, without keys of its own."""

    @property
    def signature_method(self) -> str:
        """The XML-DSig SignatureMethod URI."""
        ...

    @property
    def digest_method(self) -> str:
        """The XML-DSig DigestMethod URI."""
        ...

    def digest(self, data: bytes) -> bytes: ...

    def verify(self, certificate_der: bytes, data: bytes, signature: bytes) -> bool: ...


class Signer(Protocol):
    """A private key and its certificate, in whatever form the algorithm needs."""

    @property
    def algorithm(self) -> SignatureAlgorithm: ...

    @property
    def certificate_der(self) -> bytes: ...

    def sign(self, data: bytes) -> bytes: ...


class RsaSha256:
    """RSA PKCS#1 v1.5 with SHA-256: what the mocks sign with until ГОСТ keys exist."""

    signature_method = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    digest_method = "http://www.w3.org/2001/04/xmlenc#sha256"

    def digest(self, data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    def verify(self, certificate_der: bytes, data: bytes, signature: bytes) -> bool:
        try:
            key = x509.load_der_x509_certificate(certificate_der).public_key()
        except ValueError:
            return False
        if not isinstance(key, rsa.RSAPublicKey):
            return False
        try:
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True


RSA_SHA256 = RsaSha256()


@dataclass(frozen=True)
class RsaSigner:
    """An RSA key with its X.509 certificate."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def algorithm(self) -> SignatureAlgorithm:
        return RSA_SHA256

    @property
    def certificate_der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())

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
    """A fresh key and self-signed certificate, for the mocks and their clients."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
            x509.NameAttribute(
                NameOID.ORGANIZATION_NAME, "kz-social-gateway mock, not for production"
            ),
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


def _c14n(element: etree._Element) -> bytes:
    canonical: bytes = etree.tostring(element, method="c14n", exclusive=True, with_comments=False)
    return canonical


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _body(envelope: etree._Element) -> etree._Element:
    body = envelope.find(_q(NS_SOAP11, "Body"))
    if body is None:
        raise SignatureError("the envelope has no SOAP 1.1 Body")
    return body


def sign_envelope(envelope: etree._Element, signer: Signer) -> etree._Element:
    """Sign the Body of ``envelope`` in place and return it.

    Anything that changes the Body after this (pretty-printing included) breaks the
    signature, so this must be the last step before serialising.
    """
    algorithm = signer.algorithm
    body = _body(envelope)
    body_id = body.get(_WSU_ID) or f"id-{uuid.uuid4().hex}"
    body.set(_WSU_ID, body_id)

    header = envelope.find(_q(NS_SOAP11, "Header"))
    if header is None:
        header = etree.Element(_q(NS_SOAP11, "Header"))
        envelope.insert(0, header)
    security = etree.SubElement(
        header, _q(NS_WSSE, "Security"), nsmap={"wsse": NS_WSSE, "wsu": NS_WSU}
    )
    security.set(_q(NS_SOAP11, "mustUnderstand"), "1")
    token_id = f"X509-{uuid.uuid4().hex}"
    token = etree.SubElement(
        security,
        _q(NS_WSSE, "BinarySecurityToken"),
        {"EncodingType": BASE64_ENCODING, "ValueType": X509_TOKEN, _WSU_ID: token_id},
    )
    token.text = base64.b64encode(signer.certificate_der).decode("ascii")

    signature = etree.SubElement(security, _q(NS_DS, "Signature"), nsmap={"ds": NS_DS})
    signed_info = etree.SubElement(signature, _q(NS_DS, "SignedInfo"))
    etree.SubElement(signed_info, _q(NS_DS, "CanonicalizationMethod"), Algorithm=EXC_C14N)
    etree.SubElement(
        signed_info, _q(NS_DS, "SignatureMethod"), Algorithm=algorithm.signature_method
    )
    reference = etree.SubElement(signed_info, _q(NS_DS, "Reference"), URI=f"#{body_id}")
    transforms = etree.SubElement(reference, _q(NS_DS, "Transforms"))
    etree.SubElement(transforms, _q(NS_DS, "Transform"), Algorithm=EXC_C14N)
    etree.SubElement(reference, _q(NS_DS, "DigestMethod"), Algorithm=algorithm.digest_method)
    digest = etree.SubElement(reference, _q(NS_DS, "DigestValue"))
    digest.text = base64.b64encode(algorithm.digest(_c14n(body))).decode("ascii")

    value = etree.SubElement(signature, _q(NS_DS, "SignatureValue"))
    value.text = base64.b64encode(signer.sign(_c14n(signed_info))).decode("ascii")

    key_info = etree.SubElement(signature, _q(NS_DS, "KeyInfo"))
    str_ = etree.SubElement(key_info, _q(NS_WSSE, "SecurityTokenReference"))
    etree.SubElement(str_, _q(NS_WSSE, "Reference"), URI=f"#{token_id}", ValueType=X509_TOKEN)
    return envelope


def _one(parent: etree._Element, path: str, what: str) -> etree._Element:
    found = parent.findall(path, namespaces={"ds": NS_DS, "wsse": NS_WSSE})
    if len(found) != 1:
        raise SignatureError(f"expected exactly one {what}, found {len(found)}")
    return found[0]


def _b64(element: etree._Element, what: str) -> bytes:
    try:
        return base64.b64decode("".join((element.text or "").split()), validate=True)
    except ValueError:
        raise SignatureError(f"{what} is not base64") from None


def verify_envelope(
    envelope: etree._Element,
    trust: TrustStore,
    algorithms: Mapping[str, SignatureAlgorithm] | None = None,
) -> bytes:
    """Check the Body's signature; return the signer's certificate (DER).

    Raises ``SignatureError`` on anything short of a valid signature, by a trusted
    certificate, over exactly this envelope's Body.
    """
    known = algorithms or {RSA_SHA256.signature_method: RSA_SHA256}
    header = envelope.find(_q(NS_SOAP11, "Header"))
    if header is None:
        raise SignatureError("the message is not signed (no SOAP Header)")
    security = _one(header, "wsse:Security", "wsse:Security header")
    signature = _one(security, "ds:Signature", "ds:Signature")
    signed_info = _one(signature, "ds:SignedInfo", "ds:SignedInfo")

    c14n = _one(signed_info, "ds:CanonicalizationMethod", "CanonicalizationMethod")
    if c14n.get("Algorithm") != EXC_C14N:
        raise SignatureError("only exclusive canonicalisation is accepted")
    method = _one(signed_info, "ds:SignatureMethod", "SignatureMethod").get("Algorithm", "")
    algorithm = known.get(method)
    if algorithm is None:
        raise SignatureError(f"unsupported signature method {method}")

    reference = _one(signed_info, "ds:Reference", "ds:Reference (only the Body is signed)")
    body = _body(envelope)
    body_id = body.get(_WSU_ID)
    if not body_id or reference.get("URI") != f"#{body_id}":
        raise SignatureError("the signature does not refer to this envelope's Body")
    if len(envelope.xpath("//*[@wsu:Id=$id]", namespaces={"wsu": NS_WSU}, id=body_id)) != 1:
        raise SignatureError("the Body's wsu:Id is not unique in the message")
    for transform in reference.findall("ds:Transforms/ds:Transform", namespaces={"ds": NS_DS}):
        if transform.get("Algorithm") != EXC_C14N:
            raise SignatureError("unsupported transform")
    digest_method = _one(reference, "ds:DigestMethod", "DigestMethod").get("Algorithm")
    if digest_method != algorithm.digest_method:
        raise SignatureError(f"unsupported digest method {digest_method}")
    expected = _b64(_one(reference, "ds:DigestValue", "DigestValue"), "DigestValue")
    if algorithm.digest(_c14n(body)) != expected:
        raise SignatureError("the Body was altered after signing (digest mismatch)")

    token_ref = _one(
        signature, "ds:KeyInfo/wsse:SecurityTokenReference/wsse:Reference", "token reference"
    )
    token_id = (token_ref.get("URI") or "").removeprefix("#")
    tokens = [
        t
        for t in security.findall("wsse:BinarySecurityToken", namespaces={"wsse": NS_WSSE})
        if t.get(_WSU_ID) == token_id
    ]
    if len(tokens) != 1:
        raise SignatureError("the key reference does not name one BinarySecurityToken")
    certificate = _b64(tokens[0], "BinarySecurityToken")
    if not trust.trusts(certificate):
        raise SignatureError("the signing certificate is not trusted")
    signature_value = _b64(_one(signature, "ds:SignatureValue", "SignatureValue"), "SignatureValue")
    if not algorithm.verify(certificate, _c14n(signed_info), signature_value):
        raise SignatureError("the signature does not match the signed content")
    return certificate


class BodySignature:
    """zeep's ``wsse`` hook: sign what the client sends, verify what it receives."""

    def __init__(self, signer: Signer, trust: TrustStore) -> None:
        self.signer = signer
        self.trust = trust

    def apply(self, envelope: etree._Element, headers: Any) -> tuple[etree._Element, Any]:
        return sign_envelope(envelope, self.signer), headers

    def verify(self, envelope: etree._Element) -> etree._Element:
        verify_envelope(envelope, self.trust)
        return envelope
