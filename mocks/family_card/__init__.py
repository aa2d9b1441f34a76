"""The mock digital family card (ЦКС, Цифровая карта семьи); see README.md."""

from mocks.family_card.app import create_app, relation_between
from mocks.family_card.history import HISTORY_STARTS, CardHistory, FamilyStanding

__all__ = ["HISTORY_STARTS", "CardHistory", "FamilyStanding", "create_app", "relation_between"]
