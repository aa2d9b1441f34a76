"""The 25 adaptation services of order No. 170, appendix 1, as the gateway plans them.

Data, not code (`gateway/data/kandas_services.json`): the appendix is amended by order,
and the names must reach staff in Russian and Kazakh as the form writes them. The file
says which names are official and which are our translation, and that the act gives no
per-service term (the default term is ours, shown as such).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

SERVICES_PATH = Path(__file__).parent.parent / "data" / "kandas_services.json"
SERVICE_COUNT = 25
#: Appendix 3: the row number, the IIN, then one column per service.
REPORT_COLUMNS = SERVICE_COUNT + 2


@dataclass(frozen=True, slots=True)
class AdaptationService:
    code: int
    report_column: int
    name_en: str
    name_ru: str
    name_kk: str
    term_days: int

    def due_on(self, quota_date: date) -> date:
        """p.33: a service's term is counted from inclusion in the regional quota."""
        return quota_date + timedelta(days=self.term_days)


@cache
def load_services(path: Path = SERVICES_PATH) -> tuple[AdaptationService, ...]:
    data = json.loads(path.read_text(encoding="utf-8"))
    services = tuple(
        AdaptationService(
            code=int(s["code"]),
            report_column=int(s["report_column"]),
            name_en=s["name_en"],
            name_ru=s["name_ru"],
            name_kk=s["name_kk"],
            term_days=int(s["term_days"]),
        )
        for s in data["services"]
    )
    if [s.code for s in services] != list(range(1, SERVICE_COUNT + 1)):
        raise ValueError(f"{path}: services must be codes 1..{SERVICE_COUNT} in order")
    if [s.report_column for s in services] != list(range(3, REPORT_COLUMNS + 1)):
        raise ValueError(f"{path}: report columns must be 3..{REPORT_COLUMNS} in order")
    return services


@cache
def term_source(path: Path = SERVICES_PATH) -> str:
    """Where the terms come from, for the page: the act gives none per service."""
    return str(json.loads(path.read_text(encoding="utf-8")).get("term_days_source", ""))


def by_code() -> dict[int, AdaptationService]:
    return {s.code: s for s in load_services()}
