"""The written conclusion of the quarterly monitoring (order 192 p.14), made by rules.

Order 192 asks for a conclusion on how effective each body's work was, with shortcomings
and proposals. Writing it by rules from the figures keeps it reproducible and lets a
reviewer see exactly why a body was called out: each shortcoming quotes the numbers behind
it, and every threshold is a named constant below rather than an opinion in the code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from contracts.clock import to_almaty
from gateway.reports.family_card import Direction, FamilyCardReading
from gateway.reports.figures import AgencyFigures, FamilyStatus

#: Share of the centre's received tasks with a breached routing term (the centre's duty,
#: p.9) that makes it a shortcoming of the centre.
ROUTING_BREACH_SHARE = 0.10
#: Share of received tasks not done by the body's own term in the plan.
DUE_DATE_BREACH_SHARE = 0.10
#: Returns for rework per task reported as done.
RETURN_SHARE = 0.25
#: Tasks the body rejected as outside its competence, from which it is worth a word.
REJECTED_MIN = 1
#: Tasks whose delivery failed (the body's system did not take the messages).
FAILED_MIN = 1
#: Median working days from delivery to acceptance above which the work is slow.
SLOW_MEDIAN_WORKING_DAYS = 10.0
#: Review terms the centre itself missed, from which the centre is called out.
REVIEW_BREACH_MIN = 1

RATING_NO_DATA = "поручений в квартале не поступало"
RATING_EFFECTIVE = "работа эффективна"
RATING_MOSTLY = "работа в целом эффективна, есть недостатки"
RATING_WEAK = "работа недостаточно эффективна"


@dataclass(frozen=True)
class Finding:
    """What the conclusion says about one body (or, with agency None, the centre itself)."""

    agency: str | None
    name: str
    rating: str
    shortcomings: tuple[str, ...]
    proposals: tuple[str, ...]


@dataclass(frozen=True)
class Conclusion:
    findings: tuple[Finding, ...]
    families: str

    @property
    def text(self) -> str:
        return render_conclusion(self)


def plural(n: int, one: str, few: str, many: str) -> str:
    """Russian agreement of a noun with a number: 1 поручение, 2 поручения, 5 поручений."""
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def of_tasks(n: int) -> str:
    """'из N поручений': after 'из' the noun is genitive, singular only for 1, 21, 31…"""
    return "поручения" if n % 10 == 1 and n % 100 != 11 else "поручений"


def number_ru(value: float) -> str:
    """2 → '2', 2.5 → '2,5': the decimal comma readers of a Russian report expect."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}".replace(".", ",")


def working_days(value: float) -> str:
    """A fractional number takes the genitive singular: 2,5 рабочего дня."""
    if not float(value).is_integer():
        return "рабочего дня"
    return plural(int(value), "рабочий день", "рабочих дня", "рабочих дней")


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def assess_agency(f: AgencyFigures) -> Finding:
    if f.received == 0:
        return Finding(f.agency, f.name, RATING_NO_DATA, (), ())
    shortcomings: list[str] = []
    proposals: list[str] = []
    if f.breached_due_date and _share(f.breached_due_date, f.received) >= DUE_DATE_BREACH_SHARE:
        shortcomings.append(
            f"по {f.breached_due_date} из {f.received} {of_tasks(f.received)} нарушен срок "
            "исполнения, установленный ИПР"
        )
        proposals.append("запросить у органа план устранения просрочек исполнения мероприятий")
    if f.returned and _share(f.returned, max(f.reported, 1)) >= RETURN_SHARE:
        shortcomings.append(
            f"возвратов на доработку — {f.returned} (отчитались по {f.reported} из "
            f"{f.received} {of_tasks(f.received)}, с первого раза принято "
            f"{f.accepted_first_time})"
        )
        proposals.append(
            "провести с органом разъяснительную работу о требованиях к отчёту об исполнении"
        )
    if f.rejected >= REJECTED_MIN:
        shortcomings.append(
            f"по {f.rejected} из {f.received} {of_tasks(f.received)} орган отказал как не "
            "относящимся к его компетенции"
        )
        proposals.append("уточнить распределение мероприятий ИПР между органами")
    if f.failed >= FAILED_MIN:
        shortcomings.append(
            f"по {f.failed} из {f.received} {of_tasks(f.received)} доставка не удалась: "
            "система органа не принимала сообщения"
        )
        proposals.append("восстановить приём сообщений системой органа и повторить отправку")
    median = f.median_days_to_accept
    if median is not None and median > SLOW_MEDIAN_WORKING_DAYS:
        shortcomings.append(
            f"медиана от доставки до принятия отчёта — {number_ru(median)} {working_days(median)} "
            f"(порог {number_ru(SLOW_MEDIAN_WORKING_DAYS)})"
        )
        proposals.append("согласовать с органом промежуточные сроки по мероприятиям ИПР")
    if not shortcomings:
        rating = RATING_EFFECTIVE
    elif len(shortcomings) == 1:
        rating = RATING_MOSTLY
    else:
        rating = RATING_WEAK
    return Finding(f.agency, f.name, rating, tuple(shortcomings), tuple(proposals))


