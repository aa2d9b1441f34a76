"""The checks of the kandas chain that data alone cannot say (order 170 p.8–13, 17, 29).

The flow file names, per step, which checks must pass before the owner may forward
(`checks`); this module says what each name means, over the case's stored document (the
application as filed and the facts the registries gave). Each check answers the problems
it found, as (field, reason) pairs a caller can act on; no problem means it passed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

Problems = list[tuple[str, str]]
Check = Callable[[Mapping[str, Any], Mapping[str, object]], Problems]


def registry_facts_complete(case: Mapping[str, Any], data: Mapping[str, object]) -> Problems:
    """p.6/p.8: the career centre re-checks the data; it cannot while a registry owes facts."""
    return [
        (
            f"intake.missing.{m['registry']}",
            f"registry {m['registry']} has not answered about {m['subject'][:6]}…: {m['reason']}",
        )
        for m in case["intake"]["missing"]
    ]


def close_relatives_checked(case: Mapping[str, Any], data: Mapping[str, object]) -> Problems:
    """p.9: the head of the labour mobility centre checks close relatives in the ЦКС."""
    card = case.get("family_card") or {}
    if card.get("status") == "fetched":
        return []
    reason = card.get("reason") or "the digital family card (ЦКС) has not been consulted"
    return [("family_card", f"no data from the digital family card: {reason}")]


def data_filled(case: Mapping[str, Any], data: Mapping[str, object]) -> Problems:
    """p.12.1: the data of the kandas and of each family member are filled."""
    problems: Problems = []
    for index, person in enumerate(case["intake"]["people"]):
        if not person.get("last_name") or not person.get("birth_date"):
            problems.append((f"people[{index}]", "identity data are not filled"))
    application = case["application"]
    if not application.get("phone") and not application.get("email"):
        problems.append(("application.phone", "no phone or e-mail to contact the kandas"))
    return problems


def scans_present(case: Mapping[str, Any], data: Mapping[str, object]) -> Problems:
    """p.12.2: a scan is present for every fact no registry holds (and only for those)."""
    return [
        (f"scans.{scan['key']}", scan["why"])
        for scan in case["intake"]["scans_needed"]
        if not scan["provided"]
    ]


def consent_on_file(case: Mapping[str, Any], data: Mapping[str, object]) -> Problems:
    """p.12.3: consent to the collection and processing of personal data is on file."""
    consent = case["application"].get("consent")
    if not consent or not consent.get("given"):
        return [("application.consent", "no consent to personal data processing on file")]
    return []


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def relocation_data_valid(case: Mapping[str, Any], data: Mapping[str, object]) -> Problems:
    """p.17: route, date, transport (auto, rail, air) and how many members arrive."""
    problems: Problems = []
    if data.get("transport") not in ("auto", "rail", "air"):
        problems.append(("data.transport", "must be one of auto, rail, air"))
    if _date(data.get("relocation_date")) is None:
        problems.append(("data.relocation_date", "must be a date, YYYY-MM-DD"))
    arriving = data.get("members_arriving")
    included = sum(1 for p in case["intake"]["people"] if p.get("included"))
    if not isinstance(arriving, int) or isinstance(arriving, bool) or not 1 <= arriving <= included:
        problems.append(("data.members_arriving", f"must be a whole number from 1 to {included}"))
    return problems


def confirmation_data_valid(case: Mapping[str, Any], data: Mapping[str, object]) -> Problems:
    """p.29 and p.31: the kandas's confirmation; housing decides temporary registration."""
    problems: Problems = []
    if not isinstance(data.get("quota_applied"), bool):
        problems.append(("data.quota_applied", "must be true or false"))
    if _date(data.get("arrival_date")) is None:
        problems.append(("data.arrival_date", "must be a date, YYYY-MM-DD"))
    if data.get("housing") not in ("own", "none"):
        problems.append(("data.housing", "must be own or none"))
    return problems


def labour_market_draft_matches(case: Mapping[str, Any], data: Mapping[str, object]) -> Problems:
    """p.18: the draft decision is the one the labour market system made for this case."""
    drafts = case.get("labour_market") or {}
    latest = drafts.get("latest")
    if latest is None:
        reason = drafts.get("failing") or "not made yet"
        return [("data.labour_market_draft", f"no draft from the labour market system: {reason}")]
    if data.get("labour_market_draft") != latest:
        return [("data.labour_market_draft", f"must be the draft the system made: {latest}")]
    return []


CHECKS: dict[str, Check] = {
    "registry_facts_complete": registry_facts_complete,
    "close_relatives_checked": close_relatives_checked,
    "data_filled": data_filled,
    "scans_present": scans_present,
    "consent_on_file": consent_on_file,
    "relocation_data_valid": relocation_data_valid,
    "confirmation_data_valid": confirmation_data_valid,
    "labour_market_draft_matches": labour_market_draft_matches,
}


def run(names: tuple[str, ...], case: Mapping[str, Any], data: Mapping[str, object]) -> Problems:
    problems: Problems = []
    for name in names:
        problems += CHECKS[name](case, data)
    return problems
