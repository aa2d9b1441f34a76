"""What the gateway sends to and reads from the Kandas system, as typed values.

Our own copies of the system's shapes (see ``adapters/egov/models.py`` for why):
outgoing models check what we can check before sending (IINs, service codes 1..25,
coordinates inside Kazakhstan's box), incoming ones ignore fields they do not know.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from contracts.iin import check_iin

Iin = Annotated[str, AfterValidator(check_iin)]
ServiceCode = Annotated[int, Field(ge=1, le=25)]
# Appendix 3 of order 170: row number, IIN, the 25 services.
MONTHLY_REPORT_COLUMNS = 27


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class PlannedServiceRequest(_Out):
    code: ServiceCode
    due_date: date | None = None


class MemberRequest(_Out):
    iin: Iin
    relation: str | None = None
    services: tuple[PlannedServiceRequest, ...] = Field(min_length=1)


class PlanRequest(_Out):
    """An adaptation plan per appendix 1: each member with the services planned for them."""

    kandas_iin: Iin
    region: str
    career_centre: str
    quota_date: date
    members: tuple[MemberRequest, ...] = Field(min_length=1)


class Media(_Out):
    kind: Literal["photo", "video"]
    url: str


class Geolocation(_Out):
    """Where the work was done, as the worker's phone saw it.

    Not range-checked here on purpose: the Kandas system owns the rule, and its
    refusal names the field; a second copy of the box would drift.
    """

    lat: float
    lon: float


class WorkReportRequest(_Out):
    member_iin: Iin
    service_code: ServiceCode
    done_on: date
    comment: str
    media: tuple[Media, ...] = Field(min_length=1)
    geolocation: Geolocation


class ServiceStatus(StrEnum):
    PLANNED = "planned"
    DONE = "done"


class PlannedService(_In):
    code: int
    name_ru: str
    name_kk: str
    due_date: date | None = None
    status: ServiceStatus
    done_on: date | None = None


class Member(_In):
    iin: str
    full_name: str
    relation: str | None = None
    services: tuple[PlannedService, ...]


class MediaIn(_In):
    kind: str
    url: str


class GeolocationIn(_In):
    lat: float
    lon: float


class WorkReportBody(_In):
    member_iin: str
    service_code: int
    done_on: date
    comment: str
    media: tuple[MediaIn, ...]
    geolocation: GeolocationIn


class WorkReport(_In):
    id: str
    plan_id: str
    received_at: datetime
    report: WorkReportBody


class Plan(_In):
    id: str
    created_at: datetime
    kandas_iin: str
    region: str
    career_centre: str
    quota_date: date
    members: tuple[Member, ...]
    reports: tuple[WorkReport, ...] = ()

    def member(self, iin: str) -> Member | None:
        return next((m for m in self.members if m.iin == iin), None)


class ReportColumn(_In):
    number: int
    key: str
    title_ru: str
    title_kk: str
    service_code: int | None = None


class MonthlyReport(_In):
    """Appendix 3: ``rows`` are lists in ``columns`` order (row number, IIN, 25 services,
    each the date done within the month or None)."""

    month: str
    due_by: date
    form: str
    columns: tuple[ReportColumn, ...]
    rows: tuple[tuple[int | str | None, ...], ...]

    def by_iin(self) -> dict[str, dict[int, date]]:
        """Per IIN, the services done in the month and when: the shape most code wants."""
        codes = [c.service_code for c in self.columns]
        out: dict[str, dict[int, date]] = {}
        for row in self.rows:
            iin = str(row[1])
            out[iin] = {
                code: date.fromisoformat(value)
                for code, value in zip(codes, row, strict=True)
                if code is not None and isinstance(value, str)
            }
        return out


class KandasStatus(BaseModel):
    """Whether a person holds kandas status, as the Kandas system answers."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    iin: str
    holds_status: bool
    since: date | None = None
    as_of: datetime
