"""SIGKILL the gateway between publishing the citizen's notices and marking them sent.

The restarted relay publishes them again; the portal notifier and the portal's
Idempotency-Key make the result reach the citizen once: the mock portal holds exactly
one cabinet notice and one SMS for the application (order 109 p.10).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mocks.admin import MockAdmin
from mocks.egov import create_app
from mocks.population import generate_population
from mocks.shep.server import serve_in_thread
from tests.citizen_signing import CitizenAuthority
from tests.e2e.system import System

pytestmark = pytest.mark.e2e

LEB = "Управление координации занятости и социальных программ"
SERVICE = "Назначение государственной адресной социальной помощи"


def _wait(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _rows(system: System, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(system.database) as db:
        return db.execute(sql).fetchall()


def test_one_notice_per_result_after_a_sigkill_between_publish_and_mark(system: System) -> None:
    population = generate_population(42)
    person = next(
        p
        for p in population.people
        if p.permanent_address is not None
        and p.permanent_address.region == "г. Астана"
        and p.role == "father"
    )
    address = person.permanent_address
    assert address is not None
    citizens = CitizenAuthority()
    root = system.root / "citizens-root.pem"
    root.write_bytes(citizens.root_pem)
    with serve_in_thread(create_app(population, MockAdmin(seed=1))) as server:
        portal = server.base_url
        env = {"GATEWAY_EGOV_URL": portal, "GATEWAY_EGOV_POLL_SECONDS": "0.3",
               "GATEWAY_KANDAS_URL": "", "GATEWAY_LABOUR_MARKET_URL": "",
               "GATEWAY_CA_ROOT": str(root)}  # fmt: skip
        regional = system.gateway("clients", "add", "--name", "r", "--kind", "agency",
                                  "--scope", "uzsp_astana")  # fmt: skip
        district = system.gateway("clients", "add", "--name", "d", "--kind", "agency",
                                  "--scope", "ozsp_astana")  # fmt: skip
        assert regional.returncode == 0 and district.returncode == 0, regional.stderr
        as_regional = {"Authorization": f"Bearer {regional.stdout.strip()}"}
        as_district = {"Authorization": f"Bearer {district.stdout.strip()}"}
        system.start_gateway(**env)

        form = {
            "iin": person.iin, "surname": person.last_name, "name": person.first_name,
            "email": "c@example.kz", "postal_address": f"{address.locality}, {address.street}",
            "phone": "+77011234567", "service_name": SERVICE, "region": address.region,
            "recipient": f"{LEB} — {address.region}", "content": "Прошу назначить АСП",
            "attachments": [],
        }  # fmt: skip
        form["signature"] = citizens.sign(form)
        appeal = httpx.post(f"{portal}/api/v1/appeals", json=form, timeout=5).json()

        def the_case() -> str | None:
            inbox = httpx.get(
                f"{system.url}/api/v1/e-government/cases", headers=as_regional, timeout=5
            ).json()
            return inbox["items"][0]["case_id"] if inbox["items"] else None

        case_id = _wait(the_case, 20, "the gateway to take the application in")
        forwarded = httpx.post(
            f"{system.url}/api/v1/e-applications/{case_id}/forward", headers=as_regional, timeout=5
        )
        assert forwarded.status_code == 200, forwarded.text
        _wait(
            lambda: (
                httpx.get(f"{portal}/api/v1/appeals/{appeal['id']}", timeout=5).json()["status"]
                == "in_review"
            ),
            20,
            "the portal to show the application in review",
        )
        system.stop_all()

        marker = system.root / "held"
        system.start_gateway(
            GATEWAY_FAULT_HOLD="before_mark", GATEWAY_FAULT_MARKER=str(marker), **env
        )
        checked = httpx.post(
            f"{system.url}/api/v1/e-applications/{case_id}/check",
            json={"decision": "forward", "result": "АСП назначена"},
            headers=as_district,
            timeout=5,
        )
        assert checked.status_code == 200, checked.text
        _wait(marker.exists, 15, "the relay to publish and hold before marking")

        def delivered() -> tuple[list[Any], list[Any]]:
            box = httpx.get(f"{portal}/__admin/outbox", timeout=5).json()
            return (
                [c for c in box["cabinet"] if c["notification"]["appeal_id"] == appeal["id"]],
                [s for s in box["sms"] if s["sms"]["appeal_id"] == appeal["id"]],
            )

        _wait(lambda: all(delivered()), 15, "the notices to reach the portal")
        system.kill("gateway")
        unmarked = _rows(system, "SELECT count(*) FROM outbox WHERE published_at IS NULL")
        assert unmarked == [(3,)]  # answered, cabinet, SMS: published, never marked

        system.start_gateway(**env)
        _wait(
            lambda: (
                _rows(system, "SELECT count(*) FROM outbox WHERE published_at IS NULL") == [(0,)]
            ),
            20,
            "the restarted relay to send the batch again",
        )
        time.sleep(1.5)  # the copies reach the notifier and are dropped or answered again
        cabinet, sms = delivered()
        assert len(cabinet) == 1 and len(sms) == 1
        final = httpx.get(f"{portal}/api/v1/appeals/{appeal['id']}", timeout=5).json()
        assert final["status"] == "answered"
        assert [h["status"] for h in final["history"]] == [
            "received", "forwarded", "in_review", "answered",
        ]  # fmt: skip
