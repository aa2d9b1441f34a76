"""The agency registry: which state bodies exist and which are connected.

Connecting another body is a data change (its `enabled` flag in the registry file),
never a code change: the topology, the validation of plans and the mocks all read it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from contracts.agencies import Agency, AgencyRegistry

DEFAULT_REGISTRY = Path(__file__).parent / "data" / "agencies.json"


class Agencies:
    def __init__(self, registry: AgencyRegistry) -> None:
        self._by_code = {agency.code: agency for agency in registry.agencies}

    def all(self) -> list[Agency]:
        return list(self._by_code.values())

    def enabled(self) -> list[Agency]:
        return [agency for agency in self._by_code.values() if agency.enabled]

    def enabled_codes(self) -> tuple[str, ...]:
        return tuple(sorted(agency.code for agency in self.enabled()))

    def get(self, code: str) -> Agency | None:
        return self._by_code.get(code)

    def why_not_routable(self, code: str) -> str | None:
        """None when tasks can be sent to `code`; otherwise the reason, for the caller."""
        agency = self._by_code.get(code)
        if agency is None:
            known = ", ".join(sorted(self._by_code))
            return f"unknown agency '{code}'; known agencies: {known}"
        if not agency.enabled:
            return f"agency '{code}' ({agency.name_en}) is not connected to the gateway yet"
        return None


def load_agencies(path: Path | None = None) -> Agencies:
    return _load(path or DEFAULT_REGISTRY)


@cache
def _load(path: Path) -> Agencies:
    return Agencies(AgencyRegistry.model_validate_json(path.read_text(encoding="utf-8")))
