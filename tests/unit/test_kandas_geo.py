"""A work report's geolocation: outside Kazakhstan or far from the settlement is flagged."""

from __future__ import annotations

from gateway.domain.kandas_geo import check, distance_km


def test_near_the_settlement_is_clean_far_or_abroad_is_flagged() -> None:
    assert check(54.86, 69.14, "north_kazakhstan", 300) == []  # Petropavl
    far = check(43.24, 76.89, "north_kazakhstan", 300)  # Almaty
    assert [f.code for f in far] == ["far_from_settlement"] and "Петропавловск" in far[0].reason
    assert [f.code for f in check(55.75, 37.62, "north_kazakhstan", 300)] == ["outside_kazakhstan"]
    assert [f.code for f in check(0.0, 0.0, "north_kazakhstan", 300)] == ["outside_kazakhstan"]
    assert [f.code for f in check(69.15, 54.87, "north_kazakhstan", 300)] == [
        "outside_kazakhstan"
    ]  # swapped


def test_distance_is_great_circle() -> None:
    assert 1380 < distance_km(54.87, 69.15, 43.24, 76.89) < 1440  # Petropavl to Almaty
