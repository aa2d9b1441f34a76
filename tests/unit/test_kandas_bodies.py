"""The kandas chain's mock bodies without a broker: decisions, fault rules, officials' keys,
and the admin API over ASGI."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from contracts.cases import (
    Decision,
    Person,
    Relation,
    StepAssigned,
    StepAssignedEnvelope,
    StepWithdrawn,
    StepWithdrawnEnvelope,
)
from contracts.iin import next_valid_iin
from contracts.signing import HandoverStatement, canonical_bytes
from mocks.kandas_bodies.admin_api import BodiesAdmin, build_app
from mocks.kandas_bodies.config import Behaviour, codes
from mocks.kandas_bodies.decide import Forced, Override, decide, forward_data
from mocks.kandas_bodies.faults import Faults, FaultSpec
from mocks.kandas_bodies.officials import NoOfficial, Officials
from mocks.kandas_bodies.schema import Effect, database_path
from mocks.kandas_bodies.store import BodyStore
from tests.kandas_ca import TinyCA, make_test_ca

TODAY = date(2026, 3, 2)


def step(
    name: str = "lmc_review",
    *,
    round_: int = 0,
    decisions: tuple[str, ...] = ("forward", "return"),
    requires: tuple[str, ...] = (),
    people: int = 2,
) -> StepAssigned:
    return StepAssigned(
        case_id="0f3c2a1e-aaaa-bbbb-cccc-000000000001",
        flow="kandas_application",
        step=name,
        round=round_,
        body="lmc_turkestan",
        region="turkestan",
        title="Проверка",
        role="head",
        due_at=datetime(2026, 3, 3, tzinfo=UTC),
        decisions=[Decision(d) for d in decisions],
        requires=list(requires),
        people=[
            Person(iin=next_valid_iin(date(1990, 1, 1), "male", 200 + i), relation=Relation.other)
            for i in range(people)
        ],
    )


# -- decisions -------------------------------------------------------------------------


def test_return_at_returns_only_the_first_round() -> None:
    behaviour = Behaviour.of(return_at=["lmc_review"])
    first = decide(step(round_=0), behaviour, None, TODAY)
    assert first.decision is Decision.return_
    assert first.remarks and "ЦКС" in first.remarks
    assert decide(step(round_=1), behaviour, None, TODAY).decision is Decision.forward


def test_a_return_the_step_does_not_allow_falls_back_to_forward() -> None:
    behaviour = Behaviour.of(return_at=["cc_plan"], refuse_at=["relocation"])
    plan = step("cc_plan", decisions=("forward",))
    assert decide(plan, behaviour, None, TODAY).decision is Decision.forward
    relocation = step("relocation", decisions=("forward",))
    assert decide(relocation, behaviour, None, TODAY).decision is Decision.forward


def test_a_forced_override_decides_even_what_the_step_does_not_allow() -> None:
    plan = step("cc_plan", decisions=("forward",))
    polite = Override(Forced.refuse)
    assert decide(plan, Behaviour(), polite, TODAY).decision is Decision.forward
    forced = decide(plan, Behaviour(), Override(Forced.refuse, "Нет", force=True), TODAY)
    assert (forced.decision, forced.remarks) == (Decision.refuse, "Нет")


def test_forward_data_fills_what_is_required_and_nothing_unknown() -> None:
    required = ("route", "relocation_date", "transport", "members_arriving", "mystery")
    data = forward_data(step("relocation", requires=required, people=0), Behaviour(), TODAY)
    assert data == {
        "route": "Шымкент — Петропавловск",
        "relocation_date": (TODAY + timedelta(days=5)).isoformat(),
        "transport": "rail",
        "members_arriving": 1,
    }
    outcome = forward_data(step(requires=("outcome",)), Behaviour.of(outcome="no_job"), TODAY)
    assert outcome == {"outcome": "no_job"}


def test_behaviour_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="outcome"):
        Behaviour.of(outcome="maybe")
    with pytest.raises(ValueError, match="both returned and refused"):
        Behaviour.of(return_at=["x_y"], refuse_at=["x_y"])
    with pytest.raises(ValueError, match="'Bad' is not a code"):
        codes("cc_turkestan,Bad", what="--bodies")
    assert codes(" a_b , ,c_d", what="--bodies") == ("a_b", "c_d")


# -- fault rules -----------------------------------------------------------------------


def test_return_next_fires_once_on_the_next_step_that_may_be_returned() -> None:
    faults = Faults()
    faults.add(FaultSpec(kind="return_next", remarks="Уточните"))
    assert faults.on_take("lmc_turkestan", step("cc_plan", decisions=("forward",))) is None
    imposed = faults.on_take("lmc_turkestan", step())
    assert imposed is not None and imposed.override == Override(Forced.return_, "Уточните")
    assert faults.on_take("lmc_turkestan", step()) is None


def test_rules_match_body_and_step_and_count_every_nth() -> None:
    faults = Faults()
    faults.add(FaultSpec(body="lmc_turkestan", step="lmc_review", kind="crash", every_nth=2))
    assert faults.crashes("cc_turkestan", step()) is None
    assert faults.crashes("lmc_turkestan", step("leb_departure")) is None
    fired = [faults.crashes("lmc_turkestan", step()) for _ in range(4)]
    assert fired == [None, 1, None, 1]


def test_silent_is_a_state_not_a_trigger() -> None:
    with pytest.raises(ValueError, match="no triggers"):
        FaultSpec(kind="silent", times=1)
    faults = Faults()
    rule = faults.add(FaultSpec(kind="silent", body="cc_turkestan"))
    assert faults.silent("cc_turkestan") and not faults.silent("lmc_turkestan")
    faults.remove(rule.id)
    assert not faults.silent("cc_turkestan")


# -- officials -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def flat_ca(tmp_path_factory: pytest.TempPathFactory) -> TinyCA:
    return make_test_ca(tmp_path_factory.mktemp("flat-ca"), index_style="flat")


def test_an_official_signs_the_canonical_bytes_with_their_key(flat_ca: TinyCA) -> None:
    official = Officials(flat_ca.directory).for_step("leb_north_kazakhstan", "specialist")
    assert official.login == "leb_north_kazakhstan_specialist"
    statement = HandoverStatement(
        case_id="c-1",
        flow="kandas_application",
        step="leb_settlement",
        round=0,
        body="leb_north_kazakhstan",
        decision="forward",
        signed_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
    )
    signature = official.sign(statement)
    public = official.key.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(
        base64.b64decode(signature.value),
        canonical_bytes(statement),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    assert "BEGIN CERTIFICATE" in signature.certificate


def test_no_official_says_why(tmp_path: Path, flat_ca: TinyCA) -> None:
    with pytest.raises(NoOfficial, match="is the mock CA running"):
        Officials(tmp_path).for_step("cc_turkestan", "head")
    with pytest.raises(NoOfficial, match="no official of cc_turkestan with the role boss"):
        Officials(flat_ca.directory).for_step("cc_turkestan", "boss")


# -- the admin API over ASGI -------------------------------------------------------------


def _assigned(payload: StepAssigned) -> StepAssignedEnvelope:
    now = datetime.now(UTC)
    return StepAssignedEnvelope(
        message_id=uuid4(), correlation_id=payload.case_id, occurred_at=now, payload=payload
    )


async def test_admin_lists_the_journal_and_validates_faults(tmp_path: Path) -> None:
    body = "lmc_turkestan"
    store = await BodyStore.open(database_path(tmp_path, body), work_seconds=60)
    taken = _assigned(step())
    try:
        assert await store.accept(taken) is Effect.taken
        assert await store.accept(taken) is Effect.duplicate
        withdrawal = StepWithdrawnEnvelope(
            message_id=uuid4(),
            correlation_id=taken.payload.case_id,
            occurred_at=datetime.now(UTC),
            payload=StepWithdrawn(
                case_id=taken.payload.case_id, step="lmc_review", round=0, body=body, reason="r"
            ),
        )
        assert await store.accept(withdrawal) is Effect.withdrawn
    finally:
        await store.close()

    admin = BodiesAdmin(tmp_path, [body, "cc_turkestan"])
    transport = httpx.ASGITransport(app=build_app(admin))
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
        listed = (await client.get("/__admin/requests", params={"body": body})).json()
        assert [r["effect"] for r in listed["requests"]] == ["taken", "duplicate", "withdrawn"]
        count = await client.get("/__admin/requests/count", params={"effect": "duplicate"})
        assert count.json() == {"count": 1}
        decided = (await client.get("/__admin/decisions", params={"state": "withdrawn"})).json()
        assert decided["total"] == 1 and decided["decisions"][0]["withdrawn_reason"] == "r"
        assert "people" not in decided["decisions"][0]
        assert (await client.get("/__admin/requests", params={"body": "nope"})).status_code == 404

        bad = await client.post("/__admin/faults", json={"kind": "delay"})
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["reason"] == "a delay fault needs delay_seconds > 0"
        other = await client.post("/__admin/faults", json={"kind": "crash", "body": "health"})
        assert other.status_code == 422 and other.json()["errors"][0]["field"] == "body"
        made = await client.post("/__admin/faults", json={"kind": "refuse_next", "body": body})
        assert made.status_code == 201 and made.json()["remaining"] == 1
        assert len((await client.get("/__admin/faults")).json()["faults"]) == 1

        moved = await client.put("/__admin/clock", json={"now": "2030-03-04T09:00:00+05:00"})
        assert moved.json()["mode"] == "fixed"
        assert admin.now() == datetime(2030, 3, 4, 4, tzinfo=UTC).timestamp()
        assert (await client.post("/__admin/reset")).status_code == 204
        assert (await client.get("/__admin/faults")).json()["faults"] == []
        assert (await client.get("/__admin/clock")).json()["mode"] == "real"
