"""The envelope and message-security profile the bus and its clients agree on.

These are names on the wire, not code: the SOAP 1.1 envelope's namespace, the OASIS
WS-Security 1.0 namespaces and token types, and the XML-DSig URIs our profile uses.
Each side (the adapter, the mock bus) signs and verifies with its own code; what they
must agree on is here.

The profile, as both sides apply it:

- every message carries one ``wsse:Security`` header (``mustUnderstand="1"``) holding a
  ``wsu:Timestamp`` (``Created`` and ``Expires``, UTC), the sender's X.509 certificate
  as a ``wsse:BinarySecurityToken`` and one ``ds:Signature``;
- the signature has exactly two references, by ``wsu:Id``: the envelope's ``Body`` and
  that ``Timestamp``, each with exclusive canonicalisation as its only transform;
- ``KeyInfo`` points at the token through a ``wsse:SecurityTokenReference``.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BASE64_ENCODING",
    "EXC_C14N",
    "NS_DS",
    "NS_SOAP11",
    "NS_SOAP12",
    "NS_WSSE",
    "NS_WSU",
    "SOAP_ACTOR_NEXT",
    "X509_TOKEN",
]

NS_SOAP11: Final = "http://schemas.xmlsoap.org/soap/envelope/"
NS_SOAP12: Final = "http://www.w3.org/2003/05/soap-envelope"
"""Not spoken by the bus: a SOAP 1.2 envelope is answered with ``VersionMismatch``."""
SOAP_ACTOR_NEXT: Final = "http://schemas.xmlsoap.org/soap/actor/next"
"""SOAP 1.1's ``actor`` for "whoever receives this next", i.e. the bus itself."""

NS_WSSE: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
NS_WSU: Final = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
NS_DS: Final = "http://www.w3.org/2000/09/xmldsig#"

EXC_C14N: Final = "http://www.w3.org/2001/10/xml-exc-c14n#"
X509_TOKEN: Final = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
)
BASE64_ENCODING: Final = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)
