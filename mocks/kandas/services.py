"""The 25 adaptation services of order No. 170, appendix 1, read from ``services.json``.

Data, not code: the appendix is amended by order, and the names must appear in the
official languages exactly as the form shows them (see the file's ``sources`` for
which names are official and which are our translation).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SERVICES_PATH = Path(__file__).with_name("services.json")
SERVICE_COUNT = 25


@dataclass(frozen=True, slots=True)
class AdaptationService:
    code: int
    report_column: int
    name_en: str
    name_ru: str
    name_kk: str


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
        )
        for s in data["services"]
    )
    codes = [s.code for s in services]
    if codes != list(range(1, SERVICE_COUNT + 1)):
        raise ValueError(f"services.json must list codes 1..{SERVICE_COUNT} in order")
    return services


def service_by_code() -> dict[int, AdaptationService]:
    return {s.code: s for s in load_services()}
