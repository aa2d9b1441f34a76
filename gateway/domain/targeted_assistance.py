"""The proactive check of targeted social assistance (order 109 p.12–18), without I/O.

The employment centre learns, with no application, whether a family that receives
targeted social assistance still meets its criteria: its members' registration, real
estate, vehicles, household plot, alimony received and income. `assess` takes the
facts as the registries gave them and answers with the per-capita income against the
poverty line, and the assets a specialist must look at; or, when a registry did not
answer, with the facts that are missing and no conclusion. The threshold and its formula
are configuration (`gateway/data/targeted_assistance.json`) with their sources.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

CONFIG_PATH = Path(__file__).resolve().parent.parent / "data" / "targeted_assistance.json"

#: Which registry holds each fact, as a person reads it.
FACT_SOURCES = {
    "registration": "ИС «Миграционная полиция»",
    "real_estate": "ГБД «Регистр недвижимости»",
    "vehicles": "ИС МВД (транспортные средства)",
    "household_plot": "Похозяйственная книга акиматов",
    "alimony": "АИС ОИП",
    "pension_contributions": "ЕНПФ",
}


@dataclass(frozen=True, slots=True)
class Threshold:
    poverty_line_percent: int
    subsistence_minimum: int
    confirmed: bool
    formula: str
    sources: tuple[str, ...]

    @property
    def poverty_line(self) -> int:
        return self.subsistence_minimum * self.poverty_line_percent // 100


@dataclass(frozen=True, slots=True)
class Config:
    threshold: Threshold
    months: int
    queries: dict[str, dict[str, str]]


@cache
def load_config(path: Path = CONFIG_PATH) -> Config:
    data = json.loads(path.read_text(encoding="utf-8"))
    t = data["threshold"]
    return Config(
        threshold=Threshold(
            poverty_line_percent=int(t["poverty_line_percent"]),
            subsistence_minimum=int(t["subsistence_minimum_tenge"]),
            confirmed=bool(t["subsistence_minimum_confirmed"]),
            formula=t["formula"],
            sources=(t["poverty_line_source"], t["subsistence_minimum_source"]),
        ),
        months=int(data["period"]["months"]),
        queries=data["queries"],
    )


def period(today: date, months: int) -> tuple[str, str]:
    """The `months` whole months before the month of `today`, as YYYY-MM bounds."""
    last_year, last_month = (
        (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    )
    index = last_year * 12 + last_month - 1 - (months - 1)
    first = f"{index // 12:04d}-{index % 12 + 1:02d}"
    return first, f"{last_year:04d}-{last_month:02d}"


def assess(facts: dict[str, dict[str, Any]], members: list[str], config: Config) -> dict[str, Any]:
    """`facts[fact][iin]` is the registry's answer, or {"failed": reason} where it did not
    answer. Returns the conclusion, or the missing facts and no conclusion."""
    missing = [
        {"fact": fact, "subject": iin, "source": FACT_SOURCES[fact], "reason": answer["failed"]}
        for fact, by_person in facts.items()
        for iin, answer in by_person.items()
        if "failed" in answer
    ]
    threshold = config.threshold
    base: dict[str, Any] = {
        "members": len(members),
        "poverty_line": threshold.poverty_line,
        "threshold": {
            "poverty_line_percent": threshold.poverty_line_percent,
            "subsistence_minimum": threshold.subsistence_minimum,
            "confirmed": threshold.confirmed,
            "formula": threshold.formula,
            "sources": list(threshold.sources),
        },
    }
    if missing:
        return {**base, "concluded": False, "missing": missing}
    income = sum(
        c["income"] for answer in facts["pension_contributions"].values() for c in answer["items"]
    )
    alimony = sum(
        o["monthly_amount"] * config.months
        for answer in facts["alimony"].values()
        for o in answer["items"]
    )
    per_capita = (income + alimony) // config.months // max(1, len(members))
    assets = [
        {"fact": fact, "subject": iin, "count": len(answer["items"]), "source": FACT_SOURCES[fact]}
        for fact in ("real_estate", "vehicles", "household_plot")
        for iin, answer in facts[fact].items()
        if answer["items"]
    ]
    return {
        **base,
        "concluded": True,
        "missing": [],
        "income_total": income,
        "alimony_total": alimony,
        "per_capita_income": per_capita,
        "eligible_by_income": per_capita < threshold.poverty_line,
        "assets": assets,
    }
