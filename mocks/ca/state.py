"""The mock CA's state directory: its root, the officials' keys, what it issued and revoked.

Layout (all PEM files are plain text; the keys are unencrypted, as befits a mock)::

    root.pem                         the root certificate: what the gateway trusts
    root.key.pem                     the root's private key (0600)
    officials/<login>.key.pem        an official's private key, PKCS#8 (0600)
    officials/<login>.cert.pem       the official's certificate
    officials.json                   the index: login, full name, body, role, region, IIN, files
    issued.json, revocations.json    every serial issued and revoked, by hex serial

A restarted CA reuses everything still good (so a configured gateway keeps trusting it
and the officials keep their keys), and reissues what is not: an official whose
certificate expires within 30 days, was revoked, or does not match the seed. On a
fresh directory ``root.pem`` is written last, so a process that waits for it finds the
officials' files already there. Every file is replaced atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from contracts.clock import Clock
from contracts.iin import InvalidIIN, check_iin
from contracts.signing import SUBJECT_IIN_PREFIX
from mocks.ca.algorithms import KeyAlgorithm, RsaSha256
from mocks.ca.authority import CertificateAuthority, Revocation, SubjectFields, subject_name
from mocks.ca.officials import ROLES, Official, mock_officials
from mocks.rest_app import IdempotentState, Refused

__all__ = ["REVOCATION_REASONS", "CaState", "IssuedCertificate", "serial_hex"]

OFFICIAL_DAYS = 365
#: The body and role of a citizen's certificate.
CITIZEN = "citizen"
RENEW_BEFORE = timedelta(days=30)
REVOCATION_REASONS = {
    flag.name: flag
    for flag in (
        x509.ReasonFlags.unspecified,
        x509.ReasonFlags.key_compromise,
        x509.ReasonFlags.affiliation_changed,
        x509.ReasonFlags.superseded,
        x509.ReasonFlags.cessation_of_operation,
    )
}


def serial_hex(serial: int) -> str:
    """A certificate serial as the CA and the gateway both print it: lower-case hex."""
    return format(serial, "x")


def _parse_serial(text: str) -> int | None:
    cleaned = text.replace(":", "").replace(" ", "").lower()
    try:
        return int(cleaned, 16) if cleaned else None
    except ValueError:
        return None


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o600 if private else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_json(path: Path, value: Any) -> None:
    _write(path, (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode())


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _refuse(field: str, reason: str, *, status: int = 422) -> Refused:
    title = {404: "Not found"}.get(status, "Invalid input")
    return Refused(status, title, [{"field": field, "reason": reason}])


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    serial: str
    login: str | None
    """The mock official's login, or None for a developer's own certificate."""
    fields: SubjectFields
    not_before: datetime
    not_after: datetime
    certificate_pem: str

    def as_json(self, *, with_certificate: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "serial": self.serial,
            "login": self.login,
            "full_name": self.fields.full_name,
            "iin": self.fields.iin,
            "body": self.fields.body,
            "role": self.fields.role,
            "region": self.fields.region,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
        }
        if with_certificate:
            body["certificate"] = self.certificate_pem
        return body


def _issued_from(
    certificate: x509.Certificate, fields: SubjectFields, login: str | None
) -> IssuedCertificate:
    return IssuedCertificate(
        serial=serial_hex(certificate.serial_number),
        login=login,
        fields=fields,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        certificate_pem=_pem(certificate).decode(),
    )


class CaState(IdempotentState):
    """The CA and everything it remembers; one lock, since uvicorn may use threads."""

    def __init__(
        self,
        state_dir: Path,
        *,
        seed: int,
        clock: Clock,
        algorithm: KeyAlgorithm | None = None,
    ) -> None:
        super().__init__()
        self.dir = state_dir
        self.seed = seed
        self.clock = clock
        self.algorithm = algorithm or RsaSha256()
        self._issued: dict[str, IssuedCertificate] = {}
        self._revoked: dict[str, Revocation] = {}
        self.officials: tuple[Official, ...] = ()
        self.authority = self._bootstrap(clock.now())

    # --- paths ------------------------------------------------------------------

    @property
    def root_file(self) -> Path:
        return self.dir / "root.pem"

    def key_file(self, login: str) -> Path:
        return self.dir / "officials" / f"{login}.key.pem"

    def cert_file(self, login: str) -> Path:
        return self.dir / "officials" / f"{login}.cert.pem"

    # --- start-up ---------------------------------------------------------------

    def _bootstrap(self, now: datetime) -> CertificateAuthority:
        self.dir.mkdir(parents=True, exist_ok=True)
        authority = self._load_root(now)
        fresh = authority is None
        if authority is None:
            self.root_file.unlink(missing_ok=True)
            authority = CertificateAuthority.create(self.algorithm, now)
            _write(
                self.dir / "root.key.pem",
                authority.key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
                private=True,
            )
        else:
            self._issued = self._load_issued()
            self._revoked = self._load_revoked()
        self.authority = authority
        self.officials = mock_officials(self.seed)
        index = [self._ensure_official(official, now) for official in self.officials]
        _write_json(
            self.dir / "officials.json", {"seed": self.seed, "root": "root.pem", "officials": index}
        )
        self._save()
        if fresh:
            _write(self.root_file, _pem(authority.certificate))
        return authority

    def _load_root(self, now: datetime) -> CertificateAuthority | None:
        key_file = self.dir / "root.key.pem"
        if not (key_file.exists() and self.root_file.exists()):
            return None
        try:
            key = self.algorithm.load_key(key_file.read_bytes())
            certificate = x509.load_pem_x509_certificate(self.root_file.read_bytes())
        except ValueError:
            return None
        authority = CertificateAuthority(self.algorithm, key, certificate)
        if (
            not authority.issued(certificate)
            or certificate.not_valid_after_utc - now < RENEW_BEFORE
        ):
            return None  # not this key's certificate, or about to expire: a new root
        return authority

    def _ensure_official(self, official: Official, now: datetime) -> dict[str, Any]:
        fields = SubjectFields(
            official.full_name, official.iin, official.body, official.role, official.region
        )
        key_file, cert_file = self.key_file(official.login), self.cert_file(official.login)
        certificate = self._reusable(key_file, cert_file, fields, now)
        if certificate is None:
            key = self.algorithm.generate_key()
            certificate = self.authority.issue(
                key.public_key(), fields, now=now, valid_days=OFFICIAL_DAYS
            )
            _write(
                key_file,
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
                private=True,
            )
            _write(cert_file, _pem(certificate))
        issued = _issued_from(certificate, fields, official.login)
        self._issued[issued.serial] = issued
        return {
            "login": official.login,
            "full_name": official.full_name,
            "body": official.body,
            "role": official.role,
            "region": official.region,
            "iin": official.iin,
            "serial": issued.serial,
            "not_after": issued.not_after.isoformat(),
            "files": {
                "key": str(key_file.relative_to(self.dir)),
                "certificate": str(cert_file.relative_to(self.dir)),
            },
        }

    def _reusable(
        self, key_file: Path, cert_file: Path, fields: SubjectFields, now: datetime
    ) -> x509.Certificate | None:
        if not (key_file.exists() and cert_file.exists()):
            return None
        try:
            key = self.algorithm.load_key(key_file.read_bytes())
            certificate = x509.load_pem_x509_certificate(cert_file.read_bytes())
        except ValueError:
            return None
        raw = serialization.PublicFormat.SubjectPublicKeyInfo
        same_key = key.public_key().public_bytes(
            serialization.Encoding.DER, raw
        ) == certificate.public_key().public_bytes(serialization.Encoding.DER, raw)
        good = (
            same_key
            and self.authority.issued(certificate)
            and certificate.subject == subject_name(fields)
            and serial_hex(certificate.serial_number) not in self._revoked
            and certificate.not_valid_before_utc <= now
            and certificate.not_valid_after_utc - now > RENEW_BEFORE
        )
        return certificate if good else None

    def _load_issued(self) -> dict[str, IssuedCertificate]:
        data = _read_json(self.dir / "issued.json") or {}
        issued: dict[str, IssuedCertificate] = {}
        for serial, item in data.items():
            try:
                fields = SubjectFields(
                    item["full_name"], item["iin"], item["body"], item["role"], item["region"]
                )
                issued[serial] = IssuedCertificate(
                    serial=serial,
                    login=item.get("login"),
                    fields=fields,
                    not_before=datetime.fromisoformat(item["not_before"]),
                    not_after=datetime.fromisoformat(item["not_after"]),
                    certificate_pem=item["certificate"],
                )
            except (KeyError, TypeError, ValueError):
                continue  # a damaged entry is forgotten, not fatal to the mock
        return issued

    def _load_revoked(self) -> dict[str, Revocation]:
        data = _read_json(self.dir / "revocations.json") or {}
        revoked: dict[str, Revocation] = {}
        for serial, item in data.items():
            try:
                revoked[serial] = Revocation(
                    int(serial, 16),
                    datetime.fromisoformat(item["revoked_at"]),
                    REVOCATION_REASONS[item["reason"]],
                )
            except (KeyError, TypeError, ValueError):
                continue
        return revoked

    def _save(self) -> None:
        _write_json(
            self.dir / "issued.json", {s: i.as_json() for s, i in sorted(self._issued.items())}
        )
        _write_json(
            self.dir / "revocations.json",
            {
                s: {"revoked_at": r.revoked_at.isoformat(), "reason": r.reason.name}
                for s, r in sorted(self._revoked.items())
            },
        )

    # --- what the API does ---------------------------------------------------------

    def root_pem(self) -> bytes:
        return _pem(self.authority.certificate)

    def officials_index(self) -> list[dict[str, Any]]:
        data = _read_json(self.dir / "officials.json") or {}
        index: list[dict[str, Any]] = data.get("officials", [])
        with self._lock:
            for entry in index:
                entry["revoked"] = entry.get("serial") in self._revoked
        return index

    def issue_for_csr(
        self,
        csr_pem: str,
        *,
        body: str,
        role: str,
        region: str,
        full_name: str | None = None,
        iin: str | None = None,
        valid_days: int = OFFICIAL_DAYS,
    ) -> IssuedCertificate:
        """A certificate for a developer's own key, with the subject they ask for.

        The request must be signed by the key it certifies (proof of possession), as at
        a real CA; the name and IIN come from the body of the call or else the CSR.
        """
        try:
            csr = x509.load_pem_x509_csr(csr_pem.encode())
        except ValueError:
            raise _refuse("csr", "is not a PEM certificate signing request") from None
        if not csr.is_signature_valid:
            raise _refuse("csr", "its signature does not verify with the key it carries")
        public = csr.public_key()
        if not isinstance(public, rsa.RSAPublicKey) or public.key_size < 2048:
            raise _refuse(
                "csr", f"the key must be RSA of at least 2048 bits ({self.algorithm.name})"
            )
        # A citizen's key too (body `citizen`, role `citizen`): the ЭЦП on an
        # e-application (order 109 p.2) is the applicant's own.
        roles = (*ROLES, CITIZEN)
        if role not in roles or (role == CITIZEN) != (body == CITIZEN):
            raise _refuse(
                "role", f"must be one of {', '.join(roles)} (citizen with body citizen)"
            )

        def from_csr(oid: x509.ObjectIdentifier) -> str | None:
            found = csr.subject.get_attributes_for_oid(oid)
            value = found[0].value if found else None
            return value if isinstance(value, str) else None

        name = (full_name or from_csr(x509.NameOID.COMMON_NAME) or "").strip()
        if not name:
            raise _refuse("full_name", "is required (or give the request a CN)")
        number = iin or (from_csr(x509.NameOID.SERIAL_NUMBER) or "").removeprefix(
            SUBJECT_IIN_PREFIX
        )
        if not number:
            raise _refuse("iin", "is required (or give the request serialNumber=IIN…)")
        try:
            check_iin(number)
        except InvalidIIN as exc:
            raise _refuse("iin", exc.reason) from None
        fields = SubjectFields(name, number, body, role, region)
        now = self.clock.now()
        certificate = self.authority.issue(public, fields, now=now, valid_days=valid_days)
        issued = _issued_from(certificate, fields, None)
        with self._lock:
            self._issued[issued.serial] = issued
            self._save()
        return issued

    def revoke(self, serial: str, reason: str = "unspecified") -> tuple[Revocation, bool]:
        """Revoke a certificate this CA issued; True if it was not revoked before."""
        number = _parse_serial(serial)
        if number is None:
            raise _refuse("serial", "must be the certificate's serial number in hex")
        flag = REVOCATION_REASONS.get(reason)
        if flag is None:
            raise _refuse("reason", f"must be one of {', '.join(REVOCATION_REASONS)}")
        key = serial_hex(number)
        with self._lock:
            if key not in self._issued:
                raise _refuse(
                    "serial", "no certificate with this serial was issued here", status=404
                )
            existing = self._revoked.get(key)
            if existing is not None:
                return existing, False
            revocation = Revocation(number, self.clock.now(), flag)
            self._revoked[key] = revocation
            self._save()
        return revocation, True

    def revocations(self) -> list[Revocation]:
        with self._lock:
            return sorted(self._revoked.values(), key=lambda r: r.revoked_at)

    def crl(self) -> x509.CertificateRevocationList:
        now = self.clock.now()
        return self.authority.crl(self.revocations(), now=now, number=int(now.timestamp()))

    def certificate(self, serial: str) -> IssuedCertificate | None:
        number = _parse_serial(serial)
        with self._lock:
            return self._issued.get(serial_hex(number)) if number is not None else None

    def reset_data(self) -> None:
        """Forget revocations and developers' certificates; the officials stay."""
        with self._lock:
            self._revoked.clear()
            self._issued = {s: i for s, i in self._issued.items() if i.login is not None}
            self._replies.clear()
            self._save()
