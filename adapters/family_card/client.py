"""Typed client of the digital family card (ЦКС): the status-change feed, the family lookup.

Every call goes through ``adapters.http_discipline.RestCaller``, like the portal's and
the Kandas system's clients: a connect and read timeout per attempt, retries of
transient failures with jittered back-off inside one deadline, a breaker per endpoint.
Both calls only read, so retrying them is always safe (the ``Idempotency-Key`` the
caller adds to a ``POST`` is harmless here).

A centre's families can carry more IINs than one query takes; ``status_changes`` splits
them into queries of at most ``MAX_QUERY_IINS`` and merges the answers, so the caller
sees one feed. An answer that does not fit the contract raises ``FamilyCardMalformed``
(a contract problem, not a network one); the caller must not guess around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from adapters.http_discipline import HttpSettings, RestCaller, UpstreamError
from contracts.family_card import (
    FAMILY_LOOKUP_PATH,
    MAX_QUERY_IINS,
    STATUS_CHANGES_PATH,
    CardFamily,
    FamilyChanges,
    FamilyLookup,
    StatusChangeFeed,
    StatusChangeQuery,
)
from contracts.family_card.adaptation import (
    ADAPTATION_REPORTS_PATH,
    AdaptationReportIn,
    AdaptationReportRecorded,
)

__all__ = ["SERVICE", "FamilyCardClient", "FamilyCardMalformed"]

SERVICE = "family_card"
STATUS_CHANGES_ENDPOINT = f"POST {STATUS_CHANGES_PATH}"
FAMILY_LOOKUP_ENDPOINT = f"POST {FAMILY_LOOKUP_PATH}"
ADAPTATION_REPORTS_ENDPOINT = f"POST {ADAPTATION_REPORTS_PATH}"

ModelT = TypeVar("ModelT", bound=BaseModel)


class FamilyCardMalformed(UpstreamError):
    """The card answered 2xx with a body that is not the contract's (bad JSON, wrong shape,
    or a feed for another period than asked)."""


class FamilyCardClient:
    """One per process and card: it owns the connection pool and the breakers."""

    def __init__(self, settings: HttpSettings, **caller_options: Any) -> None:
        """``caller_options`` go to ``RestCaller`` (``http``, ``transport``, ``breakers``,
        ``monotonic``, ``sleep``), so tests can inject a transport and a clock, and a
        web app can keep one ``BreakerBoard`` across short-lived clients."""
        self.caller = RestCaller(SERVICE, settings, **caller_options)

    @property
    def base_url(self) -> str:
        return self.caller.settings.base_url

    async def aclose(self) -> None:
        await self.caller.aclose()

    async def __aenter__(self) -> FamilyCardClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def status_changes(
        self, iins: Sequence[str], period_from: date, period_to: date
    ) -> StatusChangeFeed:
        """Changes of the families of ``iins`` effective in the period, as one feed.

        The IINs are checked before anything is sent (``pydantic.ValidationError``
        names the bad one's position); duplicates are dropped, order kept.
        """
        distinct = list(dict.fromkeys(iins))
        if not distinct:
            raise ValueError("iins: at least one IIN to ask about")
        queries = [
            StatusChangeQuery(
                iins=distinct[start : start + MAX_QUERY_IINS],
                period_from=period_from,
                period_to=period_to,
            )
            for start in range(0, len(distinct), MAX_QUERY_IINS)
        ]
        feeds = [await self._query(query) for query in queries]
        return _merge(feeds, period_from, period_to)

    async def family(self, iin: str) -> CardFamily:
        """The family of ``iin`` with each member's relation to that person (order 170
        p.9: close relatives). ``UpstreamNotFound`` if the card has no family for it."""
        body = FamilyLookup(iin=iin)
        response = await self.caller.call(
            "POST",
            FAMILY_LOOKUP_PATH,
            endpoint=FAMILY_LOOKUP_ENDPOINT,
            json=body.model_dump(mode="json"),
        )
        family = _parse(response, CardFamily, FAMILY_LOOKUP_ENDPOINT)
        if family.iin != iin:
            raise FamilyCardMalformed(
                f"{SERVICE}: lookup answered for another person",
                service=SERVICE,
                endpoint=FAMILY_LOOKUP_ENDPOINT,
                status=response.status_code,
            )
        return family

    async def record_adaptation_report(
        self, report: AdaptationReportIn, *, idempotency_key: str | None = None
    ) -> AdaptationReportRecorded:
        """Mirror a kandas work report to the card (order 170 p.37); a retry with the
        same ``idempotency_key`` records it once."""
        response = await self.caller.call(
            "POST",
            ADAPTATION_REPORTS_PATH,
            endpoint=ADAPTATION_REPORTS_ENDPOINT,
            json=report.model_dump(mode="json"),
            idempotency_key=idempotency_key,
        )
        return _parse(response, AdaptationReportRecorded, ADAPTATION_REPORTS_ENDPOINT)

    async def _query(self, query: StatusChangeQuery) -> StatusChangeFeed:
        response = await self.caller.call(
            "POST",
            STATUS_CHANGES_PATH,
            endpoint=STATUS_CHANGES_ENDPOINT,
            json=query.model_dump(mode="json"),
        )
        feed = _parse(response, StatusChangeFeed, STATUS_CHANGES_ENDPOINT)
        if (feed.period_from, feed.period_to) != (query.period_from, query.period_to):
            raise FamilyCardMalformed(
                f"{SERVICE}: feed for {feed.period_from}..{feed.period_to}, asked for "
                f"{query.period_from}..{query.period_to}",
                service=SERVICE,
                endpoint=STATUS_CHANGES_ENDPOINT,
                status=response.status_code,
            )
        asked = set(query.iins)
        answered = [i for f in feed.families for i in f.iins] + list(feed.unknown_iins)
        if not set(answered) <= asked:
            raise FamilyCardMalformed(
                f"{SERVICE}: feed names IINs that were not asked about",
                service=SERVICE,
                endpoint=STATUS_CHANGES_ENDPOINT,
                status=response.status_code,
            )
        return feed


def _parse(response: httpx.Response, model: type[ModelT], endpoint: str) -> ModelT:
    try:
        return RestCaller.parse(response, model, service=SERVICE)
    except UpstreamError as exc:
        raise FamilyCardMalformed(
            str(exc), service=SERVICE, endpoint=endpoint, status=response.status_code
        ) from exc


def _merge(feeds: list[StatusChangeFeed], period_from: date, period_to: date) -> StatusChangeFeed:
    """One feed from the answers to several queries: a family split across two queries
    comes back once, with the IINs of both and each change once."""
    if len(feeds) == 1:
        return feeds[0]
    families: dict[str, FamilyChanges] = {}
    unknown: list[str] = []
    as_of: datetime | None = None
    for feed in feeds:
        as_of = feed.as_of if as_of is None else min(as_of, feed.as_of)
        unknown += feed.unknown_iins
        for family in feed.families:
            seen = families.get(family.family_id)
            if seen is None:
                families[family.family_id] = family
                continue
            changes = {c.id: c for c in (*seen.changes, *family.changes)}
            families[family.family_id] = FamilyChanges(
                family_id=family.family_id,
                iins=list(dict.fromkeys((*seen.iins, *family.iins))),
                changes=sorted(
                    changes.values(), key=lambda c: (c.effective_on, c.recorded_at, c.id)
                ),
            )
    assert as_of is not None
    return StatusChangeFeed(
        period_from=period_from,
        period_to=period_to,
        as_of=as_of,
        families=list(families.values()),
        unknown_iins=unknown,
    )
