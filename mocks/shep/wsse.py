"""The mock bus's own WS-Security: it signs what it answers and checks what it is sent.

The bus is another organisation's system, so it implements the profile of
``contracts/shep/wsse.py`` itself and shares only that contract with the gateway's
adapter. RSA-SHA256 only (the real bus's ГОСТ is out of reach here), on libxmlsec1
through python-xmlsec, which canonicalises, digests, signs and verifies.

What the bus insists on in a request, beyond a signature that verifies: the signature
covers this envelope's Body and its Security header's Timestamp and nothing else, each
by an id that occurs once; the token is a certificate registered for the sender; the
Timestamp is within the bus's window of its clock.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from contracts.shep.wsse import BASE64_ENCODING, NS_DS, NS_SOAP11, NS_WSSE, NS_WSU, X509_TOKEN

__all__ = ["KeyPair", "SecurityError", "sign", "verify"]

_ID = f"{{{NS_WSU}}}Id"
_NS = {"s": NS_SOAP11, "wsse": NS_WSSE, "wsu": NS_WSU, "ds": NS_DS}
_C14N = xmlsec.constants.TransformExclC14N
_RSA_SHA256 = xmlsec.constants.TransformRsaSha256
_SHA256 = xmlsec.constants.TransformSha256


class SecurityError(Exception):
    """The request's WS-Security header does not vouch for it."""


@dataclass(frozen=True)
class KeyPair:
    """A private key and its certificate, both PEM, as the bus keeps them on disk."""

    key_pem: bytes
    certificate_pem: bytes

    @cached_property
    def certificate_der(self) -> bytes:
        certificate = x509.load_pem_x509_certificate(self.certificate_pem)
        return certificate.public_bytes(serialization.Encoding.DER)

    @cached_property
    def signing_key(self) -> xmlsec.Key:
        """Loaded once: loading it per message would redo RSA set-up each time."""
        return xmlsec.Key.from_memory(self.key_pem, xmlsec.constants.KeyDataFormatPem)

    @classmethod
    def generate(cls, common_name: str) -> KeyPair:
        """A fresh RSA key with a self-signed certificate (development and tests)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mock e-government bus"),
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
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cls(key_pem, certificate.public_bytes(serialization.Encoding.PEM))


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def sign(envelope: etree._Element, key: KeyPair, now: datetime, ttl: timedelta) -> None:
    """Add a Security header (Timestamp, token, Signature over Body and Timestamp).

    Serialise the envelope before searching it: lxml's ``find`` can miss the nodes
    libxmlsec's template made (their names are not in the document's dictionary).
    """
    body = envelope.find(f"{{{NS_SOAP11}}}Body")
    assert body is not None, "the bus builds its envelopes with a Body"
    body.set(_ID, f"body-{uuid.uuid4().hex}")
    header = envelope.find(f"{{{NS_SOAP11}}}Header")
    if header is None:
        header = etree.Element(f"{{{NS_SOAP11}}}Header")
        envelope.insert(0, header)
    security = etree.SubElement(
        header, f"{{{NS_WSSE}}}Security", {f"{{{NS_SOAP11}}}mustUnderstand": "1"}, nsmap=_NS
    )
    timestamp = etree.SubElement(
        security, f"{{{NS_WSU}}}Timestamp", {_ID: f"ts-{uuid.uuid4().hex}"}
    )
    etree.SubElement(timestamp, f"{{{NS_WSU}}}Created").text = _stamp(now)
    etree.SubElement(timestamp, f"{{{NS_WSU}}}Expires").text = _stamp(now + ttl)
    token = etree.SubElement(
        security,
        f"{{{NS_WSSE}}}BinarySecurityToken",
        {"EncodingType": BASE64_ENCODING, "ValueType": X509_TOKEN, _ID: f"x509-{uuid.uuid4().hex}"},
    )
    token.text = base64.b64encode(key.certificate_der).decode("ascii")

    signature = xmlsec.template.create(envelope, _C14N, _RSA_SHA256, ns="ds")
    security.append(signature)
    for node in (body, timestamp):
        reference = xmlsec.template.add_reference(signature, _SHA256, uri=f"#{node.get(_ID)}")
        xmlsec.template.add_transform(reference, _C14N)
    ctx = _context(key.signing_key)
    for node in (body, timestamp):
        ctx.register_id(node, "Id", NS_WSU)
    ctx.sign(signature)
    key_info = xmlsec.template.ensure_key_info(signature)
    reference = etree.SubElement(
        etree.SubElement(key_info, f"{{{NS_WSSE}}}SecurityTokenReference"),
        f"{{{NS_WSSE}}}Reference",
    )
    reference.set("URI", f"#{token.get(_ID)}")
    reference.set("ValueType", X509_TOKEN)


def _context(key: xmlsec.Key) -> xmlsec.SignatureContext:
    """A context that runs only our profile's algorithms, whatever the message names."""
    ctx = xmlsec.SignatureContext()
    ctx.key = key
    for transform in (_C14N, _RSA_SHA256):
        ctx.enable_signature_transform(transform)
    for transform in (_C14N, _SHA256):
        ctx.enable_reference_transform(transform)
    return ctx


