"""Schemathesis against the running system: the OpenAPI document says what the API does.

`gateway up` runs as processes (the gateway on SQLite, the real RabbitMQ, every mock, the
mock bus behind the registry lookups), exactly as a developer starts it. Schemathesis
reads `/openapi.json` from it and sends what the document allows, and what it does not
(negative cases), for each operation, with a centre's key, an ИПР body's and a kandas career
centre's (a seeded kandas application gives its case and step ids).
Every answer must be no server error, a documented status, a documented content type,
and a body that matches the documented schema.

Random ids only ever meet 404, so hypothesis also chooses, per case, whether the path
names a real plan and task seeded before the run (the mock bodies report on them, so a
review can be accepted and a plan cancelled). Examples and time are bounded: the whole
module takes well under a minute on two cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aio_pika
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Err
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from contracts.amqp import Topology
from gateway.agencies import load_agencies
from gateway.api.examples import PLAN
from gateway.broker.provision import ProvisionError, Rabbitmqctl, deprovision
from mocks.population import generate_population
from tests.conftest import AMQP_URL
from tests.e2e.system import System, free_port

pytestmark = pytest.mark.e2e

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "25"))
"""Per operation and mode; raise it for a longer hunt (`GATEWAY_FUZZ_EXAMPLES=2000`)."""
AGENCY = "health"
MOCK_SEED = 42  # `gateway up`'s default population


@dataclass(frozen=True)
class Running:
    url: str
    keys: dict[str, str] = field(repr=False)
    real: dict[str, dict[str, str]]
    """Per kind of key, path parameters that name resources the key may touch."""


def _seed(url: str, centre_key: str) -> dict[str, dict[str, str]]:
    """One plan of the demo centre, whose tasks the mock bodies then report on."""
    headers = {"Authorization": f"Bearer {centre_key}"}
    body = {**PLAN, "centre": "demo-centre", "approved_at": datetime.now(UTC).isoformat()}
    body["activities"] = [*PLAN["activities"], {"agency": "internal_affairs", "title": "Учёт"}]
    created = httpx.post(f"{url}/api/v1/plans", json=body, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    plan = created.json()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        tasks = httpx.get(f"{url}/api/v1/plans/{plan['id']}", headers=headers, timeout=5).json()
        if all(t["state"] == "reported" for t in tasks["tasks"]):
            break
        time.sleep(0.2)
    by_agency = {t["agency"]: t["id"] for t in plan["tasks"]}
    known = generate_population(MOCK_SEED).families[0].members[0].iin  # the mock bus knows them
    return {
        "centre": {"plan_id": plan["id"], "task_id": by_agency["education"], "iin": known},
        "agency": {"plan_id": plan["id"], "task_id": by_agency[AGENCY], "iin": known},
    }


def _seed_case(system: System, career_centre_key: str) -> dict[str, str]:
    """One kandas application of the mock registries' kandas family, at its first step."""
    sample = json.loads((system.root / ".gateway/mocks/shep/sample-people.json").read_text())
    family = sample["kandas_family"]
    body = {
        "departure_region": "turkestan",
        "settlement_region": "north_kazakhstan",
        "applicant_iin": family[0]["iin"],
        "members": family[1:],
        "phone": "+77010000002",
        "consent": {"given": True, "signed_on": "2026-12-01", "document": "Согласие № 1"},
    }
    created = httpx.post(
        f"{system.url}/api/v1/kandas/applications",
        json=body,
        headers={"Authorization": f"Bearer {career_centre_key}"},
        timeout=20,
    )
    assert created.status_code == 201, created.text
    case = created.json()
    return {
        "case_id": case["id"],
        "step_id": case["steps"][0]["id"],
        # The adaptation routes (order 170 p.32-51): a plan needs a drafted chain, so its id
        # is one that names none; the periods and media are real names.
        "adaptation_id": str(uuid.uuid4()),
        "sha256": "0" * 64,
        "career_centre": "cc_north_kazakhstan",
        "month": time.strftime("%Y-%m"),
        "quarter": "2026Q4",
    }


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    system = System(root=tmp_path_factory.mktemp("fuzz"), prefix=prefix)
    ports = [str(free_port()) for _ in range(9)]
    try:
        system.start(
            "up", "up", "--work-seconds", "0.05",
            "--shep-port", ports[0], "--egov-port", ports[1], "--kandas-port", ports[2],
            "--agencies-admin-port", ports[3],
            "--migration-portal-port", ports[4], "--labour-market-port", ports[5],
            "--ca-port", ports[6], "--family-card-port", ports[7],
            "--kandas-bodies-admin-port", ports[8],
        )  # fmt: skip
        system.wait_ready(timeout=60)
        credentials = system.root / "credentials.json"
        deadline = time.monotonic() + 10
        while not credentials.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        saved = json.loads(credentials.read_text())
        keys = {
            "centre": saved["centres"]["demo-centre"],
            "agency": saved["agencies"][AGENCY],
            "career_centre": saved["agencies"]["cc_turkestan"],  # a body of the kandas chain
        }
        real = _seed(system.url, keys["centre"])
        case = _seed_case(system, saved["agencies"]["cc_turkestan"])
        real["career_centre"] = {**real["agency"]}
        for ids in real.values():
            ids.update(case)
            # Names no key here may touch (a client, an incident): the refusals are checked.
            ids.update(client_id=str(uuid.uuid4()), incident_id="1")
        yield Running(system.url, keys, real)
    finally:
        system.stop_all()
        asyncio.run(_delete_topology(prefix))


