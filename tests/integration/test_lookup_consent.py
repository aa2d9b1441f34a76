"""Purpose and consent on every lookup of a family's data, on both stores (issue 12).

A kandas application's lookups (order 170 p.12.3) run only with the application's
consent on file; a registry lookup names its purpose and, for a kandas application, the
case whose consent covers the person. Refusals fail closed and are on the audit log,
with the subject's IIN as a keyed hash, never the IIN.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.store.tables import audit_log, plans
from tests.integration.test_kandas_application import (  # noqa: F401  (fixtures)
    Chain,
    application_for,
    authority,
)
from tests.integration.test_kandas_application import chain as chain
from tests.integration.test_registry_lookup import bus  # noqa: F401  (the mock bus)

pytestmark = pytest.mark.integration


async def _audit(world: Chain) -> list[Any]:
    """The records about people (the harness's own client keys are records too)."""
    async with world.h.engine.connect() as conn:
        rows = await conn.execute(
            select(audit_log).where(audit_log.c.subject.is_not(None)).order_by(audit_log.c.id)
        )
        return list(rows.all())


async def test_an_application_without_consent_asks_no_registry(chain: Chain) -> None:
    application = application_for(chain.population, 0, consent=None)
    refused = await chain.open(application)
    assert refused.status_code == 422, refused.text
    (error,) = refused.json()["errors"]
    assert error["field"] == "consent" and "12.3" in error["reason"]
    withheld = application_for(
        chain.population, 0, consent={"given": False, "signed_on": "2026-11-30", "document": "-"}
    )
    assert (await chain.open(withheld)).status_code == 422
    async with chain.h.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(plans))).scalar_one() == 0
    records = await _audit(chain)
    people = 1 + len(application["members"])
    assert [r.action for r in records] == ["kandas_intake_refused"] * (2 * people)
    iins = {application["applicant_iin"], *(m["iin"] for m in application["members"])}
    for record in records:
        assert record.purpose == "kandas_application" and "№ 170" in record.legal_ground
        assert len(record.subject) == 64 and record.subject not in iins
        assert not any(iin in str(tuple(record)) for iin in iins)  # no IIN anywhere in it


async def test_a_registry_lookup_for_an_application_needs_its_consent(chain: Chain) -> None:
    application = application_for(chain.population, 0)
    opened = await chain.open(application)
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    member = application["members"][0]["iin"]
    h = chain.h

    async def lookup(query: str, who: str = "cc_turkestan", iin: str = member) -> Any:
        return await h.http.get(f"/api/v1/registry/persons/{iin}?{query}", headers=h.auth(who))

    allowed = await lookup(f"purpose=kandas_application&case_id={case_id}")
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["iin"] == member

    missing = await h.http.get(f"/api/v1/registry/persons/{member}", headers=h.auth("cc_turkestan"))
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "purpose"
    no_case = await lookup("purpose=kandas_application")
    assert no_case.status_code == 422 and no_case.json()["errors"][0]["field"] == "case_id"
    unknown = await lookup("purpose=curiosity")
    assert unknown.status_code == 422 and "unknown purpose" in unknown.json()["detail"]
    other_body = await lookup(
        f"purpose=kandas_application&case_id={case_id}", "cc_north_kazakhstan"
    )
    assert other_body.status_code == 403
    stranger = chain.population.families[1].members[0].iin
    not_covered = await lookup(f"purpose=kandas_application&case_id={case_id}", iin=stranger)
    assert not_covered.status_code == 403
    assert not_covered.json()["errors"][0]["field"] == "iin"
    referral = await lookup("purpose=employment_referral")  # names no referral
    assert referral.status_code == 422
    assert referral.json()["errors"][0]["field"] == "case_id"
    not_a_referral = await lookup(f"purpose=employment_referral&case_id={case_id}")
    assert not_a_referral.status_code == 422  # a kandas application holds no referral consent
    monitoring = await lookup("purpose=ipr_monitoring")  # not a purpose a body may use
    assert monitoring.status_code == 403

    lookups = [r for r in await _audit(chain) if r.action.startswith("registry_person")]
    assert [r.action for r in lookups] == ["registry_person"] + ["registry_person_refused"] * 7
    assert lookups[0].case_id == case_id and lookups[0].purpose == "kandas_application"
    assert lookups[0].actor == "agency:cc_turkestan" and lookups[0].subject != member
