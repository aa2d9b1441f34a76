"""Every word of the workspace exists in both languages, and every key the pages use."""

from __future__ import annotations

import re
from pathlib import Path

from contracts.messages import MessageType
from contracts.plans import DeadlineKind, DeadlineState, MemberRole, PlanStatus, TaskState
from gateway.services.staff import StaffRole
from gateway.web import i18n
from gateway.web.routes import FLASHES

TEMPLATES = Path(i18n.__file__).parent / "templates"


def test_every_russian_key_has_kazakh_and_back() -> None:
    assert set(i18n.RU) - set(i18n.KK) == set()
    assert set(i18n.KK) - set(i18n.RU) == set()


def test_no_text_is_empty_or_left_untranslated() -> None:
    same = {"login_field", "actor_gateway", "nav_report"}  # «Логин», «Шлюз», «Мониторинг»
    for key, ru in i18n.RU.items():
        kk = i18n.KK[key]
        assert ru.strip() and kk.strip(), key
        if key not in same:
            assert ru != kk, f"{key} is not translated"
        # Placeholders must match, or one language would fail to format.
        assert set(re.findall(r"{(\w+)}", ru)) == set(re.findall(r"{(\w+)}", kk)), key


def test_kazakh_text_uses_kazakh_letters() -> None:
    kazakh_letters = set("әғқңөұүі")
    body = " ".join(i18n.KK.values()).lower()
    assert kazakh_letters <= set(body)


def test_every_key_the_templates_name_exists() -> None:
    used: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"t\('([a-z_.]+)'[,)]", path.read_text()))
    assert used, "templates name no keys?"
    assert used - set(i18n.RU) == set()


def test_every_computed_key_exists() -> None:
    computed = (
        [f"state_{s.value}" for s in TaskState]
        + [f"plan_status_{s.value}" for s in PlanStatus]
        + [f"deadline_{k.value}" for k in DeadlineKind]
        + [f"deadline_{s.value}" for s in DeadlineState]
        + [f"member_role_{r.value}" for r in MemberRole]
        + [f"role_{r.value}" for r in StaffRole]
        + [f"message_{m.value}" for m in MessageType]
        + [f"msg_{f}" for f in FLASHES]
        + [f"error_{s}" for s in (400, 403, 404, 409, 422)]
    )
    for key in computed:
        assert key in i18n.RU and key in i18n.KK, key


def test_unknown_language_falls_back_to_russian() -> None:
    assert i18n.language("en") == "ru"
    assert i18n.translate("xx", "nav_plans") == "Планы"
    assert i18n.translate("kk", "plans_total", n=3) == "Барлық жоспар: 3"
