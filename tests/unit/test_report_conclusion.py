"""The conclusion's rules: who is called out, with which numbers, at which thresholds."""

from __future__ import annotations

from datetime import date, datetime

from contracts.clock import ALMATY
from gateway.reports import conclusion as rules
from gateway.reports.family_card import (
    Direction,
    FamilyCardReading,
    NoDataReason,
    StatusChange,
)
from gateway.reports.quarterly import AgencyFigures, FamilyStatus

CARD = FamilyCardReading(
    url="http://card.test", fetched_at=datetime(2026, 10, 2, 9, 30, tzinfo=ALMATY)
)


def figures(**kw: object) -> AgencyFigures:
    base: dict[str, object] = dict(agency="housing", name="Жилищные отношения", received=10)
    base.update(kw)
    return AgencyFigures(**base)  # type: ignore[arg-type]


def test_clean_work_is_effective() -> None:
    finding = rules.assess_agency(figures(delivered=10, delivered_on_time=10, reported=10))
    assert finding.rating == rules.RATING_EFFECTIVE
    assert finding.shortcomings == () and finding.proposals == ()


def test_no_tasks_is_no_data_not_effective() -> None:
    finding = rules.assess_agency(figures(received=0))
    assert finding.rating == rules.RATING_NO_DATA


def test_routing_and_returns_quote_the_numbers() -> None:
    finding = rules.assess_agency(
        figures(delivered=10, delivered_on_time=7, breached_routing=3, reported=8, returned=4)
    )
    assert finding.rating == rules.RATING_WEAK
    routing, returns = finding.shortcomings
    assert routing.startswith("по 3 из 10 поручений нарушен срок маршрутизации")
    assert "доставлены с опозданием — 3" in routing
    assert returns.startswith("возвратов на доработку — 4")
    assert len(finding.proposals) == 2


def test_thresholds_are_inclusive_and_named() -> None:
    just = int(rules.ROUTING_BREACH_SHARE * 10)
    assert rules.assess_agency(figures(breached_routing=just)).shortcomings
    below = figures(received=11, breached_routing=1)  # 9 % < 10 %
    assert not rules.assess_agency(below).shortcomings
    returns_below = figures(reported=5, returned=1)  # 20 % < 25 %
    assert not rules.assess_agency(returns_below).shortcomings
    returns_at = figures(reported=4, returned=1)
    assert rules.assess_agency(returns_at).rating == rules.RATING_MOSTLY


def test_rejections_failures_due_dates_and_slowness() -> None:
    finding = rules.assess_agency(
        figures(
            rejected=1,
            failed=2,
            breached_due_date=2,
            median_days_to_accept=rules.SLOW_MEDIAN_WORKING_DAYS + 2.5,
        )
    )
    text = " | ".join(finding.shortcomings)
    assert "по 2 из 10 поручений нарушен срок исполнения, установленный ИПР" in text
    assert "по 1 из 10 поручений орган отказал" in text
    assert "по 2 из 10 поручений доставка не удалась" in text
    assert "12,5 рабочего дня" in text
    assert len(finding.shortcomings) == 4 and finding.rating == rules.RATING_WEAK


def test_centre_is_called_out_for_its_own_review_term() -> None:
    report = rules.conclude(
        [figures(breached_review=2), figures(agency="health", name="Здр.")], [], card=CARD
    )
    centre = report.findings[-1]
    assert centre.agency is None and "п. 11): 2" in centre.shortcomings[0]
    # the body itself is not blamed for the centre's review
    assert report.findings[0].rating == rules.RATING_EFFECTIVE


def test_families_summary_counts_directions() -> None:
    up = StatusChange(date(2026, 7, 1), "малообеспеченная", "вышла из ТЖС", Direction.improved)
    down = StatusChange(date(2026, 8, 1), "вышла из ТЖС", "в ТЖС", Direction.worsened)
    families = [FamilyStatus("p1", None, (up, down)), FamilyStatus("p2", None, ())]
    text = rules.summarise_families(families, CARD)
    assert "Из 2 семей под наблюдением у 1" in text
    assert "улучшение — 1, ухудшение — 1, положение не изменилось — 0" in text
    assert "Цифровая карта семьи (ЦКС), http://card.test, получены 02.10.2026 09:30" in text
    assert "не зафиксировано (семей под наблюдением: 1;" in rules.summarise_families(
        [FamilyStatus("p", None, ())], CARD
    )


def test_families_summary_without_card_data_says_so_and_counts_nothing() -> None:
    down = FamilyCardReading.without_data(NoDataReason.unavailable, url="http://card.test")
    text = rules.summarise_families([FamilyStatus("p1", None, ())], down)
    assert text.startswith("Нет данных из Цифровой карты семьи (ЦКС недоступна")
    assert "не учтены (семей под наблюдением: 1)" in text
    assert "не зафиксировано" not in text and "улучшение" not in text


def test_rendered_text_numbers_the_findings() -> None:
    text = rules.conclude(
        [figures(breached_routing=3), figures(agency="x", name="Икс")], [], card=CARD
    ).text
    assert "1. Жилищные отношения — работа в целом эффективна, есть недостатки." in text
    assert "2. Икс — работа эффективна." in text
    assert "Недостатков не выявлено." in text


def test_russian_numbers() -> None:
    assert [rules.plural(n, "день", "дня", "дней") for n in (1, 2, 5, 11, 21, 22, 112)] == [
        "день",
        "дня",
        "дней",
        "дней",
        "день",
        "дня",
        "дней",
    ]
    assert rules.of_tasks(1) == "поручения" and rules.of_tasks(11) == "поручений"
    assert rules.number_ru(3.0) == "3" and rules.number_ru(2.5) == "2,5"
