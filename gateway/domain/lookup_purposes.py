"""Why a person's data may be looked up, and whether the consent the act requires is on file.

The purposes are data (gateway/data/lookup_purposes.json): each names its legal ground,
recorded with every lookup, and its consent rule. The rules fail closed: a lookup with
no purpose, an unknown one, or one whose consent cannot be shown on file is refused
before any registry is asked.

- ``not_required``: the act gives the ground itself (order 192: the centre supports the
  family that applied).
- ``application``: order 170 p.12.3: the kandas application must carry the consent, given,
  and the person looked up must be on that application.
- ``referral``: seed 002 p.5.1: the provider takes the applicant's written consent to the
  use of legally protected information when it registers the application; on the portal
  the applicant's request, signed with their ЭЦП, carries it. The employment referral case
  must hold that consent, and the person looked up must be its applicant.
- ``register``: the act requires a consent the gateway would have to hold on file; no
  such register is connected yet, so every such lookup is refused and says so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "data" / "lookup_purposes.json"


@dataclass(frozen=True)
class Purpose:
    code: str
    legal_ground: str
    consent: str
    callers: frozenset[str]


@dataclass(frozen=True)
class Refusal:
    field: str
    reason: str
    status: int  # 422 for a request to fix, 403 for a lookup the law does not allow now


def load_purposes(path: Path = DEFAULT_FILE) -> dict[str, Purpose]:
    raw = json.loads(path.read_text(encoding="utf-8"))["purposes"]
    return {
        code: Purpose(code, p["legal_ground"], p["consent"], frozenset(p["callers"]))
        for code, p in raw.items()
    }


def check_purpose(
    purposes: Mapping[str, Purpose], code: str | None, caller_kind: str
) -> Purpose | Refusal:
    if not code:
        known = ", ".join(sorted(purposes))
        return Refusal("purpose", f"a lookup must name its purpose, one of: {known}", 422)
    purpose = purposes.get(code)
    if purpose is None:
        known = ", ".join(sorted(purposes))
        return Refusal("purpose", f"unknown purpose '{code}'; known: {known}", 422)
    if caller_kind not in purpose.callers:
        return Refusal(
            "purpose", f"a {caller_kind} credential may not look people up for '{code}'", 403
        )
    return purpose


@dataclass(frozen=True)
class CaseConsent:
    """A consent rule whose consent is held by a case: the case's flow, what the case is,
    what its consent is to, the clause that asks for it, and whether it covers the case's
    members too."""

    flow: str
    case: str
    consent_to: str
    clause: str
    covers_members: bool


CASE_RULES = {
    "application": CaseConsent(
        "kandas_application",
        "kandas application",
        "personal data processing",
        "order 170 p.12.3",
        True,
    ),
    "referral": CaseConsent(
        "employment_referral",
        "employment referral",
        "the use of legally protected information",
        "standard, p.5.1",
        False,
    ),
}


def check_consent(
    purpose: Purpose, iin: str, application: Mapping[str, Any] | None
) -> Refusal | None:
    """None when the consent the purpose requires is on file for ``iin``."""
    if purpose.consent == "not_required":
        return None
    rule = CASE_RULES.get(purpose.consent)
    if rule is not None:
        if application is None:
            named = f"'{purpose.code}' lookups name the {rule.case} (case_id)"
            return Refusal("case_id", named, 422)
        consent = application.get("consent") or {}
        if not consent.get("given"):
            return Refusal(
                "consent",
                f"no consent to {rule.consent_to} on file for this {rule.case} ({rule.clause})",
                403,
            )
        people = {application.get("applicant_iin")}
        if rule.covers_members:
            people |= {m.get("iin") for m in application.get("members") or ()}
        if iin not in people:
            return Refusal("iin", f"this person is not on the {rule.case} the consent covers", 403)
        return None
    return Refusal(
        "consent",
        f"'{purpose.code}' requires consent on file and no consent register is connected "
        "to the gateway: the lookup is refused",
        403,
    )
