"""A tiny certification authority for the tests of the kandas chain's mock bodies.

It writes the same files as the mock CA (`mocks/ca`): `root.pem`, `officials.json` and
`officials/<login>.key.pem`/`.cert.pem`, with the certificate subject of
`contracts.signing` (O = body, title = role, ST = region, serialNumber = IIN…), so the
bodies are tested against the file layout rather than against the CA's code. It also
verifies what a body signed, the way the gateway does: the certificate chains to this
root, names the body and role, and its key signed exactly the rebuilt statement.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from contracts.cases import StepDecision
from contracts.iin import next_valid_iin
from contracts.signing import (
    SUBJECT_IIN_PREFIX,
    HandoverStatement,
    SignatureAlgorithm,
    canonical_bytes,
)

FLOW = "kandas_application"
BODIES = {
    "cc_turkestan": "turkestan",
    "lmc_turkestan": "turkestan",
    "leb_turkestan": "turkestan",
    "cc_north_kazakhstan": "north_kazakhstan",
    "lmc_north_kazakhstan": "north_kazakhstan",
    "leb_north_kazakhstan": "north_kazakhstan",
}
ROLES = ("specialist", "head")


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class TinyCA:
    directory: Path
    root: x509.Certificate

    def official(self, body: str, role: str) -> dict[str, str]:
        index = json.loads((self.directory / "officials.json").read_text(encoding="utf-8"))
        for entry in index["officials"]:
            if entry["body"] == body and entry["role"] == role:
                found: dict[str, str] = entry
                return found
        raise LookupError(f"{body}/{role}")

    def verify(self, decision: StepDecision, flow: str = FLOW) -> x509.Certificate:
        """Raise unless `decision` is signed by the official of its body, under this root."""
        signature = decision.signature
        assert signature.algorithm is SignatureAlgorithm.rsa_sha256
        certificate = x509.load_pem_x509_certificate(signature.certificate.encode())
        root_key = self.root.public_key()
        assert isinstance(root_key, rsa.RSAPublicKey)
        assert certificate.signature_hash_algorithm is not None
        root_key.verify(
            certificate.signature,
            certificate.tbs_certificate_bytes,
            padding.PKCS1v15(),
            certificate.signature_hash_algorithm,
        )
        subject = certificate.subject
        assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == decision.body
        statement = HandoverStatement(
            case_id=decision.case_id,
            flow=flow,
            step=decision.step,
            round=decision.round,
            body=decision.body,
            decision=decision.decision.value,
            remarks=decision.remarks,
            data=decision.data,
            signed_at=decision.signed_at,
        )
        key = certificate.public_key()
        assert isinstance(key, rsa.RSAPublicKey)
        key.verify(
            base64.b64decode(signature.value),
            canonical_bytes(statement),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
        return certificate


def role_of(certificate: x509.Certificate) -> str:
    value = certificate.subject.get_attributes_for_oid(NameOID.TITLE)[0].value
    assert isinstance(value, str)
    return value


def make_test_ca(directory: Path, *, index_style: str = "files") -> TinyCA:
    """A root and one specialist and one head for each of the six bodies.

    `index_style` `files` writes `files: {key, certificate}` as the mock CA does;
    `flat` writes `key_file`/`cert_file`, the other spelling the bodies accept.
    """
    now = datetime.now(UTC) - timedelta(minutes=5)
    root_key = _key()
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test kandas CA")])
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    folder = directory / "officials"
    folder.mkdir(parents=True, exist_ok=True)
    officials = []
    serial = 9100
    for body, region in BODIES.items():
        for role in ROLES:
            serial += 1
            login = f"{body}_{role}"
            iin = next_valid_iin(date(1985, 4, 2), "female", serial)
            name = f"Тестова Айгуль {role}"
            key = _key()
            subject = x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
                    x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, region),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, body),
                    x509.NameAttribute(NameOID.TITLE, role),
                    x509.NameAttribute(NameOID.SERIAL_NUMBER, SUBJECT_IIN_PREFIX + iin),
                    x509.NameAttribute(NameOID.COMMON_NAME, name),
                ]
            )
            certificate = (
                x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(root_name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now)
                .not_valid_after(now + timedelta(days=30))
                .sign(root_key, hashes.SHA256())
            )
            key_file = folder / f"{login}.key.pem"
            cert_file = folder / f"{login}.cert.pem"
            key_file.write_bytes(_pem_key(key))
            cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
            entry: dict[str, object] = {
                "login": login,
                "full_name": name,
                "body": body,
                "role": role,
                "region": region,
                "iin": iin,
            }
            relative = (str(key_file.relative_to(directory)), str(cert_file.relative_to(directory)))
            if index_style == "files":
                entry["files"] = {"key": relative[0], "certificate": relative[1]}
            else:
                entry["key_file"], entry["cert_file"] = relative
            officials.append(entry)
    (directory / "officials.json").write_text(
        json.dumps({"root": "root.pem", "officials": officials}, ensure_ascii=False),
        encoding="utf-8",
    )
    (directory / "root.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))
    return TinyCA(directory, root)
