"""Development credentials for a machine that runs everything locally.

`gateway up` needs an admin, a demo centre and the four connected bodies registered so
that `gateway demo`, the benchmark and a developer's curl work at once. The keys go to a
file readable by the owner only; production registers clients with `gateway clients add`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.agencies import Agencies
from gateway.auth import ClientKind
from gateway.clock import SystemClock
from gateway.services.clients import add_client, authenticate

DEMO_CENTRE = "demo-centre"


async def ensure_dev_credentials(
    engine: AsyncEngine, agencies: Agencies, path: Path, api_url: str
) -> dict[str, Any]:
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
            name="Demo family support centre",
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
