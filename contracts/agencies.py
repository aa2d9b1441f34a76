"""The agency registry's shape: which state bodies exist and which are connected."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from contracts.common import AgencyCode


class Agency(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: AgencyCode
    enabled: bool
    name_ru: str
    name_kk: str
    name_en: str


class AgencyRegistry(BaseModel):
    description: str = ""
    source: str = ""
    agencies: list[Agency]
