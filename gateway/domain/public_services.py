"""The register of public services, as the gateway routes e-applications by (order 109 p.3).

"The recipient of the application is named according to the register of public
services": the register says, for a service, which kind of body receives it (a branch
of the Government for Citizens corporation, the local executive body, or the Committee's
department), and the region picks the body. The register is data
(`gateway/data/public_services.json`), with the offices of each kind per region and the
flow of ours that runs the service; the pure lookups are here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REGISTER_PATH = Path(__file__).resolve().parent.parent / "data" / "public_services.json"


@dataclass(frozen=True, slots=True)
class PublicService:
    code: str
    name: str
    recipient_kind: str
    flow: str


@dataclass(frozen=True, slots=True)
class Routing:
    """Who receives an application for a service in a region, and who checks it."""

    service: PublicService
    region: str
    region_name: str
    recipient: str
    """The recipient's name as the register writes it: '<kind> — <region>'."""
    regional_office: str
    district_office: str


@dataclass(frozen=True, slots=True)
class Register:
    services: tuple[PublicService, ...]
    regions: dict[str, str]  # Russian name -> region code
    recipient_kinds: dict[str, str]
    offices: dict[str, dict[str, str]]

    def service(self, name: str) -> PublicService | None:
        """By name as the citizen chose it, or by code; case and spacing do not matter."""
        key = _norm(name)
        for service in self.services:
            if _norm(service.name) == key or service.code.casefold() == key:
                return service
        return None

    def region_code(self, name: str) -> str | None:
        key = _norm(name)
        for region_name, code in self.regions.items():
            if _norm(region_name) == key or code == key:
                return code
        return None

    def route(self, service: PublicService, region_name: str) -> Routing | None:
        code = self.region_code(region_name)
        if code is None:
            return None
        canonical = next(n for n, c in self.regions.items() if c == code)
        offices = self.offices[service.recipient_kind]
        return Routing(
            service=service,
            region=code,
            region_name=canonical,
            recipient=f"{self.recipient_kinds[service.recipient_kind]} — {canonical}",
            regional_office=offices["regional"].format(region=code),
            district_office=offices["district"].format(region=code),
        )


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def parse_register(data: dict[str, object]) -> Register:
    kinds = dict(data["recipient_kinds"])  # type: ignore[call-overload]
    services = tuple(
        PublicService(s["code"], s["name"], s["recipient"], s["flow"])
        for s in data["services"]  # type: ignore[attr-defined]
    )
    offices = {k: v for k, v in dict(data["offices"]).items() if not k.startswith("_")}  # type: ignore[call-overload]
    unknown = {s.recipient_kind for s in services} - kinds.keys()
    if unknown or kinds.keys() - offices.keys():
        raise ValueError(f"public_services.json: recipient kinds without offices: {unknown}")
    regions = {r["name_ru"]: r["code"] for r in data["regions"]}  # type: ignore[attr-defined]
    return Register(services, regions, kinds, offices)


@cache
def load_register(path: Path = REGISTER_PATH) -> Register:
    return parse_register(json.loads(path.read_text(encoding="utf-8")))