async def _delete_topology(prefix: str) -> None:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        await Topology(prefix, load_agencies().enabled_codes()).delete(channel)
    # The body users `gateway up` provisioned for this prefix.
    with contextlib.suppress(ProvisionError):
        await deprovision(Rabbitmqctl(), prefix)


FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    max_examples=EXAMPLES_PER_OPERATION,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
)


Operation = APIOperation[Any, Any, Any, Any]


def _cases(operation: Operation, mode: GenerationMode, real: dict[str, str]) -> Any:
    """Generated cases; where the path has ids, half of them name the seeded resources."""
    generated = operation.as_strategy(generation_mode=mode)
    names = {p.name for p in operation.path_parameters}
    if not names:
        return generated
    ids = {name: real[name] for name in names}
    return st.one_of(generated, operation.as_strategy(generation_mode=mode, path_parameters=ids))


def _fuzz(running: Running, who: str) -> dict[str, str]:
    """Each operation in each mode; what failed, by operation, with schemathesis's report."""
    schema = schemathesis.openapi.from_url(f"{running.url}/openapi.json")
    headers = {"Authorization": f"Bearer {running.keys[who]}"}
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures[str(result.err())] = "the document has an operation schemathesis cannot read"
            continue
        operation = result.ok()
        negatable = any(
            len(part) for part in (operation.path_parameters, operation.query, operation.headers)
        ) or bool(list(operation.body))
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if negatable else [])
        for mode in modes:

            @FUZZ
            @given(case=_cases(operation, mode, running.real[who]))
            def run(case: Case[Any]) -> None:
                case.call_and_validate(headers=headers, checks=CHECKS, timeout=10)

            try:
                run()
            except FailureGroup as group:  # several distinct failures, each with its report
                report = "\n".join(str(failure) for failure in group.exceptions)
                failures[f"{operation.label} ({mode.value})"] = report
            except Failure as failure:
                failures[f"{operation.label} ({mode.value})"] = str(failure)
    return failures


@pytest.mark.parametrize("who", ["centre", "agency", "career_centre"])
def test_the_api_does_what_its_document_says(running: Running, who: str) -> None:
    started = time.monotonic()
    failures = _fuzz(running, who)
    print(f"schemathesis with a {who}'s key: {time.monotonic() - started:.1f} s")
    assert not failures, "\n\n".join(f"{label}:\n{report}" for label, report in failures.items())
