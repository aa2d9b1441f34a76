"""The e-government flows' pure rules: the form of order 109, the register of public
services (the gateway's copy agrees with the portal's), the referral's standard, the
proactive check's arithmetic, and the flows' files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from gateway.domain.e_application_form import check_form, refusal_text
from gateway.domain.employment_referral import Facts, load_standard, refusal_rule
from gateway.domain.flow import load_flow
from gateway.domain.public_services import load_register
from gateway.domain.targeted_assistance import assess, load_config, period

LEB = "Управление координации занятости и социальных программ"


def _form(**changes: object) -> dict[str, object]:
    form: dict[str, object] = {
        "iin": "880127375410",
        "surname": "Ахметов",
        "name": "Серик",
        "email": "a@example.kz",
        "postal_address": "Караганда, пр. Бухар жырау, 1",
        "phone": "8 701 123 45 67",
        "service_name": "Назначение государственной адресной социальной помощи",
        "region": "Карагандинская область",
        "recipient": f"{LEB} — Карагандинская область",
        "content": "Прошу назначить АСП",
        "attachments": [{"name": "Справка", "pages": 2}],
        "signature": "ЭЦП",
    }
    form.update(changes)
    return form


def test_a_complete_form_routes_to_the_offices_of_its_region() -> None:
    problems, routing = check_form(_form(), load_register())
    assert problems == []
    assert routing is not None
    assert (routing.regional_office, routing.district_office) == (
        "uzsp_karaganda",
        "ozsp_karaganda",
    )


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"iin": "880127375411"}, {"iin"}),
        ({"email": "", "phone": "12345"}, {"email", "phone"}),
        ({"service_name": "Нет такой услуги"}, {"service_name"}),
        ({"recipient": "Кто-то другой"}, {"recipient"}),
        ({"region": "Марс"}, {"region"}),
        (
            {"attachments": [{"name": "", "pages": 0}]},
            {"attachments[0].name", "attachments[0].pages"},
        ),
        ({"signature": None}, {"signature"}),
    ],
)
def test_every_bad_field_is_named(changes: dict[str, object], fields: set[str]) -> None:
    problems, _ = check_form(_form(**changes), load_register())
    assert {field for field, _ in problems} == fields
    assert "Заявление не принято" in refusal_text(problems)


def test_the_gateways_register_agrees_with_the_portals() -> None:
    path = Path(__file__).resolve().parents[2] / "mocks" / "egov" / "register.json"
    portal = json.loads(path.read_text(encoding="utf-8"))
    ours = load_register()
    assert {s["code"]: s["name"] for s in portal["services"]} == {
        s.code: s.name for s in ours.services
    }
    assert set(portal["regions"]) == set(ours.regions)
    assert portal["recipient_kinds"] == ours.recipient_kinds


def test_the_referral_rules_in_the_standards_order() -> None:
    standard = load_standard()
    assert [k.code for k in standard.kinds] == [
        "employment", "public_works", "vocational_training",
        "social_jobs", "youth_practice", "career_guidance",
    ]  # fmt: skip
    assert [p.minutes for p in standard.procedure] == [30, 5, 5, 15, 5, 30]
    kandas = Facts(unemployed=True, unemployed_source="", kandas=True, kandas_source="")
    rule = refusal_rule(kandas, on_portal=True)
    assert rule is not None and rule.code == "no_kandas_on_portal"
    assert refusal_rule(kandas, on_portal=False) is None  # in person the rule does not apply
    idle = Facts(unemployed=False, unemployed_source="", kandas=False, kandas_source="")
    assert refusal_rule(idle, on_portal=True).code == "registered_unemployed"  # type: ignore[union-attr]
    assert standard.kind_in("Прошу направление на молодежную практику").code == "youth_practice"  # type: ignore[union-attr]


def test_the_proactive_arithmetic_and_a_missing_fact() -> None:
    assert period(date(2026, 10, 9), 3) == ("2026-07", "2026-09")
    assert period(date(2026, 1, 15), 3) == ("2025-10", "2025-12")
    config = load_config()
    members = ["a", "b", "c"]
    empty: dict[str, Any] = {"items": []}
    facts: dict[str, dict[str, Any]] = {
        fact: {iin: empty for iin in members}
        for fact in ("registration", "real_estate", "vehicles", "household_plot", "alimony")
    }
    facts["pension_contributions"] = {
        "a": {"items": [{"income": 90_000}] * 3},
        "b": empty,
        "c": empty,
    }
    facts["alimony"]["b"] = {"items": [{"monthly_amount": 30_000}]}
    result = assess(facts, members, config)
    assert result["per_capita_income"] == (270_000 + 90_000) // 3 // 3 == 40_000
    assert result["eligible_by_income"] is (40_000 < config.threshold.poverty_line)
    facts["vehicles"]["c"] = {"failed": "ShepUnavailable: timeout"}
    missing = assess(facts, members, config)
    assert missing["concluded"] is False and "per_capita_income" not in missing
    assert missing["missing"] == [
        {"fact": "vehicles", "subject": "c", "source": "ИС МВД (транспортные средства)",
         "reason": "ShepUnavailable: timeout"}
    ]  # fmt: skip


def test_the_flows_load_and_name_their_terms() -> None:
    e_app = load_flow("e_application")
    assert [(s.id, e_app.clock(s.term).working_days) for s in e_app.steps] == [
        ("forward", 2),
        ("check", 2),
    ]
    referral = load_flow("employment_referral")
    assert {c.name: c.working_days for c in referral.clocks} == {
        "portal_service": 1, "complaint": 5, "quality_complaint": 15,
    }  # fmt: skip
    assert load_flow("proactive_assistance").first_step == "review"
