"""The human-readable part of the reports, kept apart so the schedule logic stays terse.

A centre's staff read these comments on their pages, in Russian, so they read like a
body's clerk wrote them; the round is named so that a reviewer can tell a rework answer
from the first one.
"""

from __future__ import annotations

import random

_REJECTION_REASONS = (
    "Запрошенное мероприятие не относится к компетенции органа.",
    "Не относится к компетенции органа: мероприятие входит в ведение другого госоргана.",
    "Вне компетенции органа: положение об органе не предусматривает такого мероприятия.",
)


def received_comment() -> str:
    return "Поручение зарегистрировано в информационной системе органа."


def in_progress_comment(round_: int) -> str:
    if round_ == 0:
        return "Работа по мероприятию начата."
    return f"Начата доработка после возврата центром (доработка {round_})."


def done_comment(round_: int) -> str:
    if round_ == 0:
        return "Мероприятие исполнено: с семьёй связались, результат зафиксирован."
    return f"Замечания центра устранены (доработка {round_}); мероприятие исполнено повторно."


def rejection_reason(rng: random.Random, round_: int) -> str:
    reason = rng.choice(_REJECTION_REASONS)
    if round_ == 0:
        return reason
    return f"В доработке отказано (доработка {round_}). {reason}"
