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

    def enabled_codes(self, flow: str | None = None) -> tuple[str, ...]:
        """Connected bodies, each with a queue; only those owning steps of `flow` if given."""
        return tuple(
            sorted(a.code for a in self.enabled() if flow is None or flow in a.flows)
        )

    def in_flow(self, flow: str) -> list[Agency]:
        return [agency for agency in self.enabled() if flow in agency.flows]

    def body_for(self, kind: str, region: str) -> Agency | None:
        """The connected body of `kind` that serves `region` (the kandas chain's owners)."""
        for agency in self.enabled():
            if agency.kind == kind and agency.region == region:
                return agency
        return None

    def get(self, code: str) -> Agency | None:
        return self._by_code.get(code)

    def why_not_routable(self, code: str, flow: str = "ipr") -> str | None:
        """None when `flow`'s tasks can be sent to `code`; otherwise the reason, for the caller."""
        agency = self._by_code.get(code)
        if agency is None or flow not in agency.flows:
            known = ", ".join(sorted(a.code for a in self._by_code.values() if flow in a.flows))
            return f"unknown agency '{code}'; known agencies: {known}"
        if not agency.enabled:
            return f"agency '{code}' ({agency.name_en}) is not connected to the gateway yet"
        return None


def load_agencies(path: Path | None = None) -> Agencies:
    return _load(path or DEFAULT_REGISTRY)


@cache
def _load(path: Path) -> Agencies:
    return Agencies(AgencyRegistry.model_validate_json(path.read_text(encoding="utf-8")))
