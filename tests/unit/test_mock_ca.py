"""The mock certification authority: its state directory, its officials and its REST API."""

from __future__ import annotations

import base64
import json
import shutil
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from contracts.clock import SystemClock
from contracts.iin import check_iin
from contracts.signing import HandoverStatement, Signature, SignatureAlgorithm, canonical_bytes
from gateway.signatures import Refusal, SignatureRefused, TrustAnchors, verify_handover
from mocks.admin import MockAdmin
from mocks.ca import CaState, create_app, mock_officials
from mocks.population import generate_population


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CA made from scratch for the module; tests that change it work on a copy."""
    state_dir = tmp_path_factory.mktemp("ca") / "state"
    CaState(state_dir, seed=42, clock=SystemClock())
    return state_dir


@pytest.fixture
def state_dir(made: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "ca"
    shutil.copytree(made, copy)
    return copy


def index(state_dir: Path) -> list[dict[str, object]]:
    officials: list[dict[str, object]] = json.loads((state_dir / "officials.json").read_text())[
        "officials"
    ]
    return officials


def serials(state_dir: Path) -> dict[str, str]:
    return {str(o["login"]): str(o["serial"]) for o in index(state_dir)}


# --- the officials ---------------------------------------------------------------------------


def test_officials_are_deterministic_valid_and_not_among_the_families() -> None:
    officials = mock_officials(42)
    assert officials == mock_officials(42)
    assert len(officials) == 12
    assert {(o.body, o.role) for o in officials} == {
        (f"{kind}_{region}", role)
        for kind in ("cc", "lmc", "leb")
        for region in ("turkestan", "north_kazakhstan")
        for role in ("specialist", "head")
    }
    assert len({o.login for o in officials}) == 12
    assert len({o.iin for o in officials}) == 12
    for official in officials:
        check_iin(official.iin)
        assert official.region == official.body.split("_", 1)[1]
        assert len(official.full_name.split()) == 3
    family_iins = {p.iin for p in generate_population(42).people}
    assert not family_iins & {o.iin for o in officials}
    assert [o.full_name for o in mock_officials(7)] != [o.full_name for o in officials]


# --- the state directory -----------------------------------------------------------------------


def test_a_fresh_state_dir_has_the_root_the_keys_and_the_index(made: Path) -> None:
    root = x509.load_pem_x509_certificate((made / "root.pem").read_bytes())
    constraints = root.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca
    assert stat.S_IMODE((made / "root.key.pem").stat().st_mode) == 0o600
    entries = index(made)
    assert [e["login"] for e in entries] == [o.login for o in mock_officials(42)]
    for entry, official in zip(entries, mock_officials(42), strict=True):
        assert (entry["full_name"], entry["iin"], entry["body"]) == (
            official.full_name,
            official.iin,
            official.body,
        )
        files = entry["files"]
        assert isinstance(files, dict)
        key_file, cert_file = made / files["key"], made / files["certificate"]
        assert key_file == made / "officials" / f"{official.login}.key.pem"
        assert key_file.read_text().startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        certificate = x509.load_pem_x509_certificate(cert_file.read_bytes())
        certificate.verify_directly_issued_by(root)
        name = certificate.subject

        def attr(oid: x509.ObjectIdentifier, name: x509.Name = name) -> object:
            return name.get_attributes_for_oid(oid)[0].value

        assert attr(NameOID.ORGANIZATION_NAME) == official.body
        assert attr(NameOID.TITLE) == official.role
        assert attr(NameOID.STATE_OR_PROVINCE_NAME) == official.region
        assert attr(NameOID.SERIAL_NUMBER) == "IIN" + official.iin
        assert attr(NameOID.COMMON_NAME) == official.full_name
        assert format(certificate.serial_number, "x") == entry["serial"]
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
        assert certificate.signature_hash_algorithm is not None
        assert certificate.signature_hash_algorithm.name == "sha256"
    assert "PRIVATE" not in (made / "officials.json").read_text()


def test_a_restart_reuses_everything_still_good(state_dir: Path) -> None:
    before_root, before = (state_dir / "root.pem").read_bytes(), serials(state_dir)
    CaState(state_dir, seed=42, clock=SystemClock())
    assert (state_dir / "root.pem").read_bytes() == before_root
    assert serials(state_dir) == before


def test_a_restart_reissues_a_lost_certificate_and_a_revoked_one(state_dir: Path) -> None:
    def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
        return {login for login in before if before[login] != after[login]}

    first = serials(state_dir)
    (state_dir / "officials" / "cc_turkestan_head.cert.pem").unlink()
    state = CaState(state_dir, seed=42, clock=SystemClock())
    second = serials(state_dir)
    assert changed(first, second) == {"cc_turkestan_head"}
    state.revoke(second["leb_turkestan_specialist"])
    assert serials(state_dir) == second  # revoking reissues nothing until the restart
    CaState(state_dir, seed=42, clock=SystemClock())
    assert changed(second, serials(state_dir)) == {"leb_turkestan_specialist"}


def test_a_lost_root_key_makes_a_new_root_and_new_certificates(state_dir: Path) -> None:
    before_root, before = (state_dir / "root.pem").read_bytes(), serials(state_dir)
    (state_dir / "root.key.pem").unlink()
    CaState(state_dir, seed=42, clock=SystemClock())
    assert (state_dir / "root.pem").read_bytes() != before_root
    assert not set(serials(state_dir).values()) & set(before.values())


def test_another_seed_gives_other_officials(state_dir: Path) -> None:
    CaState(state_dir, seed=7, clock=SystemClock())
    assert [e["full_name"] for e in index(state_dir)] == [o.full_name for o in mock_officials(7)]


# --- the REST API ---------------------------------------------------------------------------------


@pytest.fixture
def admin() -> MockAdmin:
    return MockAdmin()


@pytest.fixture
async def http(state_dir: Path, admin: MockAdmin) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(CaState(state_dir, seed=42, clock=admin.clock), admin)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ca") as client:
        yield client


def csr(
    key: rsa.RSAPrivateKey, *, cn: str | None = "Тестов Тест", serial: str | None = None
) -> str:
    attributes = []
    if cn:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    if serial:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name(attributes))
        .sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def dev_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def statement(body: str, at: datetime) -> HandoverStatement:
    return HandoverStatement(
        case_id="case-1",
        flow="kandas_application",
        step="cc_check",
        round=0,
        body=body,
        decision="forward",
        signed_at=at,
    )


def sign(key: rsa.RSAPrivateKey, certificate: str, what: HandoverStatement) -> Signature:
    value = key.sign(canonical_bytes(what), padding.PKCS1v15(), hashes.SHA256())
    return Signature(
        algorithm=SignatureAlgorithm.rsa_sha256,
        certificate=certificate,
        value=base64.b64encode(value).decode(),
    )


async def test_the_root_and_the_officials_index_without_keys(
    http: httpx.AsyncClient, state_dir: Path
) -> None:
    root = await http.get("/ca.pem")
    assert root.status_code == 200
    assert root.content == (state_dir / "root.pem").read_bytes()
    listed = await http.get("/officials")
    assert listed.status_code == 200
    assert "PRIVATE KEY" not in listed.text
    officials = listed.json()["officials"]
    assert [o["login"] for o in officials] == [o.login for o in mock_officials(42)]
    assert all(o["revoked"] is False for o in officials)


async def test_a_certificate_for_a_developers_own_key(
    http: httpx.AsyncClient, dev_key: rsa.RSAPrivateKey
) -> None:
    body = {
        "csr": csr(dev_key, serial="IIN900101300017"),
        "body": "cc_north_kazakhstan",
        "role": "specialist",
        "region": "north_kazakhstan",
    }
    issued = await http.post("/certificates", json=body, headers={"Idempotency-Key": "dev-1"})
    assert issued.status_code == 201, issued.text
    answer = issued.json()
    assert (answer["full_name"], answer["iin"], answer["login"]) == (
        "Тестов Тест",
        "900101300017",
        None,
    )
    again = await http.post("/certificates", json=body, headers={"Idempotency-Key": "dev-1"})
    assert again.json()["serial"] == answer["serial"]
    fetched = await http.get(f"/certificates/{answer['serial'].upper()}")
    assert fetched.json()["certificate"] == answer["certificate"]

    trust = TrustAnchors.from_pem((await http.get("/ca.pem")).content)
    now = datetime.now(UTC)
    what = statement("cc_north_kazakhstan", now)
    signer = verify_handover(
        what,
        sign(dev_key, answer["certificate"], what),
        trust=trust,
        expected_body="cc_north_kazakhstan",
        expected_role="specialist",
        now=now,
    )
    assert (signer.full_name, signer.iin, signer.serial) == (
        "Тестов Тест",
        "900101300017",
        answer["serial"],
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"csr": "-----BEGIN CERTIFICATE REQUEST-----\n" + "A" * 80}, "csr"),
        ({"iin": "900101300018"}, "iin"),
        ({"role": "director"}, "role"),
        ({"body": "Career Centre"}, "body"),
        ({"region": ""}, "region"),
        ({"valid_days": 0}, "valid_days"),
        ({"csr": "no-cn"}, "full_name"),
        ({"csr": "weak"}, "csr"),
    ],
)
async def test_a_bad_certificate_request_names_the_field(
    http: httpx.AsyncClient, dev_key: rsa.RSAPrivateKey, change: dict[str, object], field: str
) -> None:
    body: dict[str, object] = {
        "csr": csr(dev_key),
        "body": "cc_turkestan",
        "role": "specialist",
        "region": "turkestan",
        "iin": "900101300017",
    }
    if change.get("csr") == "no-cn":
        change = {"csr": csr(dev_key, cn=None)}
    elif change.get("csr") == "weak":
        weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        change = {"csr": csr(weak)}
    answer = await http.post("/certificates", json={**body, **change})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in answer.json()["errors"]] == [field]


async def test_revocations_and_the_crl(http: httpx.AsyncClient, state_dir: Path) -> None:
    official = index(state_dir)[0]
    serial = str(official["serial"])
    first = await http.post("/revocations", json={"serial": serial, "reason": "key_compromise"})
    assert first.status_code == 201, first.text
    assert first.json()["reason"] == "key_compromise"
    again = await http.post("/revocations", json={"serial": serial})
    assert again.status_code == 200 and again.json() == first.json()
    unknown = await http.post("/revocations", json={"serial": "abc123"})
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "serial"
    not_hex = await http.post("/revocations", json={"serial": "xyz"})
    assert not_hex.status_code == 422 and not_hex.json()["errors"][0]["field"] == "serial"
    bad_reason = await http.post("/revocations", json={"serial": serial, "reason": "boredom"})
    assert bad_reason.status_code == 422 and bad_reason.json()["errors"][0]["field"] == "reason"
    listed = (await http.get("/revocations")).json()["revocations"]
    assert [r["serial"] for r in listed] == [serial]
    assert (await http.get("/officials")).json()["officials"][0]["revoked"] is True

    crl_pem = await http.get("/crl")
    assert crl_pem.status_code == 200
    crl_der = await http.get("/crl", params={"format": "der"})
    assert crl_der.headers["content-type"] == "application/pkix-crl"
    root = (await http.get("/ca.pem")).content
    for crl in (crl_pem.content, crl_der.content):
        trust = TrustAnchors.from_pem(root).with_crl(crl)
        key = serialization.load_pem_private_key(
            (state_dir / str(official["files"]["key"])).read_bytes(),  # type: ignore[index]
            password=None,
        )
        assert isinstance(key, rsa.RSAPrivateKey)
        certificate = (state_dir / str(official["files"]["certificate"])).read_text()  # type: ignore[index]
        now = datetime.now(UTC) + timedelta(seconds=1)
        what = statement(str(official["body"]), now)
        with pytest.raises(SignatureRefused) as caught:
            verify_handover(
                what,
                sign(key, certificate, what),
                trust=trust,
                expected_body=str(official["body"]),
                expected_role=str(official["role"]),
                now=now,
            )
        assert caught.value.reason is Refusal.revoked


async def test_the_cas_clock_is_the_admins(
    http: httpx.AsyncClient, dev_key: rsa.RSAPrivateKey
) -> None:
    past = datetime.now(UTC) - timedelta(days=400)
    moved = await http.put("/__admin/clock", json={"now": past.isoformat()})
    assert moved.status_code == 200
    issued = await http.post(
        "/certificates",
        json={
            "csr": csr(dev_key, serial="IIN900101300017"),
            "body": "cc_turkestan",
            "role": "specialist",
            "region": "turkestan",
            "valid_days": 30,
        },
    )
    answer = issued.json()
    assert datetime.fromisoformat(answer["not_after"]) < datetime.now(UTC)
    trust = TrustAnchors.from_pem((await http.get("/ca.pem")).content)
    now = datetime.now(UTC)
    what = statement("cc_turkestan", now)
    with pytest.raises(SignatureRefused) as caught:
        verify_handover(
            what,
            sign(dev_key, answer["certificate"], what),
            trust=trust,
            expected_body="cc_turkestan",
            expected_role="specialist",
            now=now,
        )
    assert caught.value.reason is Refusal.certificate_expired


async def test_faults_and_the_journal_apply_to_the_ca(http: httpx.AsyncClient) -> None:
    rule = await http.post(
        "/__admin/faults",
        json={"service": "ca.root", "kind": "http_error", "status": 503, "times": 1},
    )
    assert rule.status_code == 201, rule.text
    assert (await http.get("/ca.pem")).status_code == 503
    assert (await http.get("/ca.pem")).status_code == 200
    count = await http.get("/__admin/requests/count", params={"service": "ca.root"})
    assert count.json() == {"count": 2}
    assert (await http.get("/__admin/requests/count", params={"fault": "http_error"})).json() == {
        "count": 1
    }


async def test_data_reset_forgets_revocations_and_keeps_the_officials(
    http: httpx.AsyncClient, state_dir: Path
) -> None:
    serial = str(index(state_dir)[1]["serial"])
    assert (await http.post("/revocations", json={"serial": serial})).status_code == 201
    assert (await http.post("/__admin/data/reset")).status_code == 204
    assert (await http.get("/revocations")).json() == {"revocations": []}
    assert len((await http.get("/officials")).json()["officials"]) == 12
    assert (await http.post("/revocations", json={"serial": serial})).status_code == 201
