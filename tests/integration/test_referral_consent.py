"""An employment referral's registry lookups need the applicant's consent on file (issue 12).

Seed 002 p.5.1: the provider takes the applicant's written consent to the use of legally
protected information when it registers the application. A referral opened in person
holds that consent when the district office sends it; a lookup under the purpose
`employment_referral` names the referral (`case_id`) and is allowed only for its
applicant, only to the office that handles it, and only with the consent on file. Every
refusal fails closed, before any registry is asked, and is on the audit log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.labour_market import LabourMarketClient
from gateway.auth import ClientKind
from gateway.store.tables import audit_log, plans
from tests.conftest import AMQP_URL
from tests.integration.egov_fixtures import population_fixture  # noqa: F401  (fixture)
from tests.integration.harness import Harness, start_harness
from tests.integration.test_employment_referral import (  # noqa: F401  (fixtures)
    JOB_SEEKER,
    UNEMPLOYED,
    _settings,
    others_fixture,
)
from tests.integration.test_registry_lookup import bus  # noqa: F401  (the mock bus)
from tests.integration.test_registry_lookup import registry as registry

pytestmark = pytest.mark.integration

OFFICE = "ozsp_almaty"  # the district office of the Almaty applicant
CONSENT = {"given": True, "signed_on": "2026-11-30", "document": "согласие № 17 в деле"}


@pytest.fixture(name="world")
async def world_fixture(
    engine: AsyncEngine, amqp_prefix: str, others: dict[str, Any], registry: Any
) -> AsyncIterator[Harness]:
    labour = LabourMarketClient(_settings(others["labour_url"]))
    h, stop = await start_harness(
        engine, amqp_prefix, AMQP_URL, "demo-centre", registry=registry, labour_market=labour
    )
    for office in (OFFICE, "ozsp_astana"):
        h.keys[office] = await h.add_key(ClientKind.agency, office)
    try:
        yield h
    finally:
        await stop()
        await labour.aclose()


async def _open(h: Harness, consent: dict[str, Any] | None) -> str:
    body: dict[str, Any] = {"iin": UNEMPLOYED, "kind": "public_works"}
    if consent is not None:
        body["consent"] = consent
    opened = await h.http.post("/api/v1/employment-referrals", json=body, headers=h.auth(OFFICE))
    assert opened.status_code == 201, opened.text
    return str(opened.json()["id"])


async def test_a_referral_lookup_needs_the_applicants_consent(world: Harness) -> None:
    h = world
    with_consent = await _open(h, CONSENT)
    async with h.engine.connect() as conn:
        family = (
            await conn.execute(select(plans.c.family).where(plans.c.id == with_consent))
        ).scalar_one()
    assert family["consent"] == CONSENT

    async def lookup(case_id: str | None, iin: str = UNEMPLOYED, who: str = OFFICE) -> Any:
        query = "purpose=employment_referral" + (f"&case_id={case_id}" if case_id else "")
        return await h.http.get(f"/api/v1/registry/persons/{iin}?{query}", headers=h.auth(who))

    allowed = await lookup(with_consent)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["iin"] == UNEMPLOYED

    no_case = await lookup(None)
    assert no_case.status_code == 422 and no_case.json()["errors"][0]["field"] == "case_id"
    not_the_applicant = await lookup(with_consent, iin=JOB_SEEKER)
    assert not_the_applicant.status_code == 403
    assert not_the_applicant.json()["errors"][0]["field"] == "iin"
    other_office = await lookup(with_consent, who="ozsp_astana")
    assert other_office.status_code == 403
    assert other_office.json()["errors"][0]["field"] == "case_id"

    without_consent = await _open(h, None)
    refused = await lookup(without_consent)
    assert refused.status_code == 403, refused.text
    assert refused.json()["errors"][0]["field"] == "consent"
    assert "5.1" in refused.json()["errors"][0]["reason"]
    withheld = await _open(h, {**CONSENT, "given": False})
    assert (await lookup(withheld)).status_code == 403

    async with h.engine.connect() as conn:
        records = (
            await conn.execute(
                select(audit_log)
                .where(audit_log.c.purpose == "employment_referral")
                .order_by(audit_log.c.id)
            )
        ).all()
    assert [r.action for r in records] == ["registry_person"] + ["registry_person_refused"] * 5
    assert records[0].case_id == with_consent and "5.1" in records[0].legal_ground
    assert all(UNEMPLOYED not in str(tuple(r)) for r in records)  # the IIN only as a hash
