"""The Kandas system's wire shapes, as the mock accepts and answers them.

Validation names the field that is wrong (``members[1].services[0].code``,
``geolocation.lat``), because the career centre's worker filling a report in the
field must know what to fix, and a bare "bad request" gets re-sent unchanged.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from contracts.iin import check_iin

Iin = Annotated[str, AfterValidator(check_iin)]

# Kazakhstan's extreme points, rounded outwards: roughly 40.56°N to 55.44°N and
# 46.49°E to 87.36°E. A box, so a point in a neighbouring country's corner passes;
# it catches swapped coordinates, zeros and the wrong hemisphere, which is what
# phones get wrong.
LAT_RANGE = (40.5, 55.5)
LON_RANGE = (46.4, 87.4)
_URL = re.compile(r"https?://[^\s]+")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PlannedServiceIn(_Strict):
    code: Annotated[int, Field(ge=1, le=25)]
    due_date: date | None = None
    """The service's term, counted from inclusion in the regional quota (p.33)."""


class MemberIn(_Strict):
    iin: Iin
    relation: Annotated[str, Field(max_length=50)] | None = None
    services: Annotated[list[PlannedServiceIn], Field(min_length=1, max_length=25)]

    @field_validator("services")
    @classmethod
    def _each_once(cls, value: list[PlannedServiceIn]) -> list[PlannedServiceIn]:
        codes = [s.code for s in value]
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        if repeated:
            raise ValueError(f"service codes listed more than once: {repeated}")
        return value


class PlanIn(_Strict):
    kandas_iin: Iin
    region: Annotated[str, Field(min_length=1, max_length=100)]
    career_centre: Annotated[str, Field(min_length=1, max_length=300)]
    quota_date: date
    """Inclusion in the regional quota, from which the services' terms count (p.33)."""
    members: Annotated[list[MemberIn], Field(min_length=1, max_length=30)]

    @field_validator("members")
    @classmethod
    def _each_member_once(cls, value: list[MemberIn]) -> list[MemberIn]:
        iins = [m.iin for m in value]
        if len(set(iins)) != len(iins):
            raise ValueError("a family member is listed more than once")
        return value


class ServiceStatus(StrEnum):
    PLANNED = "planned"
    DONE = "done"


class PlannedService(BaseModel):
    code: int
    name_ru: str
    name_kk: str
    due_date: date | None
    status: ServiceStatus
    done_on: date | None = None


class Member(BaseModel):
    iin: str
    full_name: str
    relation: str | None
    services: list[PlannedService]


class Media(_Strict):
    kind: Literal["photo", "video"]
    url: Annotated[str, Field(max_length=2000)]

    @field_validator("url")
    @classmethod
    def _is_url(cls, value: str) -> str:
        if _URL.fullmatch(value) is None:
            raise ValueError("must be an http(s) URL of the uploaded file")
        return value


class Geolocation(_Strict):
    lat: float
    lon: float

    @field_validator("lat")
    @classmethod
    def _lat_in_kazakhstan(cls, value: float) -> float:
        low, high = LAT_RANGE
        if not low <= value <= high:
            raise ValueError(f"latitude {value} is outside Kazakhstan ({low} to {high})")
        return value

    @field_validator("lon")
    @classmethod
    def _lon_in_kazakhstan(cls, value: float) -> float:
        low, high = LON_RANGE
        if not low <= value <= high:
            raise ValueError(f"longitude {value} is outside Kazakhstan ({low} to {high})")
        return value


class WorkReportIn(_Strict):
    """«Отчёт о проделанной работе по адаптации и интеграции» for one service (p.35–37)."""

    member_iin: Iin
    service_code: Annotated[int, Field(ge=1, le=25)]
    done_on: date
    comment: Annotated[str, Field(min_length=1, max_length=2000)]
    media: Annotated[list[Media], Field(min_length=1, max_length=20)]
    """Photo or video evidence (p.36 requires it)."""
    geolocation: Geolocation


class WorkReport(BaseModel):
    id: str
    plan_id: str
    received_at: datetime
    report: WorkReportIn


class Plan(BaseModel):
    id: str
    created_at: datetime
    kandas_iin: str
    region: str
    career_centre: str
    quota_date: date
    members: list[Member]
    reports: list[WorkReport]


class ReportColumn(BaseModel):
    number: int
    key: str
    title_ru: str
    title_kk: str
    service_code: int | None = None


class MonthlyReport(BaseModel):
    """Appendix 3: one row per IIN, 27 columns (row number, IIN, the 25 services).

    A service cell holds the date the service was reported done within the month, or
    null; the row number and IIN are the first two cells.
    """

    month: str
    due_by: date
    form: str
    columns: list[ReportColumn]
    rows: list[list[int | str | None]]
