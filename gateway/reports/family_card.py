"""The digital family card (ЦКС) as the quarterly monitoring reads it.

Order 192 p.13 asks the centre to take the changes of its families' social status in the
digital family card into account. The card is another organisation's system: the report
reads it through `adapters.family_card` (a `FamilyCardSource`), and what it read is a
`FamilyCardReading` that always says where the figures came from and when they were
fetched, or, when there are none, why not. A card that is not configured, down, slow,
cooling down behind its breaker or answering nonsense gives a reading with a reason and
no changes: the report then says "no data", never "no changes", and invents nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from adapters.family_card import (
    BreakerBoard,
    FamilyCardClient,
    FamilyCardMalformed,
    HttpSettings,
    UpstreamCircuitOpen,
    UpstreamError,
    UpstreamRejected,
    UpstreamUnavailable,
)
from contracts.clock import Clock
from contracts.family_card import Direction, StatusChangeFeed, StatusFact
from contracts.iin import InvalidIIN, check_iin

__all__ = [
    "CARD_NAME_EN",
    "CARD_NAME_RU",
    "DIRECTION_RU",
    "FACT_RU",
    "BreakerBoard",
    "Direction",
    "FamilyCardReading",
    "FamilyCardSource",
    "NoDataReason",
    "StatusChange",
    "card_client",
    "read_family_card",
]

log = logging.getLogger("gateway.reports.family_card")

CARD_NAME_RU = "Цифровая карта семьи (ЦКС)"
CARD_NAME_EN = "digital family card (ЦКС)"

#: A report page should not wait long for the card: a few seconds per attempt, and at
#: most this long over all attempts and back-off.
CARD_DEADLINE_SECONDS = 8.0
CARD_READ_TIMEOUT_SECONDS = 4.0

DIRECTION_RU = {
    Direction.improved: "улучшение",
    Direction.worsened: "ухудшение",
    Direction.unchanged: "положение не изменилось",
}

FACT_RU = {
    StatusFact.difficult_situation: "трудная жизненная ситуация",
    StatusFact.low_income: "малообеспеченность",
    StatusFact.targeted_assistance: "адресная социальная помощь",
    StatusFact.employment: "занятость",
    StatusFact.housing: "жильё",
    StatusFact.composition: "состав семьи",
}


class FamilyCardSource(Protocol):
    """What the report needs from the card; `adapters.family_card.FamilyCardClient` is one."""

    @property
    def base_url(self) -> str: ...

    async def status_changes(
        self, iins: Sequence[str], period_from: date, period_to: date
    ) -> StatusChangeFeed:
        """Changes of the families of ``iins`` effective between the two days inclusive."""
        ...


class NoDataReason(StrEnum):
    not_configured = "not_configured"
    no_families = "no_families"
    unavailable = "unavailable"
    circuit_open = "circuit_open"
    malformed = "malformed"
    refused = "refused"
    error = "error"


#: Why there is no data, in the report's languages: Russian for staff, English for the
#: exports' second line (the page's Kazakh words are in `gateway/web/i18n.py`).
REASON_RU = {
    NoDataReason.not_configured: "подключение к ЦКС не настроено",
    NoDataReason.no_families: "семей под наблюдением нет, ЦКС не запрашивалась",
    NoDataReason.unavailable: "ЦКС недоступна или не ответила вовремя",
    NoDataReason.circuit_open: (
        "ЦКС несколько раз подряд не ответила, запросы к ней временно приостановлены"
    ),
    NoDataReason.malformed: "ЦКС прислала ответ не по формату",
    NoDataReason.refused: "ЦКС отклонила запрос",
    NoDataReason.error: "ЦКС ответила ошибкой",
}
REASON_EN = {
    NoDataReason.not_configured: "no connection to the card is configured",
    NoDataReason.no_families: "no families are monitored, the card was not asked",
    NoDataReason.unavailable: "the card is unreachable or did not answer in time",
    NoDataReason.circuit_open: "the card failed repeatedly and calls to it are paused",
    NoDataReason.malformed: "the card's answer does not fit the contract",
    NoDataReason.refused: "the card refused the request",
    NoDataReason.error: "the card answered with an error",
}


@dataclass(frozen=True)
class StatusChange:
    """One change of a family's social status, as the report shows it."""

    on: date
    from_status: str
    to_status: str
    direction: Direction
    fact: StatusFact | None = None
    recorded_at: datetime | None = None
    """When the card recorded it (it learns of facts a few days after they happen)."""
    reported_by: str = ""

    @property
    def text_ru(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status}"


