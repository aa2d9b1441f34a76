"""Incidents as staff read them: their language, the real delivery count."""

from __future__ import annotations

from gateway.broker.dead_letters import describe_death
from gateway.incident_text import delivery_count, incident_text

DEATH = {"x-death": [{"count": 1, "reason": "delivery_limit", "queue": "gw.agency.health"}]}


def test_the_count_is_deliveries_not_dead_letterings() -> None:
    queue, error = describe_death(DEATH, delivery_limit=5)
    assert queue == "gw.agency.health" and error == "delivery_limit after 6 deliveries"
    assert delivery_count(error) == 6


def test_russian_and_kazakh_with_the_count() -> None:
    ru = incident_text("delivery_limit after 6 deliveries", "ru")
    kk = incident_text("delivery_limit after 6 deliveries", "kk")
    assert ru.startswith("Система органа не приняла сообщение: доставок — 6")
    assert "жеткізу саны — 6" in kk
    assert "delivery" not in ru and "delivery" not in kk


def test_older_records_do_not_show_the_wrong_number() -> None:
    old = "delivery_limit after 1 delivery attempt(s)"
    assert incident_text(old, "ru") == (
        "Система органа не приняла сообщение после нескольких попыток доставки; сообщение отложено."
    )
    assert "1" not in incident_text(old, "kk")


def test_anything_else_is_kept_after_a_sentence_in_the_language() -> None:
    text = incident_text("unparseable: Expecting value", "ru")
    assert text == "Сообщение отложено; причина в записи брокера: unparseable: Expecting value"
    _, error = describe_death({"x-death": [{"count": 2, "reason": "rejected", "queue": "q"}]})
    assert error == "rejected (dead-lettered 2 time(s))"
