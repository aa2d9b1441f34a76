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


def test_routing_breaches_are_the_centres_not_the_bodys() -> None:
    """Sending within two working days is the centre's duty (p.9): the body whose task was
    late is not blamed, the centre is, with the numbers per body."""
    housing = figures(delivered=10, delivered_on_time=7, breached_routing=3, reported=8, returned=4)
    health = figures(agency="health", name="Здравоохранение", received=10, breached_routing=1)
    report = rules.conclude([housing, health], [], card=CARD)
    body, other, centre = report.findings
    assert body.rating == rules.RATING_MOSTLY  # the returns only
    (returns,) = body.shortcomings
    assert returns.startswith("возвратов на доработку — 4")
    assert not any("направлен" in s or "маршрутизац" in s for s in body.shortcomings)
    assert other.rating == rules.RATING_EFFECTIVE
    assert centre.agency is None and centre.name == rules.CENTRE_NAME
    (routing,) = centre.shortcomings
    assert routing.startswith("по 4 из 20 поручений нарушен срок направления ИПР органу")
    assert "Жилищные отношения — 3, Здравоохранение — 1" in routing
    assert "доставлены с опозданием — 3" in routing
    assert centre.rating == rules.RATING_MOSTLY and len(centre.proposals) == 1


def test_thresholds_are_inclusive_and_named() -> None:
    just = int(rules.ROUTING_BREACH_SHARE * 10)
    assert rules.assess_centre([figures(breached_routing=just)]) is not None
    below = figures(received=11, breached_routing=1)  # 9 % < 10 %
    assert rules.assess_centre([below]) is None
    assert not rules.assess_agency(figures(breached_routing=just)).shortcomings
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
    both = rules.assess_centre([figures(breached_review=1, breached_routing=5)])
    assert both is not None and len(both.shortcomings) == 2
    assert both.rating == rules.RATING_WEAK
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
        [figures(returned=3, reported=5), figures(agency="x", name="Икс", breached_routing=3)],
        [],
        card=CARD,
    ).text
    assert "1. Жилищные отношения — работа в целом эффективна, есть недостатки." in text
    assert "2. Икс — работа эффективна." in text
    assert "3. Центр поддержки семьи — работа в целом эффективна, есть недостатки." in text
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