def _only(parent: etree._Element, path: str) -> etree._Element:
    found = parent.xpath(path, namespaces=_NS)
    assert isinstance(found, list)
    if len(found) != 1 or not isinstance(found[0], etree._Element):
        raise SecurityError(f"expected one {path.split('/')[-1]}, found {len(found)}")
    return found[0]


def _holders(envelope: etree._Element, value: str) -> int:
    """How many attributes in the message carry this id (any Id or id, xml:id included)."""
    found = envelope.xpath("//@*[local-name()='Id' or local-name()='id'][. = $v]", v=value)
    return len(found) if isinstance(found, list) else 0


def _when(timestamp: etree._Element, name: str) -> datetime:
    text = (timestamp.findtext(f"wsu:{name}", namespaces=_NS) or "").strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise SecurityError(f"wsu:{name} is missing or not a date and time") from None
    if moment.tzinfo is None:
        raise SecurityError(f"wsu:{name} has no time zone")
    return moment


def verify(
    envelope: etree._Element, trusted: Collection[bytes], now: datetime, window: timedelta
) -> bytes:
    """The certificate (DER) that signed this request, or ``SecurityError`` saying why not."""
    if envelope.find("s:Header/wsse:Security", namespaces=_NS) is None:
        raise SecurityError("the message is not signed (no wsse:Security header)")
    security = _only(envelope, "s:Header/wsse:Security")
    body = _only(envelope, "s:Body")
    timestamp = _only(security, "wsu:Timestamp")
    signature = _only(security, "ds:Signature")

    signed = []
    for node in (body, timestamp):
        node_id = node.get(_ID) or ""
        if _holders(envelope, node_id) != 1:
            raise SecurityError(f"{etree.QName(node).localname} has no wsu:Id of its own")
        signed.append(f"#{node_id}")
    references = signature.findall("ds:SignedInfo/ds:Reference", namespaces=_NS)
    if sorted(r.get("URI", "") for r in references) != sorted(signed):
        raise SecurityError("the signature must cover exactly this Body and this Timestamp")

    pointer = _only(signature, "ds:KeyInfo/wsse:SecurityTokenReference/wsse:Reference")
    token_id = (pointer.get("URI") or "").removeprefix("#")
    tokens = [
        t
        for t in security.findall("wsse:BinarySecurityToken", namespaces=_NS)
        if t.get(_ID) == token_id and t.get("ValueType") == X509_TOKEN
    ]
    if len(tokens) != 1:
        raise SecurityError("the key reference does not name one X.509 token")
    token = tokens[0]
    try:
        certificate = base64.b64decode("".join((token.text or "").split()), validate=True)
    except ValueError:
        raise SecurityError("the token is not base64") from None
    if certificate not in trusted:
        raise SecurityError("the certificate is not the one registered for this sender")

    ctx = _context(xmlsec.Key.from_memory(certificate, xmlsec.constants.KeyDataFormatCertDer))
    for node in (body, timestamp):
        ctx.register_id(node, "Id", NS_WSU)
    try:
        ctx.verify(signature)
    except xmlsec.Error as exc:
        raise SecurityError(f"the signature does not verify ({exc})") from None

    created, expires = _when(timestamp, "Created"), _when(timestamp, "Expires")
    if abs(now - created) > window:
        raise SecurityError(f"the timestamp {_stamp(created)} is outside the bus's window")
    if now >= expires:
        raise SecurityError(f"the message expired at {_stamp(expires)}")
    return certificate
