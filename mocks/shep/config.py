"""Who the mock bus knows: its own signing key, the senders and their certificates.

A real bus registers each information system with a sender id, a password and the
certificate it signs with; the mock keeps the same three facts so that a client with
the wrong password or the wrong key is refused the way the real one would be.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from contracts.shep import load_services
from mocks.shep.wsse import KeyPair

DEFAULT_PATH = "/bip-sync-wss-gost/"
DEV_SENDER_ID = "KZ_SOCIAL_GATEWAY"


@dataclass(frozen=True)
class SenderAccount:
    sender_id: str
    password: str
    certificates: tuple[bytes, ...]
    """DER certificates this sender may sign with (more than one during a key change)."""


@dataclass(frozen=True)
class BusConfig:
    signer: KeyPair
    """The bus's own key: every answer is signed with it."""
    senders: Mapping[str, SenderAccount]
    services: Mapping[str, str] = field(
        default_factory=lambda: {s.service_id: s.key for s in load_services()}
    )
    """serviceId -> registry key; by default every service in contracts/shep/services.json."""
    path: str = DEFAULT_PATH
    max_body_bytes: int = 1 << 20
    journal_size: int = 1000
    timestamp_window: float = 300.0
    """Seconds a request's signed timestamp may lie from the bus's clock, either way."""
    timestamp_ttl: float = 300.0
    """Seconds until the timestamp on the bus's answers expires."""


@dataclass(frozen=True)
class DevCredentials:
    """What a developer's client needs to talk to the mock bus started by the CLI."""

    bus: KeyPair
    sender: KeyPair
    sender_id: str
    password: str


def dev_credentials(state_dir: Path) -> DevCredentials:
    """Keys for the bus and one sender, made on first use and kept in ``state_dir``.

    Kept on disk so that a restarted bus and an already-configured client still trust
    each other. Never use them outside development: the private keys sit in plain files.
    """
    state_dir.mkdir(parents=True, exist_ok=True)

    def signer(name: str) -> KeyPair:
        key, cert = state_dir / f"{name}-key.pem", state_dir / f"{name}-cert.pem"
        if key.exists() and cert.exists():
            return KeyPair(key.read_bytes(), cert.read_bytes())
        made = KeyPair.generate(f"mock {name}")
        key.write_bytes(made.key_pem)
        os.chmod(key, 0o600)
        cert.write_bytes(made.certificate_pem)
        return made

    sender_file = state_dir / "sender.json"
    if sender_file.exists():
        data = json.loads(sender_file.read_text(encoding="utf-8"))
    else:
        data = {"senderId": DEV_SENDER_ID, "password": os.urandom(12).hex()}
        sender_file.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.chmod(sender_file, 0o600)
    return DevCredentials(
        bus=signer("bus"),
        sender=signer("sender"),
        sender_id=data["senderId"],
        password=data["password"],
    )


def config_for(credentials: DevCredentials) -> BusConfig:
    account = SenderAccount(
        credentials.sender_id, credentials.password, (credentials.sender.certificate_der,)
    )
    return BusConfig(signer=credentials.bus, senders={account.sender_id: account})
