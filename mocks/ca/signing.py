"""Signing a hand-over as a mock official: what the mock bodies and the tests use.

An official's key and certificate are read from the CA's state directory (see
`mocks.ca.state`); the signature covers `contracts.signing.canonical_bytes` of the
statement, which is all the gateway will verify.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from contracts.signing import HandoverStatement, Signature, SignatureAlgorithm, canonical_bytes
from mocks.ca.algorithms import KeyAlgorithm, key_algorithm

__all__ = ["OfficialKey", "load_official", "officials_index"]


@dataclass(frozen=True)
class OfficialKey:
    login: str
    key: CertificateIssuerPrivateKeyTypes
    certificate_pem: str
    algorithm: KeyAlgorithm

    def sign_bytes(self, data: bytes) -> Signature:
        return Signature(
            algorithm=self.algorithm.name,
            certificate=self.certificate_pem,
            value=base64.b64encode(self.algorithm.sign(self.key, data)).decode(),
        )

    def sign(self, statement: HandoverStatement) -> Signature:
        return self.sign_bytes(canonical_bytes(statement))


def officials_index(state_dir: Path) -> list[dict[str, object]]:
    """The officials as the CA listed them in ``officials.json``."""
    data = json.loads((state_dir / "officials.json").read_text(encoding="utf-8"))
    officials: list[dict[str, object]] = data["officials"]
    return officials


def load_official(
    state_dir: Path,
    login: str,
    algorithm: SignatureAlgorithm = SignatureAlgorithm.rsa_sha256,
) -> OfficialKey:
    """The key and certificate the mock CA issued to ``login`` (e.g. `lmc_turkestan_head`)."""
    scheme = key_algorithm(algorithm)
    folder = state_dir / "officials"
    key = scheme.load_key((folder / f"{login}.key.pem").read_bytes())
    certificate = (folder / f"{login}.cert.pem").read_text(encoding="ascii")
    return OfficialKey(login, key, certificate, scheme)
