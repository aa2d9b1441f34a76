"""WS-Security for the bus's messages: our profile (``contracts/shep/wsse.py``) on xmlsec.

The bus requires every message to be signed by its sender's certificate, with a signed
timestamp. The XML-DSig work itself (canonicalisation, digests, the signature value)
is the suite's (``dsig.py``: RSA-SHA256 on libxmlsec1); this module builds the
``wsse:Security`` header around it and applies the checks XML-DSig alone does not:

- the signature must cover exactly this envelope's ``Body`` and this header's
  ``wsu:Timestamp``, named by ``wsu:Id`` values that occur once in the message (so a
  signed Body moved elsewhere, with a forged one in its place, fails: signature
  wrapping);
- the key is the certificate in the ``BinarySecurityToken``, and that certificate must
  be one the caller trusts: checking a signature against whatever certificate the
  message carries would prove nothing (anybody can sign with their own key);
- the timestamp must be fresh (``check_fresh``), so an old genuine message replayed
  later is refused.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import xmlsec
from lxml import etree

from adapters.shep.dsig import (
    RSA_SHA256,
    SignatureAlgorithm,
    SignatureError,
    Signer,
    TrustStore,
)
from contracts.clock import Clock, SystemClock
from contracts.shep.wsse import (
    BASE64_ENCODING,
    EXC_C14N,
    NS_DS,
    NS_SOAP11,
    NS_WSSE,
    NS_WSU,
    X509_TOKEN,
)

__all__ = [
    "BodySignature",
    "SignatureError",
    "Verified",
    "check_fresh",
    "sign_envelope",
    "verify_envelope",
]

_WSU_ID = f"{{{NS_WSU}}}Id"
_NS = {"ds": NS_DS, "wsse": NS_WSSE, "wsu": NS_WSU, "soap": NS_SOAP11}
DEFAULT_TTL = timedelta(minutes=5)
DEFAULT_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Verified:
    """What a valid signature vouches for: who signed, and when they say they did."""

    certificate_der: bytes
    created: datetime
    expires: datetime


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _body(envelope: etree._Element) -> etree._Element:
    if envelope.tag != _q(NS_SOAP11, "Envelope"):
        raise SignatureError("not a SOAP 1.1 envelope")
    body = envelope.find(_q(NS_SOAP11, "Body"))
    if body is None:
        raise SignatureError("the envelope has no SOAP 1.1 Body")
    return body


def sign_envelope(
    envelope: etree._Element,
    signer: Signer,
    *,
    now: datetime | None = None,
    ttl: timedelta = DEFAULT_TTL,
) -> etree._Element:
    """Timestamp and sign ``envelope`` in place (Body and Timestamp) and return it.

    Anything that changes the Body after this (pretty-printing included) breaks the
    signature, so this must be the last step before serialising.
    """
    algorithm = signer.algorithm
    created = now or datetime.now(UTC)
    body = _body(envelope)
    body.set(_WSU_ID, body.get(_WSU_ID) or f"id-{uuid.uuid4().hex}")

    header = envelope.find(_q(NS_SOAP11, "Header"))
    if header is None:
        header = etree.Element(_q(NS_SOAP11, "Header"))
        envelope.insert(0, header)
    security = etree.SubElement(
        header, _q(NS_WSSE, "Security"), nsmap={"wsse": NS_WSSE, "wsu": NS_WSU}
    )
    security.set(_q(NS_SOAP11, "mustUnderstand"), "1")
    timestamp = etree.SubElement(
        security, _q(NS_WSU, "Timestamp"), {_WSU_ID: f"TS-{uuid.uuid4().hex}"}
    )
    etree.SubElement(timestamp, _q(NS_WSU, "Created")).text = _utc(created)
    etree.SubElement(timestamp, _q(NS_WSU, "Expires")).text = _utc(created + ttl)
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
    for node in (body, timestamp):
        reference = etree.SubElement(
            signed_info, _q(NS_DS, "Reference"), URI=f"#{node.get(_WSU_ID)}"
        )
        transforms = etree.SubElement(reference, _q(NS_DS, "Transforms"))
        etree.SubElement(transforms, _q(NS_DS, "Transform"), Algorithm=EXC_C14N)
        etree.SubElement(reference, _q(NS_DS, "DigestMethod"), Algorithm=algorithm.digest_method)
        etree.SubElement(reference, _q(NS_DS, "DigestValue"))
    etree.SubElement(signature, _q(NS_DS, "SignatureValue"))
    try:
        signer.sign(signature, [body, timestamp])
    except xmlsec.Error as exc:
        raise SignatureError(f"signing failed: {exc}") from exc
    key_info = etree.SubElement(signature, _q(NS_DS, "KeyInfo"))
    str_ = etree.SubElement(key_info, _q(NS_WSSE, "SecurityTokenReference"))
    etree.SubElement(str_, _q(NS_WSSE, "Reference"), URI=f"#{token_id}", ValueType=X509_TOKEN)
    return envelope


def _one(parent: etree._Element, path: str, what: str) -> etree._Element:
    found = parent.findall(path, namespaces=_NS)
    if len(found) != 1:
        raise SignatureError(f"expected exactly one {what}, found {len(found)}")
    return found[0]


def _b64(element: etree._Element, what: str) -> bytes:
    try:
        return base64.b64decode("".join((element.text or "").split()), validate=True)
    except ValueError:
        raise SignatureError(f"{what} is not base64") from None


def _instant(parent: etree._Element, name: str) -> datetime:
    text = _one(parent, f"wsu:{name}", f"wsu:{name} in the Timestamp").text or ""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise SignatureError(f"wsu:{name} is not a date and time: {text!r}") from None
    if moment.tzinfo is None:
        raise SignatureError(f"wsu:{name} has no time zone")
    return moment


def _unique_id(envelope: etree._Element, value: str) -> None:
    """Refuse a second element carrying the same id: xmlsec would digest only one."""
    holders: list[Any] = envelope.xpath(
        "//@*[local-name()='Id' or local-name()='ID' or local-name()='id'][. = $v]", v=value
    )
    if len(holders) != 1:
        raise SignatureError(f"the id {value!r} is not unique in the message")


def verify_envelope(
    envelope: etree._Element,
    trust: TrustStore,
    algorithms: Mapping[str, SignatureAlgorithm] | None = None,
) -> Verified:
    """Check the signature over this envelope's Body and Timestamp.

    Returns who signed and the timestamp's instants (see ``check_fresh``); raises
    ``SignatureError`` on anything short of a valid signature, by a trusted
    certificate, over exactly this envelope's Body and its Security header's Timestamp.
    """
    known = algorithms or {RSA_SHA256.signature_method: RSA_SHA256}
    body = _body(envelope)
    header = envelope.find(_q(NS_SOAP11, "Header"))
    if header is None or not header.findall("wsse:Security", namespaces=_NS):
        raise SignatureError("the message is not signed (no wsse:Security header)")
    security = _one(header, "wsse:Security", "wsse:Security header")
    timestamp = _one(security, "wsu:Timestamp", "wsu:Timestamp")
    signature = _one(security, "ds:Signature", "ds:Signature")
    signed_info = _one(signature, "ds:SignedInfo", "ds:SignedInfo")

    c14n = _one(signed_info, "ds:CanonicalizationMethod", "CanonicalizationMethod")
    if c14n.get("Algorithm") != EXC_C14N:
        raise SignatureError("only exclusive canonicalisation is accepted")
    method = _one(signed_info, "ds:SignatureMethod", "SignatureMethod").get("Algorithm", "")
    algorithm = known.get(method)
    if algorithm is None:
        raise SignatureError(f"unsupported signature method {method}")

    referenced = [body, timestamp]
    wanted = []
    for node, what in ((body, "Body"), (timestamp, "Timestamp")):
        node_id = node.get(_WSU_ID)
        if not node_id:
            raise SignatureError(f"the {what} has no wsu:Id, so it cannot be signed")
        _unique_id(envelope, node_id)
        wanted.append(f"#{node_id}")
    references = signed_info.findall("ds:Reference", namespaces=_NS)
    if sorted(r.get("URI", "") for r in references) != sorted(wanted):
        raise SignatureError(
            "the signature does not refer to exactly this envelope's Body and Timestamp"
        )
    for reference in references:
        transforms = reference.findall("ds:Transforms/ds:Transform", namespaces=_NS)
        if [t.get("Algorithm") for t in transforms] != [EXC_C14N]:
            raise SignatureError("a reference's only transform must be exclusive c14n")
        digest = _one(reference, "ds:DigestMethod", "DigestMethod").get("Algorithm")
        if digest != algorithm.digest_method:
            raise SignatureError(f"unsupported digest method {digest}")

    token_ref = _one(
        signature, "ds:KeyInfo/wsse:SecurityTokenReference/wsse:Reference", "token reference"
    )
    token_id = (token_ref.get("URI") or "").removeprefix("#")
    tokens = [
        t
        for t in security.findall("wsse:BinarySecurityToken", namespaces=_NS)
        if t.get(_WSU_ID) == token_id and t.get("ValueType") == X509_TOKEN
    ]
    if len(tokens) != 1:
        raise SignatureError("the key reference does not name one X.509 BinarySecurityToken")
    certificate = _b64(tokens[0], "BinarySecurityToken")
    if not trust.trusts(certificate):
        raise SignatureError("the signing certificate is not trusted")
    if not algorithm.verify(signature, certificate, referenced):
        raise SignatureError(
            "the signature does not verify: the Body or Timestamp was altered after "
            "signing, or signed with a key other than the certificate's"
        )
    created, expires = _instant(timestamp, "Created"), _instant(timestamp, "Expires")
    if expires <= created:
        raise SignatureError("the timestamp expires before it was created")
    return Verified(certificate, created, expires)


def check_fresh(verified: Verified, now: datetime, window: timedelta) -> None:
    """Refuse a message created more than ``window`` from ``now`` (either way) or expired.

    ``window`` allows for the clocks of two systems drifting apart and for the time a
    message spends in transit; past it a genuine message is taken as replayed.
    """
    skew = abs(now - verified.created)
    if skew > window:
        raise SignatureError(
            f"the timestamp is stale: created {_utc(verified.created)}, "
            f"{skew.total_seconds():.0f}s from our clock, outside the "
            f"{window.total_seconds():.0f}s window"
        )
    if now >= verified.expires:
        raise SignatureError(f"the message expired at {_utc(verified.expires)}")


class BodySignature:
    """zeep's ``wsse`` hook: sign what the client sends, verify what it receives.

    A reply must be signed by a trusted certificate and timestamped within ``window``
    of ``clock``; our own messages carry a timestamp that expires after ``ttl``.
    """

    def __init__(
        self,
        signer: Signer,
        trust: TrustStore,
        *,
        clock: Clock | None = None,
        window: timedelta = DEFAULT_WINDOW,
        ttl: timedelta = DEFAULT_TTL,
    ) -> None:
        self.signer = signer
        self.trust = trust
        self.clock = clock or SystemClock()
        self.window = window
        self.ttl = ttl

    def apply(self, envelope: etree._Element, headers: Any) -> tuple[etree._Element, Any]:
        return sign_envelope(envelope, self.signer, now=self.clock.now(), ttl=self.ttl), headers

    def verify(self, envelope: etree._Element) -> etree._Element:
        check_fresh(verify_envelope(envelope, self.trust), self.clock.now(), self.window)
        return envelope
