"""Read-only views of what a body received and decided, for tests, operators and the admin API.

They read the file rather than ask the running mock, so a test can check "taken exactly
once" or "decided once" after the body has stopped, or even after it crashed. People's
IINs and names, which the body keeps with each step, are not part of these views.
"""

from __future__ import annotations

import json
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mocks.kandas_bodies.schema import Effect, StepState, database_path, open_read_only


@dataclass(frozen=True)
class JournalEntry:
    seq: int
    message_id: str
    type: str
    case_id: str
    step: str
    round: int
    received_at: str
    effect: Effect


@dataclass(frozen=True)
class StepRecord:
    """One visit of a step: when it was taken, what was decided, whether it was sent."""

    case_id: str
    step: str
    round: int
    state: StepState
    message_id: str | None
    taken_at: str | None
    fault: dict[str, Any] | None
    decision: str | None
    remarks: str | None
    data: dict[str, Any] | None
    signer: str | None
    decision_message_id: str | None
    decided_at: str | None
    published_at: str | None
    withdrawn_reason: str | None


def journal(state_dir: Path, body: str) -> list[JournalEntry]:
    """Every message the body received, in arrival order; empty before its first start."""
    path = database_path(state_dir, body)
    if not path.exists():
        return []
    with closing(open_read_only(path)) as conn:
        rows = conn.execute(
            "SELECT seq, message_id, type, case_id, step, round, received_at, effect"
            " FROM journal ORDER BY seq"
        ).fetchall()
    return [
        JournalEntry(
            seq=row["seq"],
            message_id=row["message_id"],
            type=row["type"],
            case_id=row["case_id"],
            step=row["step"],
            round=row["round"],
            received_at=row["received_at"],
            effect=Effect(row["effect"]),
        )
        for row in rows
    ]


def steps(state_dir: Path, body: str) -> list[StepRecord]:
    """Every step visit the body knows, in the order it took them."""
    path = database_path(state_dir, body)
    if not path.exists():
        return []
    with closing(open_read_only(path)) as conn:
        rows = conn.execute(
            "SELECT case_id, step, round, state, message_id, taken_at, fault, decision,"
            " decision_kind, signer, decision_id, decided_at, published_at, withdrawn_reason"
            " FROM steps ORDER BY COALESCE(taken_at, updated_at), case_id, step, round"
        ).fetchall()
    records = []
    for row in rows:
        decision = json.loads(row["decision"]) if row["decision"] else None
        records.append(
            StepRecord(
                case_id=row["case_id"],
                step=row["step"],
                round=row["round"],
                state=StepState(row["state"]),
                message_id=row["message_id"],
                taken_at=row["taken_at"],
                fault=json.loads(row["fault"]) if row["fault"] else None,
                decision=row["decision_kind"],
                remarks=decision.get("remarks") if decision else None,
                data=decision.get("data") if decision else None,
                signer=row["signer"],
                decision_message_id=row["decision_id"],
                decided_at=row["decided_at"],
                published_at=row["published_at"],
                withdrawn_reason=row["withdrawn_reason"],
            )
        )
    return records


def count_taken(state_dir: Path, body: str, case_id: str, step: str) -> int:
    """How many times the body took an assignment of this step of this case (any round)."""
    return sum(
        1
        for entry in journal(state_dir, body)
        if entry.case_id == case_id and entry.step == step and entry.effect is Effect.taken
    )
