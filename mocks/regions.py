"""Kazakhstan's regions as the mock labour-ministry systems know them, with their career centres.

The migration portal and the labour market system both keep a directory of the
country's 17 regions and 3 cities of republican significance (since the three regions
created in 2022: Abai, Zhetysu, Ulytau) and of one career centre per region. Region
codes are the wire codes of `contracts.cases.RegionCode`; a career centre's code is
`cc_<region>`, as in the gateway's agency registry. Russian names are those the
synthetic population writes in its addresses, so a person's home maps to a region.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["REGIONS", "Region", "career_centre_region", "region", "region_of_address"]


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name_ru: str
    name_kk: str

    @property
    def career_centre(self) -> str:
        return f"cc_{self.code}"


REGIONS: tuple[Region, ...] = (
    Region("abai", "Абайская область", "Абай облысы"),
    Region("akmola", "Акмолинская область", "Ақмола облысы"),
    Region("aktobe", "Актюбинская область", "Ақтөбе облысы"),
    Region("almaty_region", "Алматинская область", "Алматы облысы"),
    Region("atyrau", "Атырауская область", "Атырау облысы"),
    Region("east_kazakhstan", "Восточно-Казахстанская область", "Шығыс Қазақстан облысы"),
    Region("zhambyl", "Жамбылская область", "Жамбыл облысы"),
    Region("zhetysu", "Область Жетісу", "Жетісу облысы"),
    Region("west_kazakhstan", "Западно-Казахстанская область", "Батыс Қазақстан облысы"),
    Region("karaganda", "Карагандинская область", "Қарағанды облысы"),
    Region("kostanay", "Костанайская область", "Қостанай облысы"),
    Region("kyzylorda", "Кызылординская область", "Қызылорда облысы"),
    Region("mangystau", "Мангистауская область", "Маңғыстау облысы"),
    Region("pavlodar", "Павлодарская область", "Павлодар облысы"),
    Region("north_kazakhstan", "Северо-Казахстанская область", "Солтүстік Қазақстан облысы"),
    Region("turkestan", "Туркестанская область", "Түркістан облысы"),
    Region("ulytau", "Область Ұлытау", "Ұлытау облысы"),
    Region("astana", "г. Астана", "Астана қаласы"),
    Region("almaty", "г. Алматы", "Алматы қаласы"),
    Region("shymkent", "г. Шымкент", "Шымкент қаласы"),
)
_BY_CODE = {r.code: r for r in REGIONS}
_BY_CENTRE = {r.career_centre: r for r in REGIONS}
_BY_NAME = {r.name_ru: r for r in REGIONS}


def region(code: str) -> Region | None:
    return _BY_CODE.get(code)


def career_centre_region(code: str) -> Region | None:
    """The region whose career centre has this code, or None for no such centre."""
    return _BY_CENTRE.get(code)


def region_of_address(name_ru: str) -> Region | None:
    """The region of an address's region name as the population writes it."""
    return _BY_NAME.get(name_ru)
