"""Quality scores of order 170 p.47-51: the act's bands do not fit its criteria; the
gateway says so and does not pick a band for a total that sits in two."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.domain import kandas_quality


def act() -> kandas_quality.QualityRules:
    return kandas_quality.load()


def test_the_acts_scale_is_shown_inconsistent() -> None:
    rules = act()
    assert (rules.total_min, rules.total_max) == (3, 15)
    codes = {i.code for i in rules.inconsistencies()}
    assert {"scale_top", "scale_bottom", "overlap_10", "overlap_15", "narrow_high"} <= codes
    top = next(i for i in rules.inconsistencies() if i.code == "scale_top")
    assert "25" in top.ru and "15" in top.ru and top.kk


@pytest.mark.parametrize(
    ("points", "bands", "band"),
    [
        ({"relevance": 3, "effectiveness": 3, "social_impact": 3}, ("low",), "low"),
        ({"relevance": 4, "effectiveness": 3, "social_impact": 3}, ("low", "medium"), None),
        ({"relevance": 4, "effectiveness": 4, "social_impact": 4}, ("medium",), "medium"),
        ({"relevance": 5, "effectiveness": 5, "social_impact": 5}, ("medium", "high"), None),
    ],
)
def test_a_total_on_a_boundary_is_in_both_bands_and_no_band_is_guessed(
    points: dict[str, int], bands: tuple[str, ...], band: str | None
) -> None:
    result = kandas_quality.score(act(), points)
    assert tuple(b.key for b in result.bands) == bands
    assert result.band_key == band


def test_bad_scores_name_the_criterion() -> None:
    with pytest.raises(ValueError, match=r"scores\.effectiveness: must be 1 to 5"):
        kandas_quality.score(act(), {"relevance": 3, "effectiveness": 6, "social_impact": 3})
    with pytest.raises(ValueError, match=r"scores\.social_impact: is required"):
        kandas_quality.score(act(), {"relevance": 3, "effectiveness": 3})
    with pytest.raises(ValueError, match=r"scores\.beauty: not a criterion"):
        kandas_quality.score(
            act(), {"relevance": 3, "effectiveness": 3, "social_impact": 3, "beauty": 1}
        )


def test_configuration_changes_the_bands(tmp_path: Path) -> None:
    document = json.loads(kandas_quality.QUALITY_PATH.read_text(encoding="utf-8"))
    document["bands"] = [
        {**document["bands"][0], "min": 3, "max": 7},
        {**document["bands"][1], "min": 8, "max": 11},
        {**document["bands"][2], "min": 12, "max": 15},
    ]
    path = tmp_path / "quality.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    rules = kandas_quality.load(path)
    assert rules.inconsistencies() == ()
    five = {"relevance": 5, "effectiveness": 5, "social_impact": 5}
    assert kandas_quality.score(rules, five).band_key == "high"
    assert kandas_quality.score(act(), five).band_key is None
    ten = {"relevance": 4, "effectiveness": 3, "social_impact": 3}
    assert kandas_quality.score(rules, ten).band_key == "medium"
