"""Work on a kandas family's adaptation, as the digital family card shows it (order 170
p.37: a service done is shown in the Kandas system and in the family card)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from contracts.common import IIN

ADAPTATION_REPORTS_PATH = "/api/v1/adaptation-reports"


class AdaptationReportIn(BaseModel):
    """Body of ``POST /api/v1/adaptation-reports``; ``Idempotency-Key`` is the report's id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    report_id: Annotated[str, Field(min_length=1, max_length=64)]
    member_iin: IIN
    service_code: Annotated[int, Field(ge=1, le=25)]
    service_name_ru: Annotated[str, Field(min_length=1, max_length=500)]
    service_name_kk: Annotated[str, Field(min_length=1, max_length=500)]
    done_on: date
    career_centre: Annotated[str, Field(min_length=1, max_length=64)]
    media_urls: Annotated[list[str], Field(min_length=1, max_length=20)]


class AdaptationReportRecorded(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    family_id: str
    recorded_at: datetime
