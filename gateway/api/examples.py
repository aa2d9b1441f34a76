"""Request examples shown in `/docs` and tried by schemathesis's example phase.

Each one is a request the API accepts: `tests/integration/test_openapi_examples.py`
sends every example found in the document and expects the operation's success status,
so an example that stops passing validation fails the suite. The IINs are valid numbers
made for the example (`contracts.iin.next_valid_iin`), not people's.
"""

from __future__ import annotations

from typing import Any

MOTHER = "870314400013"
FATHER = "851102300073"
SON = "140602500102"
DAUGHTER = "170921600032"

PLAN: dict[str, Any] = {
    "centre": "almaty-bostandyk",
    "external_id": "ИПР-2026-0142",
    "approved_at": "2026-11-20T10:30:00+05:00",
    "family": {
        "members": [
            {
                "iin": MOTHER,
                "last_name": "Ахметова",
                "first_name": "Гульнара",
                "middle_name": "Сериковна",
                "role": "applicant",
            },
            {"iin": FATHER, "last_name": "Ахметов", "first_name": "Ерлан", "role": "spouse"},
            {"iin": SON, "last_name": "Ахметов", "first_name": "Алихан", "role": "child"},
            {"iin": DAUGHTER, "last_name": "Ахметова", "first_name": "Айша", "role": "child"},
        ],
        "address": "г. Алматы, Бостандыкский район",
    },
    "grounds": ["малообеспеченность", "отсутствие жилья"],
    "activities": [
        {
            "agency": "health",
            "title": "Медицинское обследование детей",
            "due_date": "2027-01-29",
            "beneficiary_iins": [SON, DAUGHTER],
        },
        {
            "agency": "education",
            "title": "Место в дошкольной организации",
            "description": "Направление в детский сад по месту жительства.",
            "beneficiary_iins": [DAUGHTER],
        },
        {"agency": "housing", "title": "Постановка на учёт нуждающихся в жилье"},
    ],
}

SUBMIT = {
    "family-of-four": {
        "summary": "A plan with three activities for three bodies",
        "value": PLAN,
    }
}

REVIEW = {
    "accept": {"summary": "Accept the body's report", "value": {"decision": "accept"}},
    "return": {
        "summary": "Return the report for rework; a reason is required",
        "value": {
            "decision": "return",
            "reason": "Не приложено заключение врача: приложите его к отчёту.",
        },
    },
}

CANCEL = {
    "moved": {
        "summary": "Cancel the plan; every open task's body gets task.cancelled",
        "value": {"reason": "Семья переехала в другой регион, план передан по новому месту."},
    }
}

REROUTE = {
    "to-housing": {
        "summary": "Send the refused activity to the competent body",
        "value": {
            "agency": "housing",
            "reason": "Вопрос жилья в компетенции отдела жилищных отношений.",
        },
    }
}

CLOSE = {
    "not-needed": {
        "summary": "Close the refused activity with a reason; the plan can then complete",
        "value": {"reason": "Семья получила жильё по другой программе, мероприятие не требуется."},
    }
}

REPORT = {
    "received": {"summary": "The body has the task", "value": {"status": "received"}},
    "in-progress": {
        "summary": "Work has started",
        "value": {"status": "in_progress", "comment": "Дети записаны на обследование."},
    },
    "done": {
        "summary": "The activity is fulfilled; the centre reviews it",
        "value": {
            "status": "done",
            "comment": "Обследование проведено, заключение выдано на руки.",
            "message_id": "0192f1e6-7a3c-7d2e-9a41-2b6f0c1d5e77",
        },
    },
    "rejected": {
        "summary": "Not the body's competence; a reason is required",
        "value": {"status": "rejected", "reason": "Мероприятие не относится к компетенции органа."},
    },
}

CENTRE = {
    "bostandyk": {
        "summary": "A district's family support centre",
        "value": {
            "code": "almaty-bostandyk",
            "name_ru": "Центр поддержки семьи Бостандыкского района г. Алматы",
            "name_kk": "Алматы қ. Бостандық ауданының отбасыны қолдау орталығы",
        },
    },
}

CLIENT = {
    "centre": {
        "summary": "A family support centre's system",
        "value": {
            "name": "ЦПС Бостандыкского района",
            "kind": "centre",
            "scope": "almaty-bostandyk",
        },
    },
    "agency": {
        "summary": "A state body's system",
        "value": {
            "name": "Управление здравоохранения г. Алматы",
            "kind": "agency",
            "scope": "health",
        },
    },
}