@dataclass(frozen=True)
class FamilyCardReading:
    """What the card told the report, with where and when; or why it told nothing."""

    url: str | None
    fetched_at: datetime | None
    """The gateway's clock when the answer arrived; None if nothing was fetched."""
    as_of: datetime | None = None
    """The card's own clock in its answer: changes it recorded later are not included."""
    changes: Mapping[str, tuple[StatusChange, ...]] = field(default_factory=dict)
    """By plan id; a plan with no changes is absent."""
    unknown: tuple[str, ...] = ()
    """Plan ids whose members the card has no family for."""
    no_data: NoDataReason | None = None
    detail: str = ""
    """The technical cause in English (the adapter's message), for the operator."""

    @property
    def available(self) -> bool:
        return self.no_data is None

    @property
    def source_ru(self) -> str:
        return f"{CARD_NAME_RU}, {self.url}" if self.url else CARD_NAME_RU

    @property
    def no_data_ru(self) -> str:
        assert self.no_data is not None
        return f"Нет данных из Цифровой карты семьи ({REASON_RU[self.no_data]})"

    @property
    def no_data_en(self) -> str:
        assert self.no_data is not None
        text = f"No data from the {CARD_NAME_EN}: {REASON_EN[self.no_data]}"
        return f"{text} ({self.detail})" if self.detail else text

    @classmethod
    def without_data(
        cls, reason: NoDataReason, *, url: str | None = None, detail: str = ""
    ) -> FamilyCardReading:
        return cls(url=url, fetched_at=None, no_data=reason, detail=detail)


def card_client(url: str | None, breakers: BreakerBoard | None = None) -> FamilyCardClient | None:
    """A client of the card at ``url`` (None when no card is configured).

    Pass one ``breakers`` board for every client of a process, so the breaker remembers
    failures across reports even when each report opens its own short-lived client.
    """
    if not url:
        return None
    settings = HttpSettings(
        base_url=url,
        read_timeout=CARD_READ_TIMEOUT_SECONDS,
        deadline=CARD_DEADLINE_SECONDS,
    )
    return FamilyCardClient(settings, breakers=breakers)


def _reason(error: UpstreamError) -> NoDataReason:
    if isinstance(error, UpstreamCircuitOpen):
        return NoDataReason.circuit_open
    if isinstance(error, UpstreamUnavailable):
        return NoDataReason.unavailable
    if isinstance(error, FamilyCardMalformed):
        return NoDataReason.malformed
    if isinstance(error, UpstreamRejected):
        return NoDataReason.refused
    return NoDataReason.error


def _valid(iins: Sequence[str]) -> list[str]:
    """IINs worth sending: a malformed one (never accepted by the API, but a store can
    hold anything) would make the card refuse the whole query."""
    good: list[str] = []
    for iin in iins:
        try:
            good.append(check_iin(iin))
        except InvalidIIN:
            continue
    return good


async def read_family_card(
    source: FamilyCardSource | None,
    families: Mapping[str, Sequence[str]],
    first_day: date,
    last_day: date,
    clock: Clock,
) -> FamilyCardReading:
    """Ask the card once about every family (plan id -> members' IINs) for the days.

    A plan gets the changes of every card family one of its members belongs to; a
    plan none of whose members the card knows is listed in ``unknown``.
    """
    if source is None:
        return FamilyCardReading.without_data(NoDataReason.not_configured)
    url = source.base_url
    iins = list(dict.fromkeys(i for members in families.values() for i in _valid(members)))
    if not iins:
        return FamilyCardReading.without_data(NoDataReason.no_families, url=url)
    try:
        feed = await source.status_changes(iins, first_day, last_day)
    except UpstreamError as error:
        reason = _reason(error)
        log.warning("family card at %s gave no data (%s): %s", url, reason.value, error)
        return FamilyCardReading.without_data(reason, url=url, detail=str(error))
    fetched_at = clock.now()
    by_iin: dict[str, list[str]] = {}
    for card_family in feed.families:
        for iin in card_family.iins:
            by_iin.setdefault(iin, []).append(card_family.family_id)
    card_changes = {
        f.family_id: [
            StatusChange(
                on=c.effective_on,
                from_status=c.from_status or "",
                to_status=c.to_status,
                direction=c.direction,
                fact=c.fact,
                recorded_at=c.recorded_at,
                reported_by=c.reported_by,
            )
            for c in f.changes
            if first_day <= c.effective_on <= last_day
        ]
        for f in feed.families
    }
    changes: dict[str, tuple[StatusChange, ...]] = {}
    unknown: list[str] = []
    for plan_id, members in families.items():
        card_ids = list(dict.fromkeys(fid for iin in members for fid in by_iin.get(iin, ())))
        if not card_ids:
            unknown.append(plan_id)
            continue
        found = [c for fid in card_ids for c in card_changes.get(fid, [])]
        if found:
            changes[plan_id] = tuple(
                sorted(found, key=lambda c: (c.on, c.recorded_at or fetched_at))
            )
    return FamilyCardReading(
        url=url,
        fetched_at=fetched_at,
        as_of=feed.as_of,
        changes=changes,
        unknown=tuple(unknown),
    )
