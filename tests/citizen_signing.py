"""Citizens who sign their e-applications (order 109 p.2, p.4) under a CA of the tests.

The certificates' validity starts in 2020, so a gateway on an injected clock in 2026
accepts them; the subject names the citizen's IIN (serialNumber = IIN…), as НУЦ РК's do.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from contracts.signing import Signature, SignatureAlgorithm, canonical_form_bytes

FROM = datetime(2020, 1, 1, tzinfo=UTC)
UNTIL = datetime(2040, 1, 1, tzinfo=UTC)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class CitizenAuthority:
    key: rsa.RSAPrivateKey = field(default_factory=_key)

    def __post_init__(self) -> None:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Тестовый УЦ граждан")])
        self.root = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(FROM)
            .not_valid_after(UNTIL)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self._citizens: dict[str, tuple[rsa.RSAPrivateKey, x509.Certificate]] = {}

    @property
    def root_pem(self) -> bytes:
        return self.root.public_bytes(serialization.Encoding.PEM)

    def citizen(self, iin: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
        if iin not in self._citizens:
            key = _key()
            subject = x509.Name(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, "Гражданин"),
                    x509.NameAttribute(NameOID.SERIAL_NUMBER, f"IIN{iin}"),
                ]
            )
            certificate = (
                x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(self.root.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(FROM)
                .not_valid_after(UNTIL)
                .sign(self.key, hashes.SHA256())
            )
            self._citizens[iin] = (key, certificate)
        return self._citizens[iin]

    def sign(self, form: dict[str, Any], *, as_iin: str | None = None) -> str:
        """The form's `signature` field: the citizen's detached ЭЦП, as JSON."""
        key, certificate = self.citizen(as_iin or str(form["iin"]))
        value = key.sign(canonical_form_bytes(form), padding.PKCS1v15(), hashes.SHA256())
        return Signature(
            algorithm=SignatureAlgorithm.rsa_sha256,
            certificate=certificate.public_bytes(serialization.Encoding.PEM).decode(),
            value=base64.b64encode(value).decode(),
        ).model_dump_json()