CENTRE_NAME = "Центр поддержки семьи"


def assess_centre(figures: Sequence[AgencyFigures]) -> Finding | None:
    """The centre's own terms: sending the plan to each body within two working days (p.9)
    and checking each report or refusal within two (p.11). Their breaches are the centre's
    shortcomings, never a body's, whichever body's task they concern."""
    total = _sum(figures)
    shortcomings: list[str] = []
    proposals: list[str] = []
    routing = total.breached_routing
    if routing and _share(routing, total.received) >= ROUTING_BREACH_SHARE:
        by_body = ", ".join(
            f"{f.name} — {f.breached_routing}" for f in figures if f.breached_routing
        )
        text = (
            f"по {routing} из {total.received} {of_tasks(total.received)} нарушен срок "
            f"направления ИПР органу (два рабочих дня, п. 9): {by_body}"
        )
        if total.delivered_late:
            text += f"; доставлены с опозданием — {total.delivered_late}"
        shortcomings.append(text)
        proposals.append(
            "направлять мероприятия органам не позднее двух рабочих дней после утверждения "
            "ИПР и при сбое доставки сразу перенаправлять мероприятие или связываться с органом"
        )
    if total.breached_review >= REVIEW_BREACH_MIN:
        shortcomings.append(
            "отчётов и отказов органов, рассмотренных с нарушением срока проверки (два "
            f"рабочих дня, п. 11): {total.breached_review}"
        )
        proposals.append("перераспределить проверку отчётов между специалистами центра")
    if not shortcomings:
        return None
    rating = RATING_MOSTLY if len(shortcomings) == 1 else RATING_WEAK
    return Finding(None, CENTRE_NAME, rating, tuple(shortcomings), tuple(proposals))


def summarise_families(families: Sequence[FamilyStatus], card: FamilyCardReading) -> str:
    """The families' paragraph, naming the card and when it was read; with no data from
    the card it says so instead of "no changes", which would be a claim about families."""
    if not card.available:
        return (
            f"{card.no_data_ru}: изменения социального статуса семей не учтены "
            f"(семей под наблюдением: {len(families)})."
        )
    source = f"по данным: {card.source_ru}"
    if card.fetched_at is not None:
        source += f", получены {to_almaty(card.fetched_at):%d.%m.%Y %H:%M}"
    changed = [f for f in families if f.changes]
    if not changed:
        return (
            "Изменений социального статуса семей в Цифровой карте семьи за квартал не "
            f"зафиксировано (семей под наблюдением: {len(families)}; {source})."
        )
    counts = dict.fromkeys(Direction, 0)
    for family in changed:
        for change in family.changes:
            counts[change.direction] += 1
    return (
        f"Из {len(families)} {plural(len(families), 'семьи', 'семей', 'семей')} под "
        f"наблюдением у {len(changed)} в Цифровой карте семьи изменился социальный статус: "
        f"улучшение — {counts[Direction.improved]}, ухудшение — {counts[Direction.worsened]}, "
        f"положение не изменилось — {counts[Direction.unchanged]} ({source})."
    )


def conclude(
    figures: Sequence[AgencyFigures],
    families: Sequence[FamilyStatus],
    *,
    card: FamilyCardReading,
) -> Conclusion:
    findings = [assess_agency(f) for f in figures]
    centre = assess_centre(figures)
    if centre is not None:
        findings.append(centre)
    return Conclusion(tuple(findings), summarise_families(families, card))


def _sum(figures: Sequence[AgencyFigures]) -> AgencyFigures:
    return AgencyFigures(
        agency="",
        name="Итого",
        received=sum(f.received for f in figures),
        delivered=sum(f.delivered for f in figures),
        delivered_on_time=sum(f.delivered_on_time for f in figures),
        breached_routing=sum(f.breached_routing for f in figures),
        breached_review=sum(f.breached_review for f in figures),
    )


def render_conclusion(conclusion: Conclusion) -> str:
    lines = ["Заключение по итогам мониторинга", ""]
    for index, finding in enumerate(conclusion.findings, start=1):
        lines.append(f"{index}. {finding.name} — {finding.rating}.")
        if finding.shortcomings:
            lines.append("   Недостатки: " + "; ".join(finding.shortcomings) + ".")
            lines.append("   Предложения: " + "; ".join(dict.fromkeys(finding.proposals)) + ".")
        elif finding.rating != RATING_NO_DATA:
            lines.append("   Недостатков не выявлено.")
    lines += ["", "Социальный статус семей: " + conclusion.families]
    return "\n".join(lines)
