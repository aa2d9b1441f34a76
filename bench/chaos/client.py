"""The drill's calling systems: centres that submit, look families up and review, as a
well-behaved client would through a gateway that is being knocked over.

A call that meets a dead process (connection refused or reset), a 502/504 or a 503
is retried with the same body and the same `Idempotency-Key`, after the `Retry-After`
the gateway asked for; a 500 is counted (it would be a bug) and retried too.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

RETRY_STATUS = frozenset({500, 502, 503, 504})


class GaveUp(RuntimeError):
    pass


@dataclass
class Stats:
    calls: Counter[str] = field(default_factory=Counter)
    refused_503: int = 0
    network_errors: int = 0
    server_errors: int = 0
    lookups: Counter[int] = field(default_factory=Counter)
    accepted: int = 0
    review_conflicts: int = 0


class Api:
    def __init__(self, base_url: str, key: str, *, connections: int = 16) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {key}"},
            timeout=httpx.Timeout(30.0),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )
        self.stats = Stats()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        give_up_after: float = 180.0,
        accept: frozenset[int] = frozenset({200, 201}),
    ) -> httpx.Response:
        """The first answer that is not a retryable failure (or one in `accept`)."""
        deadline = time.monotonic() + give_up_after
        pause = 0.2
        self.stats.calls[method] += 1
        while True:
            try:
                response = await self.http.request(method, path, json=json, headers=headers)
            except httpx.TransportError:
                self.stats.network_errors += 1
                response = None
            if response is not None:
                if response.status_code in accept or response.status_code not in RETRY_STATUS:
                    return response
                if response.status_code == 503:
                    if path.startswith("/api/v1/registry/"):
                        return response  # a registry that is down is an answer, not a retry
                    self.stats.refused_503 += 1
                elif response.status_code == 500:
                    self.stats.server_errors += 1
            if time.monotonic() > deadline:
                raise GaveUp(f"{method} {path}: no answer within {give_up_after:.0f} s")
            wait = pause
            if response is not None and "retry-after" in response.headers:
                wait = float(response.headers["retry-after"])
            await asyncio.sleep(wait * random.uniform(0.8, 1.2))
            pause = min(pause * 2, 3.0)

    async def submit(self, key: str, body: dict[str, Any]) -> str:
        response = await self.call(
            "POST", "/api/v1/plans", json=body, headers={"Idempotency-Key": key}
        )
        if response.status_code not in (200, 201):
            raise GaveUp(f"submit {key}: {response.status_code} {response.text[:300]}")
        return str(response.json()["id"])

    async def lookup(self, iin: str) -> int:
        path = f"/api/v1/registry/persons/{iin}?purpose=ipr_monitoring"
        response = await self.call("GET", path, accept=frozenset())
        self.stats.lookups[response.status_code] += 1
        return response.status_code

    async def plan(self, plan_id: str) -> dict[str, Any]:
        response = await self.call("GET", f"/api/v1/plans/{plan_id}")
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    async def listing(self) -> tuple[int, list[dict[str, Any]]]:
        """Every plan of the centre as the list endpoint sums it up."""
        items: list[dict[str, Any]] = []
        offset, total = 0, None
        while total is None or offset < total:
            page = (await self.call("GET", f"/api/v1/plans?limit=500&offset={offset}")).json()
            total = int(page["total"])
            items.extend(page["items"])
            offset += 500
            if not page["items"]:
                break
        return total or 0, items

    async def accept_reported(self, plan_id: str) -> int:
        """Accept every reported task of a plan; how many were accepted now."""
        plan = await self.plan(plan_id)
        done = 0
        for task in plan["tasks"]:
            if task["state"] != "reported":
                continue
            response = await self.call(
                "POST",
                f"/api/v1/plans/{plan_id}/tasks/{task['id']}/review",
                json={"decision": "accept"},
                accept=frozenset({200, 409}),
            )
            if response.status_code == 409:
                self.stats.review_conflicts += 1  # accepted by a retry already
            elif response.status_code == 200:
                done += 1
            else:
                raise GaveUp(f"review: {response.status_code} {response.text[:300]}")
        self.stats.accepted += done
        return done


async def gather_limited(limit: int, coroutines: list[Any]) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(coro: Any) -> Any:
        async with gate:
            return await coro

    return list(await asyncio.gather(*(one(c) for c in coroutines)))
