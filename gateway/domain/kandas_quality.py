"""Scoring a career centre's adaptation services (order 170 p.47-51), from configuration.

The act sets three criteria of 1 to 5 points (p.48-49), so a total of 3 to 15, and bands
of 0-10 low, 10-15 medium and 15-25 high. The bands do not fit the criteria (their scale
goes to 25, the criteria to 15) and the boundaries 10 and 15 each sit in two bands. The
gateway keeps criteria and bands as configuration, names every band a total falls in, and
lists the inconsistencies for the page and the report; it never picks one band for an
ambiguous total, because that would be guessing what the act meant.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

QUALITY_PATH = Path(__file__).parent.parent / "data" / "kandas_quality.json"


@dataclass(frozen=True, slots=True)
class Criterion:
    key: str
    min: int
    max: int
    name_ru: str
    name_kk: str


@dataclass(frozen=True, slots=True)
class Band:
    key: str
    min: float
    max: float
    name_ru: str
    name_kk: str

    def holds(self, total: float) -> bool:
        return self.min <= total <= self.max  # the act says "from … to …": both ends


@dataclass(frozen=True, slots=True)
class Inconsistency:
    code: str
    ru: str
    kk: str
    en: str


@dataclass(frozen=True, slots=True)
class QualityRules:
    criteria: tuple[Criterion, ...]
    bands: tuple[Band, ...]
    evaluation_due_day: int
    conclusion_due_day: int
    source: str

    @property
    def total_min(self) -> int:
        return sum(c.min for c in self.criteria)

    @property
    def total_max(self) -> int:
        return sum(c.max for c in self.criteria)

    def bands_for(self, total: float) -> tuple[Band, ...]:
        return tuple(b for b in self.bands if b.holds(total))

    def inconsistencies(self) -> tuple[Inconsistency, ...]:
        """What in the configured scale does not add up, in words staff can read."""
        found: list[Inconsistency] = []
        top = max(b.max for b in self.bands)
        bottom = min(b.min for b in self.bands)
        if top != self.total_max:
            found.append(
                Inconsistency(
                    "scale_top",
                    f"Шкала оценок доходит до {top:g}, а сумма критериев — не более "
                    f"{self.total_max} ({len(self.criteria)} × до {self.criteria[0].max}).",
                    f"Бағалау шкаласы {top:g}-ке дейін, ал өлшемшарттардың қосындысы — "
                    f"{self.total_max}-тен аспайды.",
                    f"the bands reach {top:g}; the criteria add up to at most {self.total_max}",
                )
            )
        if bottom != self.total_min:
            found.append(
                Inconsistency(
                    "scale_bottom",
                    f"Шкала начинается с {bottom:g}, а наименьшая сумма критериев — "
                    f"{self.total_min} (каждый критерий не менее {self.criteria[0].min}).",
                    f"Шкала {bottom:g}-ден басталады, ал ең аз қосынды — {self.total_min}.",
                    f"the bands start at {bottom:g}; the least total is {self.total_min}",
                )
            )
        for total in sorted({b.min for b in self.bands} | {b.max for b in self.bands}):
            holding = self.bands_for(total)
            if len(holding) > 1:
                names = " и ".join(f"«{b.name_ru.split(' (')[0]}»" for b in holding)
                found.append(
                    Inconsistency(
                        f"overlap_{total:g}",
                        f"Сумма {total:g} попадает в два уровня: {names}.",
                        f"{total:g} қосындысы екі деңгейге түседі.",
                        f"a total of {total:g} is in {len(holding)} bands: "
                        + ", ".join(b.key for b in holding),
                    )
                )
        for band in self.bands:
            reachable = [t for t in range(self.total_min, self.total_max + 1) if band.holds(t)]
            if not reachable:
                found.append(
                    Inconsistency(
                        f"unreachable_{band.key}",
                        f"Уровень «{band.name_ru}» недостижим при сумме "
                        f"{self.total_min}–{self.total_max}.",
                        f"«{band.name_kk}» деңгейіне {self.total_min}–{self.total_max} "
                        "қосындысымен жету мүмкін емес.",
                        f"band {band.key} cannot be reached by a total of "
                        f"{self.total_min}..{self.total_max}",
                    )
                )
            elif band.max > self.total_max and len(reachable) == 1:
                found.append(
                    Inconsistency(
                        f"narrow_{band.key}",
                        f"Уровень «{band.name_ru.split(' (')[0]}» достижим только при сумме "
                        f"{reachable[0]}.",
                        f"«{band.name_kk.split(' (')[0]}» деңгейіне тек {reachable[0]} "
                        "қосындысымен жетуге болады.",
                        f"band {band.key} is reached only by a total of {reachable[0]}",
                    )
                )
        return tuple(found)


def parse(document: dict[str, Any], source: str = "") -> QualityRules:
    criteria = tuple(
        Criterion(c["key"], int(c["min"]), int(c["max"]), c["name_ru"], c["name_kk"])
        for c in document["criteria"]
    )
    bands = tuple(
        Band(b["key"], float(b["min"]), float(b["max"]), b["name_ru"], b["name_kk"])
        for b in document["bands"]
    )
    if not criteria or not bands:
        raise ValueError("quality rules need at least one criterion and one band")
    if len({c.key for c in criteria}) != len(criteria):
        raise ValueError("quality criteria keys must be distinct")
    for c in criteria:
        if c.min > c.max:
            raise ValueError(f"criterion {c.key}: min above max")
    return QualityRules(
        criteria,
        bands,
        int(document.get("evaluation_due_day", 5)),
        int(document.get("conclusion_due_day", 25)),
        source or str(document.get("source", "")),
    )


@cache
def load(path: Path = QUALITY_PATH) -> QualityRules:
    return parse(json.loads(path.read_text(encoding="utf-8")), str(path))


@dataclass(frozen=True, slots=True)
class Score:
    total: int
    bands: tuple[Band, ...]

    @property
    def band_key(self) -> str | None:
        """One band, or None when the total sits in none or in several (not guessed)."""
        return self.bands[0].key if len(self.bands) == 1 else None


def score(rules: QualityRules, points: dict[str, int]) -> Score:
    """The total and every band it falls in; raises `ValueError` naming a bad criterion."""
    unknown = sorted(set(points) - {c.key for c in rules.criteria})
    if unknown:
        raise ValueError(f"scores.{unknown[0]}: not a criterion of the evaluation")
    for c in rules.criteria:
        if c.key not in points:
            raise ValueError(f"scores.{c.key}: is required")
        if not c.min <= points[c.key] <= c.max:
            raise ValueError(f"scores.{c.key}: must be {c.min} to {c.max}")
    total = sum(points.values())
    return Score(total, rules.bands_for(total))
