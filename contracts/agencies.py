"""The agency registry's shape: which state bodies exist and which are connected."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from contracts.common import AgencyCode


class Agency(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: AgencyCode
    enabled: bool
    name_ru: str
    name_kk: str
    name_en: str
    kind: str = Field(
        default="state_body",
        description="What the body is: a state body of order 192, or in the kandas chain a "
        "`career_centre`, `labour_mobility_centre` or `local_executive_body`.",
    )
    region: str | None = Field(default=None, description="The region a regional body serves.")
    flows: list[str] = Field(
        default_factory=lambda: ["ipr"], description="The flows whose steps this body owns."
    )


class AgencyRegistry(BaseModel):
    description: str = ""
    source: str = ""
    agencies: list[Agency]
