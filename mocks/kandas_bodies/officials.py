"""The bodies' officials and their signing keys, as the mock certification authority issued them.

The CA (`mocks/ca`) writes into its state directory an index, `officials.json`, and for
each official `officials/<login>.key.pem` (PKCS#8) and `officials/<login>.cert.pem`. This
module only reads those files, so the bodies depend on the CA's file layout and on
`contracts.signing`, not on the CA's code. An index entry names the files either under
`files: {key, certificate}` or as `key_file`/`cert_file`, relative to the state directory;
without either, the `officials/<login>` convention applies.

The CA reissues certificates on its restarts (one close to expiry, revoked, or a lost
root), so a key is re-read whenever its files change rather than cached for the life of
the process.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from contracts.signing import HandoverStatement, Signature, SignatureAlgorithm, canonical_bytes

INDEX = "officials.json"


class NoOfficial(LookupError):
    """The CA's files have no usable key for this body and role (yet)."""


@dataclass(frozen=True)
class Official:
    login: str
    full_name: str
    body: str
    role: str
    key: rsa.RSAPrivateKey
    certificate_pem: str

    def sign(self, statement: HandoverStatement) -> Signature:
        """RSA PKCS#1 v1.5 with SHA-256 over the statement's canonical bytes."""
        value = self.key.sign(canonical_bytes(statement), padding.PKCS1v15(), hashes.SHA256())
        return Signature(
            algorithm=SignatureAlgorithm.rsa_sha256,
            certificate=self.certificate_pem,
            value=base64.b64encode(value).decode(),
        )


def _entries(index: Any) -> list[dict[str, Any]]:
    officials = index.get("officials") if isinstance(index, dict) else index
    if not isinstance(officials, list):
        raise NoOfficial(f"{INDEX} has no list of officials")
    return [entry for entry in officials if isinstance(entry, dict)]


def _files(entry: dict[str, Any]) -> tuple[str, str]:
    login = str(entry.get("login", ""))
    given = entry.get("files")
    files: dict[str, Any] = given if isinstance(given, dict) else {}
    key = entry.get("key_file") or files.get("key") or f"officials/{login}.key.pem"
    cert = entry.get("cert_file") or files.get("certificate") or f"officials/{login}.cert.pem"
    return str(key), str(cert)


class Officials:
    """Finds and loads the official of a body with a role; safe to use from threads."""

    def __init__(self, ca_dir: Path) -> None:
        self.ca_dir = Path(ca_dir)
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[tuple[float, float, float], Official]] = {}

    def for_step(self, body: str, role: str) -> Official:
        """The official of `body` who holds `role`; NoOfficial when the CA has none."""
        index_path = self.ca_dir / INDEX
        try:
            index = json.loads(index_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NoOfficial(f"no {INDEX} in {self.ca_dir}: is the mock CA running?") from None
        except ValueError as exc:
            raise NoOfficial(f"{index_path} is not JSON: {exc}") from None
        matches = [e for e in _entries(index) if e.get("body") == body and e.get("role") == role]
        if not matches:
            raise NoOfficial(f"the CA lists no official of {body} with the role {role}")
        entry = matches[0]
        key_path, cert_path = (self.ca_dir / name for name in _files(entry))
        try:
            stamp = (
                index_path.stat().st_mtime,
                key_path.stat().st_mtime,
                cert_path.stat().st_mtime,
            )
        except FileNotFoundError as exc:
            raise NoOfficial(f"{body}/{role}: {exc.filename} is missing") from None
        with self._lock:
            cached = self._cache.get((body, role))
            if cached is not None and cached[0] == stamp:
                return cached[1]
        official = self._load(entry, key_path, cert_path, body, role)
        with self._lock:
            self._cache[(body, role)] = (stamp, official)
        return official

    @staticmethod
    def _load(
        entry: dict[str, Any], key_path: Path, cert_path: Path, body: str, role: str
    ) -> Official:
        try:
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            certificate = cert_path.read_text(encoding="ascii")
        except (OSError, ValueError) as exc:
            raise NoOfficial(f"{body}/{role}: cannot read the key or certificate: {exc}") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise NoOfficial(f"{body}/{role}: the key is not RSA, which is all this mock signs")
        return Official(
            login=str(entry.get("login", f"{body}_{role}")),
            full_name=str(entry.get("full_name", "")),
            body=body,
            role=role,
            key=key,
            certificate_pem=certificate,
        )
