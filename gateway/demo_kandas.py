"""`gateway demo kandas-application`: a kandas family's application through the whole chain.

The demo plays the career centre of the region of departure against a running system: it
opens an application (order 170, appendix 2) for the mock registries' kandas family,
attaches the scans the application says no registry holds, and follows the chain live as
the mock bodies of two regions hand it on, each hand-over signed. The labour mobility
centre's head returns it once at p.9 (`gateway up` starts the mock bodies so); the career
centre re-checks and sends it again. The demo exits 0 when the individual adaptation plan
is drafted (p.19, p.28) and every signature of the chain verifies; otherwise non-zero,
saying why.

As in `gateway.demo`, what decides and draws is a pure function of the case as the API
returns it; `run_kandas_demo` only moves data between the API and the terminal.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from gateway.demo import (
    EXIT_COMPLETED,
    EXIT_CREDENTIAL_REFUSED,
    EXIT_PLAN_CANCELLED,
    EXIT_SUBMIT_REFUSED,
    EXIT_TIMEOUT,
    EXIT_UNEXPECTED,
    EXIT_UNREACHABLE,
    HTTP_TIMEOUT_SECONDS,
    POLL_SECONDS,
    RUN_HINT,
)

CAREER_CENTRE = "cc_turkestan"
PLAN_DRAFTED = "cc_plan"  # p.19, p.28: the step whose hand-over means the plan is drafted
EXIT_CHAIN_BROKEN = 9

STATE_RU = {
    "created": "ожидает",
    "dispatched": "у органа",
    "forwarded": "подписано, передано",
    "returned": "возвращено",
    "refused": "отказано",
    "withdrawn": "отозвано",
}
DEADLINE_RU = {"on_time": "в срок", "at_risk": "под угрозой", "breached": "просрочено"}


def application_body(sample: dict[str, Any]) -> dict[str, Any]:
    family = sample["kandas_family"]
    applicant = next(m for m in family if m["relation"] == "applicant")
    return {
        "external_id": f"КЦ-ДЕМО-{uuid.uuid4().hex[:6].upper()}",
        "departure_region": "turkestan",
        "settlement_region": "north_kazakhstan",
        "applicant_iin": applicant["iin"],
        "members": [m for m in family if m["relation"] != "applicant"],
        "phone": "+77010000000",
        "consent": {"given": True, "signed_on": time.strftime("%Y-%m-%d"),
                    "document": "Согласие (демо)"},
    }


def scans_for(case: dict[str, Any]) -> list[dict[str, str]]:
    """Sample scans for what no registry holds; their content says they are samples."""
    return [
        {
            "fact": s["key"],
            "file_name": f"{s['key'].replace(':', '-')}.pdf",
            "sha256": hashlib.sha256(f"демо-скан {s['key']}".encode()).hexdigest(),
        }
        for s in case["intake"]["scans_needed"]
        if not s["provided"]
    ]


def outcome(case: dict[str, Any]) -> tuple[int, str] | None:
    """Exit code and message when the demo is over; None while the chain is moving."""
    drafted = any(s["step"] == PLAN_DRAFTED and s["state"] == "forwarded" for s in case["steps"])
    if drafted:
        returns = sum(1 for s in case["steps"] if s["state"] == "returned")
        return EXIT_COMPLETED, (
            f"план адаптации составлен: {len(case['steps'])} шагов, возвратов {returns}"
        )
    if case["status"] == "cancelled":
        return EXIT_PLAN_CANCELLED, f"в заявлении отказано: {case.get('closed_reason')}"
    return None


def render(case: dict[str, Any], elapsed: float) -> RenderableType:
    table = Table(title=f"Заявление {case.get('external_id') or case['id']}", expand=False)
    for column in ("№", "Шаг", "Орган", "Состояние", "Срок", "Подписал"):
        table.add_column(column, overflow="fold")
    for index, step in enumerate(case["steps"], start=1):
        deadline = step["deadlines"][-1] if step["deadlines"] else None
        due = ""
        if deadline:
            when = deadline["due_at"][5:16].replace("T", " ")
            due = f"{DEADLINE_RU[deadline['state']]} до {when}"
        signer = step["handover"]["signer_name"] if step["handover"] else ""
        table.add_row(
            str(index),
            f"{step['step']} ({step['clause'].removeprefix('order 170 ')})",
            step["body"],
            STATE_RU.get(step["state"], step["state"]),
            due,
            signer,
        )
    recent = [e for e in case["timeline"] if e["type"] in ("handover", "handover_refused")][-3:]
    lines = [Text(f"{e['at'][11:19]} {e['type']}: {e.get('reason') or ''}") for e in recent]
    return Group(table, *lines, Text(f"прошло {elapsed:.1f} с", style="dim"))


def load_sample(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


async def run_kandas_demo(
    api_url: str,
    api_key: str,
    sample: dict[str, Any],
    timeout: float,  # noqa: ASYNC109  (a deadline for the whole demo, not for one call)
    *,
    console: Console | None = None,
    on_case: Callable[[str], None] | None = None,
) -> int:
    """`on_case` hears the case's id once it is opened (the adaptation demo goes on from it)."""
    console = console or Console()
    headers = {"Authorization": f"Bearer {api_key}"}
    started = time.monotonic()
    async with httpx.AsyncClient(
        base_url=api_url, headers=headers, timeout=HTTP_TIMEOUT_SECONDS
    ) as http:
        try:
            opened = await http.post(
                "/api/v1/kandas/applications",
                json=application_body(sample),
                headers={"Idempotency-Key": f"demo-{uuid.uuid4()}"},
            )
        except httpx.TransportError as error:
            console.print(f"[red]нет связи со шлюзом {api_url}: {error}[/]; {RUN_HINT}")
            return EXIT_UNREACHABLE
        if opened.status_code in (401, 403):
            console.print(f"[red]ключ карьерного центра отклонён: {opened.text}[/]")
            return EXIT_CREDENTIAL_REFUSED
        if opened.status_code not in (200, 201):
            console.print(f"[red]заявление не принято ({opened.status_code}): {opened.text}[/]")
            return EXIT_SUBMIT_REFUSED
        case: dict[str, Any] = opened.json()
        case_id = case["id"]
        if on_case is not None:
            on_case(case_id)
        console.print(
            f"заявление {case_id}: сведений из реестров {len(case['intake']['facts'])}, "
            f"недостающих {len(case['intake']['missing'])}"
        )
        scans = scans_for(case)
        if scans:
            attached = await http.post(f"/api/v1/cases/{case_id}/scans", json={"scans": scans})
            if attached.status_code != 200:
                console.print(f"[red]сканы не приняты: {attached.text}[/]")
                return EXIT_SUBMIT_REFUSED
            console.print(f"приложено сканов: {len(scans)} (нет ни в одном реестре)")
        with Live(render(case, 0), console=console, refresh_per_second=4) as live:
            while True:
                response = await http.get(f"/api/v1/cases/{case_id}")
                if response.status_code != 200:
                    console.print(f"[red]чтение заявления: {response.status_code} {response.text}")
                    return EXIT_UNEXPECTED
                case = response.json()
                live.update(render(case, time.monotonic() - started))
                done = outcome(case)
                if done is not None:
                    break
                if time.monotonic() - started > timeout:
                    console.print(f"[red]за {timeout:.0f} с план не составлен; шаг "
                                  f"{case.get('current_step')} у {case.get('current_body')}[/]")
                    return EXIT_TIMEOUT
                await asyncio.sleep(POLL_SECONDS)
        code, message = done
        verified = (await http.get(f"/api/v1/cases/{case_id}/handovers/verification")).json()
    console.print(message)
    console.print(
        f"подписи цепочки: проверено {verified['verified']} из {verified['handovers']}"
        + (f"; ошибка: {verified['first_failure']}" if verified["first_failure"] else "")
    )
    if code == EXIT_COMPLETED and verified["first_failure"] is not None:
        return EXIT_CHAIN_BROKEN
    return code
