"""What an official of a body decides on a step: pure, so that it can be tested alone.

The decision depends only on the step as assigned, the body's behaviour, a fault the
admin API pinned to this step when it was taken, and the body's date, never on the order
in which messages arrived or on whether the body restarted in between.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from contracts.cases import Decision, StepAssigned
from contracts.signing import DataValue
from mocks.kandas_bodies import wording
from mocks.kandas_bodies.config import Behaviour

log = logging.getLogger(__name__)

ROUTE = "Шымкент — Петропавловск"
TRANSPORT = "rail"
RELOCATION_AFTER_DAYS = 5
TRAVEL_DAYS = 2
"""Shymkent to Petropavlovsk by rail takes about two days: the arrival follows the departure."""


class Forced(StrEnum):
    """A decision the admin API imposes on one step (fault `return_next`, `refuse_next`)."""

    return_ = "return"
    refuse = "refuse"


@dataclass(frozen=True)
class Override:
    kind: Forced
    remarks: str | None = None
    force: bool = False
    """Decide so even where the step does not allow it: to see the gateway refuse it."""


@dataclass(frozen=True)
class Choice:
    decision: Decision
    remarks: str | None = None
    data: dict[str, DataValue] = field(default_factory=dict)


def labour_market_draft(case_id: str) -> str:
    """A stand-in for the id of the draft decision on unemployed status (p.18).

    In the real flow the draft is made in the labour market system (АИС «Рынок труда»)
    and the gateway obtains it through its adapter; the career centre then forwards with
    that id, and the gateway checks it is the draft the system made. This mock does not
    call the labour market system, so its value only serves the chain's own tests: a
    gateway that checks the draft will refuse it, and says so on the case's timeline.
    """
    return "LM-" + case_id[:8]


def forward_data(step: StepAssigned, behaviour: Behaviour, today: date) -> dict[str, DataValue]:
    """The `data` the step's `requires` asks for, filled the way an official would.

    A key the mock does not know is left out (and logged) rather than made up: the
    gateway then refuses the forward naming the missing key, which is the honest answer.
    """
    relocation = today + timedelta(days=RELOCATION_AFTER_DAYS)
    known: dict[str, DataValue] = {
        "outcome": behaviour.outcome,
        "route": ROUTE,
        "relocation_date": relocation.isoformat(),
        "transport": TRANSPORT,
        "members_arriving": max(1, len(step.people)),
        "labour_market_draft": labour_market_draft(step.case_id),
        "quota_applied": True,
        "arrival_date": (relocation + timedelta(days=TRAVEL_DAYS)).isoformat(),
        "housing": "none",
    }
    unknown = [key for key in step.requires if key not in known]
    if unknown:
        log.warning(
            "%s: step %s requires %s, which this mock cannot fill",
            step.body,
            step.step,
            ", ".join(unknown),
        )
    return {key: known[key] for key in step.requires if key in known}


def decide(
    step: StepAssigned, behaviour: Behaviour, override: Override | None, today: date
) -> Choice:
    """Forward by default; return or refuse where the behaviour or a fault says so.

    A return or refusal the step does not allow falls back to forwarding (with a warning)
    unless a fault forces it, so a misconfigured `--return-at` cannot stall the chain.
    """
    allowed = set(step.decisions)
    if override is not None:
        wanted = Decision(override.kind.value)
        if override.force or wanted in allowed:
            default = wording.FAULT_REMARKS if wanted is Decision.return_ else wording.FAULT_REFUSAL
            return Choice(wanted, override.remarks or default)
    if step.step in behaviour.refuse_at:
        if Decision.refuse in allowed:
            return Choice(Decision.refuse, wording.refuse_reason(step.step))
        log.warning("%s: step %s does not allow refuse; forwarding", step.body, step.step)
    if step.step in behaviour.return_at and step.round == 0:
        if Decision.return_ in allowed:
            return Choice(Decision.return_, wording.return_remarks(step.step))
        log.warning("%s: step %s does not allow return; forwarding", step.body, step.step)
    return Choice(Decision.forward, None, forward_data(step, behaviour, today))
