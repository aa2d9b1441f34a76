"""The mock Kandas system (АИС «Кандас»); see README.md."""

from mocks.kandas.app import REPORT_COLUMNS, KandasState, Refused, create_app
from mocks.kandas.services import AdaptationService, load_services

__all__ = [
    "REPORT_COLUMNS",
    "AdaptationService",
    "KandasState",
    "Refused",
    "create_app",
    "load_services",
]
