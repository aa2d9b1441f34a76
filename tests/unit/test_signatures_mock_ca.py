"""The verifier against the keys the mock CA issued: every official signs their own body's
steps, and nobody else's; the same path the mock bodies and the browser widget take."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from contracts.clock import SystemClock
from contracts.signing import HandoverStatement, SignatureAlgorithm
from gateway.signatures import (
    HandoverRecord,
    Refusal,
    SignatureRefused,
    TrustAnchors,
    verify_chain,
    verify_handover,
)
from mocks.ca import AlgorithmUnavailable, CaState, key_algorithm, load_official, officials_index


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca")
    CaState(path, seed=42, clock=SystemClock())
    return path


@pytest.fixture(scope="module")
def trust(state_dir: Path) -> TrustAnchors:
    return TrustAnchors.from_file(state_dir / "root.pem")


def statement(body: str, *, remarks: str | None = None) -> HandoverStatement:
    return HandoverStatement(
        case_id="case-42",
        flow="kandas_application",
        step="some_step",
        round=0,
        body=body,
        decision="return" if remarks else "forward",
        remarks=remarks,
        data={"members_arriving": 4, "transport": "rail"},
        signed_at=datetime.now(UTC),
    )


def test_every_official_signs_their_own_bodys_step(state_dir: Path, trust: TrustAnchors) -> None:
    officials = officials_index(state_dir)
    assert len(officials) == 12
    for official in officials:
        body, role = str(official["body"]), str(official["role"])
        what = statement(body)
        signature = load_official(state_dir, str(official["login"])).sign(what)
        signer = verify_handover(
            what,
            signature,
            trust=trust,
            expected_body=body,
            expected_role=role,
            now=datetime.now(UTC),
        )
        assert (signer.full_name, signer.iin, signer.serial) == (
            official["full_name"],
            official["iin"],
            official["serial"],
        )
        assert signer.region == official["region"]


def refusal(
    state_dir: Path, trust: TrustAnchors, login: str, what: HandoverStatement, body: str, role: str
) -> Refusal:
    signature = load_official(state_dir, login).sign(what)
    with pytest.raises(SignatureRefused) as caught:
        verify_handover(
            what,
            signature,
            trust=trust,
            expected_body=body,
            expected_role=role,
            now=datetime.now(UTC),
        )
    return caught.value.reason


def test_a_career_centre_official_cannot_sign_the_labour_mobility_centres_step(
    state_dir: Path, trust: TrustAnchors
) -> None:
    what = statement("lmc_turkestan")
    assert (
        refusal(state_dir, trust, "cc_turkestan_head", what, "lmc_turkestan", "head")
        is Refusal.body_mismatch
    )


def test_a_specialist_cannot_sign_a_heads_step(state_dir: Path, trust: TrustAnchors) -> None:
    what = statement("lmc_turkestan")
    assert (
        refusal(state_dir, trust, "lmc_turkestan_specialist", what, "lmc_turkestan", "head")
        is Refusal.role_mismatch
    )


def test_the_same_body_of_the_other_region_is_another_body(
    state_dir: Path, trust: TrustAnchors
) -> None:
    what = statement("leb_turkestan")
    assert (
        refusal(state_dir, trust, "leb_north_kazakhstan_head", what, "leb_turkestan", "head")
        is Refusal.body_mismatch
    )


def test_a_mock_officials_signature_over_other_remarks_fails(
    state_dir: Path, trust: TrustAnchors
) -> None:
    signed = statement("lmc_turkestan", remarks="Нет согласия на обработку данных")
    signature = load_official(state_dir, "lmc_turkestan_head").sign(signed)
    tampered = signed.model_copy(update={"remarks": "Всё в порядке"})
    with pytest.raises(SignatureRefused) as caught:
        verify_handover(
            tampered,
            signature,
            trust=trust,
            expected_body="lmc_turkestan",
            expected_role="head",
            now=datetime.now(UTC),
        )
    assert caught.value.reason is Refusal.invalid_signature


def test_a_chain_signed_by_the_mock_officials(state_dir: Path, trust: TrustAnchors) -> None:
    start = datetime.now(UTC) - timedelta(minutes=10)
    steps = [
        ("cc_check", "cc_turkestan", "specialist"),
        ("lmc_review", "lmc_turkestan", "head"),
        ("leb_departure", "leb_turkestan", "head"),
        ("leb_settlement", "leb_north_kazakhstan", "specialist"),
    ]
    records = []
    for index, (step, body, role) in enumerate(steps):
        at = start + timedelta(minutes=index)
        what = statement(body).model_copy(update={"step": step, "signed_at": at})
        signature = load_official(state_dir, f"{body}_{role}").sign(what)
        records.append(HandoverRecord(what, signature, body, role, at + timedelta(seconds=5)))
    report = verify_chain(records, trust=trust)
    assert report.ok, report.failure
    assert [s.body for s in report.signers] == [body for _, body, _ in steps]


def test_gost_keys_are_declared_but_not_issued() -> None:
    with pytest.raises(AlgorithmUnavailable, match="ГОСТ"):
        key_algorithm(SignatureAlgorithm.gost_2015_512)
    assert key_algorithm(SignatureAlgorithm.rsa_sha256).name is SignatureAlgorithm.rsa_sha256
