"""Is a work report's geolocation plausible for the family (order 170 p.35-37)?

A report carries the phone's coordinates as evidence that the work was done where the
family lives. A point outside Kazakhstan, or far from the settlement region's centre, is
flagged for a person to look at, never silently accepted and never refused outright (a
worker may have met the family at a ministry in the capital).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REGIONS_PATH = Path(__file__).parent.parent / "data" / "kandas_regions.json"
EARTH_KM = 6371.0


@dataclass(frozen=True, slots=True)
class GeoFlag:
    code: str
    """`outside_kazakhstan`, `far_from_settlement` or `unknown_region`."""
    reason: str


@cache
def _data(path: Path = REGIONS_PATH) -> dict[str, object]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(math.sqrt(a))


def check(lat: float, lon: float, region: str, far_km: float) -> list[GeoFlag]:
    data = _data()
    box = data["country_box"]
    assert isinstance(box, dict)
    flags: list[GeoFlag] = []
    if not (box["lat_min"] <= lat <= box["lat_max"] and box["lon_min"] <= lon <= box["lon_max"]):
        flags.append(GeoFlag("outside_kazakhstan", f"{lat:.5f}, {lon:.5f} is outside Kazakhstan"))
        return flags
    regions = data["regions"]
    assert isinstance(regions, dict)
    centre = regions.get(region)
    if centre is None:
        flags.append(GeoFlag("unknown_region", f"no centre known for region '{region}'"))
        return flags
    km = distance_km(lat, lon, centre["lat"], centre["lon"])
    if km > far_km:
        flags.append(
            GeoFlag(
                "far_from_settlement",
                f"{km:.0f} km from {centre['centre']}, the centre of the settlement region "
                f"(more than {far_km:.0f} km)",
            )
        )
    return flags


def region_names(code: str) -> tuple[str, ...]:
    """How registries write the region of `code` in an address (and the code itself)."""
    regions = _data()["regions"]
    assert isinstance(regions, dict)
    entry = regions.get(code) or {}
    return tuple(n for n in (code, entry.get("name_ru"), entry.get("name_kk")) if n)
