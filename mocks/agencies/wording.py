"""The human-readable part of the reports, kept apart so the schedule logic stays terse.

A centre's operator reads these comments, so they read like a body's clerk wrote them;
the round is named so that a reviewer can tell a rework answer from the first one.
"""

from __future__ import annotations

import random

_REJECTION_REASONS = (
    "The requested measure is not within the competence of the body.",
    "Not within the competence of the body: the measure belongs to another state body.",
    "Outside the competence of the body: its regulations do not provide for this measure.",
)


def received_comment() -> str:
    return "Task registered in the body's information system."


def in_progress_comment(round_: int) -> str:
    if round_ == 0:
        return "Work on the measure has started."
    return f"Rework started after the centre's return (round {round_})."


def done_comment(round_: int) -> str:
    if round_ == 0:
        return "Measure provided; the family was contacted and the result recorded."
    return f"Remarks of the centre addressed (round {round_}); measure provided again."


def rejection_reason(rng: random.Random, round_: int) -> str:
    reason = rng.choice(_REJECTION_REASONS)
    if round_ == 0:
        return reason
    return f"Rework declined (round {round_}). {reason}"
