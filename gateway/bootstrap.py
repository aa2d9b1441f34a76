"""Development credentials for a machine that runs everything locally.

`gateway up` needs an admin, a demo centre and the four connected bodies registered so
that `gateway demo`, the benchmark and a developer's curl work at once. The keys go to a
file readable by the owner only; production registers clients with `gateway clients add`.
The demo centre is put in the register of centres at every start (once: it is left alone
when it is there), since its key and its plans are refused otherwise.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.clock import SystemClock
from gateway.agencies import Agencies, load_agencies
from gateway.auth import ClientKind
from gateway.services.centres import ensure_centre
from gateway.services.clients import add_client, authenticate
from gateway.services.staff import StaffRole, add_staff, authenticate_staff, hash_password
from gateway.store.tables import staff_users

DEMO_CENTRE = "demo-centre"
DEMO_CENTRE_NAMES = ("ЦПС (демонстрационный)", "Отбасыны қолдау орталығы (демонстрациялық)")
BOOTSTRAP = "gateway:bootstrap"


async def ensure_demo_centre(conn: AsyncConnection) -> bool:
    """The demo centre in the register; whether it had to be added (or reopened)."""
    name_ru, name_kk = DEMO_CENTRE_NAMES
    return await ensure_centre(
        conn,
        code=DEMO_CENTRE,
        name_ru=name_ru,
        name_kk=name_kk,
        actor=BOOTSTRAP,
        now=SystemClock().now(),
    )


async def ensure_dev_credentials(
    engine: AsyncEngine, agencies: Agencies, path: Path, api_url: str
) -> dict[str, Any]:
    async with engine.begin() as conn:
        await ensure_demo_centre(conn)
    if path.exists():  # noqa: ASYNC240 - one small local file, once at start-up
        existing: dict[str, Any] = json.loads(path.read_text())  # noqa: ASYNC240
        async with engine.connect() as conn:
            if await authenticate(conn, existing.get("admin", "")) is not None:
                existing["api_url"] = api_url
                _write(path, existing)
                return existing
    now = SystemClock().now()
    async with engine.begin() as conn:
        admin = await add_client(
            conn, name="local admin", kind=ClientKind.admin, scope=None, agencies=agencies, now=now
        )
        centre = await add_client(
            conn,
            name=DEMO_CENTRE_NAMES[0],
            kind=ClientKind.centre,
            scope=DEMO_CENTRE,
            agencies=agencies,
            now=now,
        )
        agency_keys = {}
        for code in agencies.enabled_codes():
            client = await add_client(
                conn,
                name=f"{code} system",
                kind=ClientKind.agency,
                scope=code,
                agencies=agencies,
                now=now,
            )
            agency_keys[code] = client.api_key
    data = {
        "api_url": api_url,
        "admin": admin.api_key,
        "centres": {DEMO_CENTRE: centre.api_key},
        "agencies": agency_keys,
    }
    _write(path, data)
    return data


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    os.chmod(path, 0o600)


def read_credentials(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: start the system with the README's run command first "
            "(it writes development credentials there), or pass --api-key"
        )
    data: dict[str, Any] = json.loads(path.read_text())
    return data


DEMO_STAFF = (
    ("demo-worker", "Демо Специалист", "worker", DEMO_CENTRE),
    ("demo-head", "Демо Руководитель", "head", DEMO_CENTRE),
)


def demo_body_staff(agencies: Agencies) -> list[tuple[str, str, str, str]]:
    """A specialist (`<body>-s`) and a head (`<body>-h`) of each kandas chain body, for its
    pages (their signing keys come from the mock certification authority), and of each
    office of the e-government flows (order 109, seed 002)."""
    staff = []
    bodies = {
        body.code: body
        for flow in (
            "kandas_application",
            "kandas_adaptation",
            "e_application",
            "employment_referral",
            "proactive_assistance",
        )
        for body in agencies.in_flow(flow)
    }
    for body in bodies.values():
        staff.append((f"{body.code}-s", f"Специалист ({body.name_ru})"[:200], "worker", body.code))
        staff.append((f"{body.code}-h", f"Руководитель ({body.name_ru})"[:200], "head", body.code))
    return staff


async def ensure_demo_staff(engine: AsyncEngine, path: Path) -> dict[str, Any]:
    """A worker and a head of the demo centre for the web workspace, their passwords
    kept beside the API keys. Existing accounts keep their passwords: only missing ones
    are created, so running `gateway up` again never locks a developer out."""
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}  # noqa: ASYNC240
    known: dict[str, str] = dict(data.get("staff", {}))
    now = SystemClock().now()
    async with engine.begin() as conn:
        for login, full_name, role, organisation in (
            *DEMO_STAFF,
            *demo_body_staff(load_agencies()),
        ):
            password = known.get(login)
            if password and await authenticate_staff(conn, login, password) is not None:
                continue
            password = secrets.token_urlsafe(12)
            changed = await conn.execute(
                update(staff_users)
                .where(staff_users.c.login == login)
                .values(password_hash=hash_password(password), disabled=False)
            )
            if not changed.rowcount:
                await add_staff(
                    conn,
                    login=login,
                    full_name=full_name,
                    centre=organisation,
                    role=StaffRole(role),
                    password=password,
                    now=now,
                )
            known[login] = password
    data["staff"] = known
    data["web_url"] = data.get("api_url", "http://127.0.0.1:8080") + "/web/"
    _write(path, data)
    return data
