"""The register of public services the portal routes e-applications by.

Kept as data (``register.json``) because the register changes by order, not by
release; the portal only checks that a citizen's chosen recipient is the one the
register names for the service in the region, which is what stops an application
from landing at a body that will only bounce it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REGISTER_PATH = Path(__file__).with_name("register.json")


@dataclass(frozen=True, slots=True)
class PublicService:
    code: str
    name: str
    recipient_kind: str


@dataclass(frozen=True, slots=True)
class ServiceRegister:
    services: tuple[PublicService, ...]
    regions: tuple[str, ...]
    recipient_kinds: dict[str, str]

    def service(self, name: str) -> PublicService | None:
        """By name as the citizen chose it, or by code; case and spacing do not matter."""
        key = _norm(name)
        for service in self.services:
            if _norm(service.name) == key or service.code.casefold() == key:
                return service
        return None

    def has_region(self, region: str) -> bool:
        return _norm(region) in {_norm(r) for r in self.regions}

    def recipient(self, service: PublicService, region: str) -> str:
        canonical = next(r for r in self.regions if _norm(r) == _norm(region))
        return f"{self.recipient_kinds[service.recipient_kind]} — {canonical}"

    def recipients(self) -> list[str]:
        return [
            f"{title} — {region}"
            for title in self.recipient_kinds.values()
            for region in self.regions
        ]


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


@cache
def load_register(path: Path = REGISTER_PATH) -> ServiceRegister:
    data = json.loads(path.read_text(encoding="utf-8"))
    kinds: dict[str, str] = dict(data["recipient_kinds"])
    services = tuple(
        PublicService(code=s["code"], name=s["name"], recipient_kind=s["recipient"])
        for s in data["services"]
    )
    unknown = {s.recipient_kind for s in services} - kinds.keys()
    if unknown:
        raise ValueError(f"register.json names unknown recipient kinds: {sorted(unknown)}")
    return ServiceRegister(services=services, regions=tuple(data["regions"]), recipient_kinds=kinds)
