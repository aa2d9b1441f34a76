"""The digital family card's (ЦКС) REST API: status-change feed and family lookup."""

from contracts.family_card.models import (
    FAMILY_LOOKUP_PATH,
    MAX_PERIOD_DAYS,
    MAX_QUERY_IINS,
    STATUS_CHANGES_PATH,
    CardFamily,
    CardMember,
    CurrentStatus,
    Direction,
    FamilyChanges,
    FamilyLookup,
    Relation,
    StatusChange,
    StatusChangeFeed,
    StatusChangeQuery,
    StatusFact,
)

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
