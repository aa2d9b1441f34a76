"""The referral to active employment measures (seed 002) as rules, without I/O.

The service's six kinds, its procedures with their minutes, and the two rules of the
portal: the applicant must be registered as unemployed, and the service is not open on
the portal to a holder of kandas (formerly oralman) status. All of it is data
(`gateway/data/employment_referral.json`); this module reads it and decides.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

DATA_PATH = Path(__file__).resolve().parent.parent / "data" / "employment_referral.json"


@dataclass(frozen=True, slots=True)
class Kind:
    code: str
    ru: str
    kk: str
    clause: str


@dataclass(frozen=True, slots=True)
class Procedure:
    code: str
    minutes: int
    ru: str
    kk: str
    clause: str


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    ru: str
    kk: str
    clause: str


@dataclass(frozen=True, slots=True)
class Standard:
    kinds: tuple[Kind, ...]
    procedure: tuple[Procedure, ...]
    in_person_minutes: int
    in_person_clause: str
    rules: dict[str, Rule]

    def kind(self, code: str) -> Kind | None:
        return next((k for k in self.kinds if k.code == code), None)

    def kind_in(self, text: str) -> Kind | None:
        """The kind a citizen's free text names: its code or its Russian name."""
        folded = " ".join(text.split()).casefold()
        for kind in self.kinds:
            if kind.code in folded or kind.ru.casefold() in folded:
                return kind
        return None

    def step(self, code: str) -> Procedure | None:
        return next((p for p in self.procedure if p.code == code), None)


@cache
def load_standard(path: Path = DATA_PATH) -> Standard:
    data = json.loads(path.read_text(encoding="utf-8"))
    return Standard(
        kinds=tuple(Kind(**k) for k in data["kinds"]),
        procedure=tuple(Procedure(**p) for p in data["procedure"]),
        in_person_minutes=int(data["in_person_minutes"]),
        in_person_clause=data["in_person_clause"],
        rules={code: Rule(code=code, **r) for code, r in data["rules"].items()},
    )


@dataclass(frozen=True, slots=True)
class Facts:
    """What the systems that hold the facts said; None where one did not answer."""

    unemployed: bool | None
    unemployed_source: str
    kandas: bool | None
    kandas_source: str


def refusal_rule(facts: Facts, *, on_portal: bool) -> Rule | None:
    """The first rule the applicant fails, in the standard's order, or None."""
    standard = load_standard()
    if on_portal and facts.kandas:
        return standard.rules["no_kandas_on_portal"]
    if facts.unemployed is False:
        return standard.rules["registered_unemployed"]
    return None


def missing_facts(facts: Facts, *, on_portal: bool) -> list[str]:
    missing = []
    if facts.unemployed is None:
        missing.append(facts.unemployed_source)
    if on_portal and facts.kandas is None:
        missing.append(facts.kandas_source)
    return missing


def procedure_against_norms(
    events: list[dict[str, Any]], opened_at: datetime
) -> list[dict[str, Any]]:
    """Each recorded procedure with its minutes (since the previous one) and its norm."""
    standard = load_standard()
    rows = []
    previous = opened_at
    for event in events:
        at = event["at"]
        step = standard.step(event["code"])
        minutes = round((at - previous).total_seconds() / 60, 1)
        norm = step.minutes if step else None
        rows.append(
            {
                "code": event["code"],
                "ru": step.ru if step else event["code"],
                "kk": step.kk if step else event["code"],
                "clause": step.clause if step else "",
                "at": at.isoformat(),
                "minutes": minutes,
                "norm_minutes": norm,
                "within_norm": norm is not None and minutes <= norm,
            }
        )
        previous = at
    return rows
