"""The wire format of the digital family card (ЦКС, Цифровая карта семьи) as we call it.

The card is an e-government system that gathers what many bodies know about a family
(civil registry acts, social assistance, employment, housing) and keeps the family's
social status over time. Two of its uses concern us:

- order 192 p.13: each quarter a family support centre takes the changes of its
  families' social status into account; that is the *status-change feed*;
- order 170 p.9: the head of a labour mobility centre checks a kandas applicant's close
  relatives (parents, children, spouse); that is the *family lookup*.

This is our own design of that API, written down so that the gateway's adapter and the
mock card agree on one text. Both calls are ``POST`` with the IINs in the body, never in
the address: addresses end up in access logs and proxies' histories, bodies do not.

Times are Almaty-aware timestamps; days are calendar days in Almaty. Status texts are
the card's own Russian wording, for people; ``fact`` and ``direction`` are for machines.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts.common import IIN, Timestamp

__all__ = [
    "FAMILY_LOOKUP_PATH",
    "MAX_PERIOD_DAYS",
    "MAX_QUERY_IINS",
    "STATUS_CHANGES_PATH",
    "CardFamily",
    "CardMember",
    "CurrentStatus",
    "Direction",
    "FamilyChanges",
    "FamilyLookup",
    "Relation",
    "StatusChange",
    "StatusChangeFeed",
    "StatusChangeQuery",
    "StatusFact",
]

STATUS_CHANGES_PATH = "/api/v1/status-changes/query"
FAMILY_LOOKUP_PATH = "/api/v1/families/lookup"

#: IINs one feed query may carry; a caller with more splits them into several queries.
MAX_QUERY_IINS = 500
#: Longest period one feed query may cover: a year, leap day included.
MAX_PERIOD_DAYS = 366


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Direction(StrEnum):
    """How a change reads for the family: out of the difficult situation, or deeper in.

    ``unchanged``: the fact changed but the family's position did not (a benefit
    assigned on an unchanged income, a child born into a family not in need).
    """

    improved = "improved"
    worsened = "worsened"
    unchanged = "unchanged"


class StatusFact(StrEnum):
    """Which fact of the family's record changed."""

    difficult_situation = "difficult_situation"
    """Recognised as being in a difficult life situation (ТЖС), or no longer."""
    low_income = "low_income"
    """Income below the poverty line (малообеспеченность)."""
    employment = "employment"
    """A working-age member found or lost work."""
    housing = "housing"
    targeted_assistance = "targeted_assistance"
    """Targeted social assistance (АСП) assigned or ended."""
    composition = "composition"
    """The family's make-up: a birth, a death, a marriage or divorce, a guardianship,
    an adoption; the civil registry or the court is the card's source."""


class Relation(StrEnum):
    """A member's relation to the person the lookup asked about."""

    self = "self"
    spouse = "spouse"
    parent = "parent"
    child = "child"
    sibling = "sibling"
    grandparent = "grandparent"
    grandchild = "grandchild"
    guardian = "guardian"
    """Appointed guardian or trustee of the person asked about."""
    ward = "ward"
    """A child under the guardianship of the person asked about."""
    other = "other"
    """Lives in the family, no closer relation recorded (a parent-in-law, say)."""


# --- the status-change feed ---------------------------------------------------------------


class StatusChangeQuery(_Wire):
    """Body of ``POST /api/v1/status-changes/query``.

    The card answers with every change of the families these IINs belong to whose
    effective day lies in ``[period_from, period_to]`` and that it has recorded by the
    moment it answers.
    """

    iins: Annotated[list[IIN], Field(min_length=1, max_length=MAX_QUERY_IINS)]
    period_from: date
    period_to: date

    @field_validator("iins")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each IIN once")
        return value

    @model_validator(mode="after")
    def _period(self) -> StatusChangeQuery:
        if self.period_to < self.period_from:
            raise ValueError("period_to is before period_from")
        if (self.period_to - self.period_from).days >= MAX_PERIOD_DAYS:
            raise ValueError(f"the period is longer than {MAX_PERIOD_DAYS} days")
        return self


class StatusChange(_Wire):
    """One change of a family's social status, as the card recorded it."""

    id: Annotated[str, Field(min_length=1, max_length=64)]
    """Stable: the same change has the same id in every answer."""
    family_id: Annotated[str, Field(min_length=1, max_length=64)]
    fact: StatusFact
    member_iin: IIN | None = None
    """The member the fact is about; none for a fact of the whole family."""
    from_status: Annotated[str, Field(max_length=200)] | None = None
    """None when the fact had no value before (a first recognition, a birth)."""
    to_status: Annotated[str, Field(min_length=1, max_length=200)]
    direction: Direction
    effective_on: date
    """The day the status changed in fact."""
    recorded_at: Timestamp
    """When the card recorded the change (it learns of facts a few days late)."""
    reported_by: Annotated[str, Field(min_length=1, max_length=200)]
    """The body whose system told the card, e.g. «ЗАГС» or «Центр занятости»."""


class FamilyChanges(_Wire):
    """The changes of one of the card's families, with the queried IINs found in it."""

    family_id: Annotated[str, Field(min_length=1, max_length=64)]
    iins: Annotated[list[IIN], Field(min_length=1)]
    """Those of the query's IINs that belong to this family."""
    changes: list[StatusChange]
    """By effective day, then by the moment recorded."""


class StatusChangeFeed(_Wire):
    """The answer to a ``StatusChangeQuery``."""

    period_from: date
    period_to: date
    as_of: Timestamp
    """The card's clock when it answered: changes recorded later are not in the answer."""
    families: list[FamilyChanges]
    """Every family one of the queried IINs belongs to, with or without changes."""
    unknown_iins: list[IIN] = []
    """Queried IINs the card has no family for."""


# --- the family lookup ----------------------------------------------------------------------


class FamilyLookup(_Wire):
    """Body of ``POST /api/v1/families/lookup``: the family of this person."""

    iin: IIN


class CardMember(_Wire):
    iin: IIN
    last_name: Annotated[str, Field(min_length=1, max_length=200)]
    first_name: Annotated[str, Field(min_length=1, max_length=200)]
    middle_name: Annotated[str, Field(max_length=200)] | None = None
    birth_date: date
    relation: Relation
    deceased_on: date | None = None
    """Deceased members stay in the card with the day of death (the registry's date)."""


class CurrentStatus(_Wire):
    """The family's standing on one fact, as of the answer."""

    fact: StatusFact
    member_iin: IIN | None = None
    status: Annotated[str, Field(min_length=1, max_length=200)]
    since: date | None = None
    """The effective day of the change that set it; none if set before the card's records."""


class CardFamily(_Wire):
    """The answer to a ``FamilyLookup``; 404 (a problem document) if the card has none."""

    family_id: Annotated[str, Field(min_length=1, max_length=64)]
    iin: IIN
    """The person asked about; the member with relation ``self``."""
    as_of: Timestamp
    members: Annotated[list[CardMember], Field(min_length=1)]
    statuses: list[CurrentStatus]
