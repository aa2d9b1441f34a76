"""`gateway demo kandas-adaptation`: a kandas family's first steps of five years (order 170
p.32-51) against the running system.

It first takes an application through the chain (`gateway demo kandas-application`) until
the individual plan is drafted, then plays the career centre of settlement: approves the
adaptation plan (the 25 services per member), waits for its upload to the Kandas system,
files three work reports with photo or video and geolocation, waits for them to reach the
Kandas system and the family card, reads the month's appendix 3 report (JSON, CSV, XLSX)
and delivers it to the local executive body, and asks for a monitoring run. Then, as the
workforce development centre, it scores the career centre's quarter and sends the
conclusion. Exits 0 when every step did what the act asks; otherwise non-zero, saying why.

The media are generated sample files (a 1x1 PNG and an MP4 header) and say so in the
report's comment: nothing in the demo poses as real evidence.
"""

from __future__ import annotations

import asyncio
import struct
import time
import uuid
import zlib
from datetime import datetime
from typing import Any

import httpx
from rich.console import Console

from contracts.clock import to_almaty
from contracts.iin import mask_iin
from gateway.demo import (
    EXIT_COMPLETED,
    EXIT_SUBMIT_REFUSED,
    EXIT_TIMEOUT,
    EXIT_UNEXPECTED,
    HTTP_TIMEOUT_SECONDS,
    POLL_SECONDS,
)
from gateway.demo_kandas import run_kandas_demo
from gateway.reports.quarter import Quarter

SETTLEMENT_CENTRE = "cc_north_kazakhstan"
EVALUATOR = "wdc"
PETROPAVL = (54.8720, 69.1430)
#: The three services the demo reports: (member index, service code, kind of evidence).
REPORTS = ((0, 1, "photo"), (0, 6, "photo"), (1, 15, "video"))


def sample_png() -> bytes:
    """A valid 1x1 PNG: a sample file, not evidence of anything."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x20\x80\x40")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def sample_mp4() -> bytes:
    """An MP4 `ftyp` box and an empty `mdat`: a sample container, no picture."""
    ftyp = b"ftypmp42" + b"\x00\x00\x00\x00" + b"mp42isom"
    return struct.pack(">I", 8 + len(ftyp)) + ftyp + struct.pack(">I", 8) + b"mdat"


async def _wait(
    http: httpx.AsyncClient, url: str, ready: Any, deadline: float, what: str, console: Console
) -> dict[str, Any] | None:
    while True:
        response = await http.get(url)
        if response.status_code == 200 and ready(response.json()):
            body: dict[str, Any] = response.json()
            return body
        if time.monotonic() > deadline:
            console.print(f"[red]не дождались: {what} ({response.status_code})[/]")
            return None
        await asyncio.sleep(POLL_SECONDS)


async def run_adaptation_demo(
    api_url: str,
    keys: dict[str, str],
    sample: dict[str, Any],
    timeout: float,  # noqa: ASYNC109  (a deadline for the whole demo, not for one call)
    *,
    console: Console | None = None,
) -> int:
    """`keys`: the API keys of `cc_turkestan`, `cc_north_kazakhstan` and `wdc`."""
    console = console or Console()
    started = time.monotonic()
    opened: list[str] = []
    code = await run_kandas_demo(
        api_url, keys["cc_turkestan"], sample, timeout, console=console, on_case=opened.append
    )
    if code != EXIT_COMPLETED or not opened:
        return code
    case_id = opened[0]
    deadline = started + timeout + 60
    centre = {"Authorization": f"Bearer {keys[SETTLEMENT_CENTRE]}"}
    async with httpx.AsyncClient(
        base_url=api_url, headers=centre, timeout=HTTP_TIMEOUT_SECONDS
    ) as http:
        today = to_almaty(datetime.now().astimezone()).date()
        approved = await http.post(
            f"/api/v1/kandas/applications/{case_id}/adaptation-plan",
            json={"quota_date": today.isoformat()},
        )
        if approved.status_code not in (200, 201):
            console.print(f"[red]план адаптации не утверждён: {approved.text}[/]")
            return EXIT_SUBMIT_REFUSED
        plan = approved.json()
        plan_id = plan["id"]
        services = sum(len(m["services"]) for m in plan["members"])
        console.print(
            f"план адаптации утверждён (п. 32–34): членов семьи {len(plan['members'])}, "
            f"услуг {services}; выгрузка в АИС «Кандас» до {plan['upload']['due_at'][:16]}"
        )
        url = f"/api/v1/kandas/adaptations/{plan_id}"
        uploaded = await _wait(
            http, url, lambda p: p["upload"]["kandas_plan_id"], deadline, "выгрузка", console
        )
        if uploaded is None:
            return EXIT_TIMEOUT
        console.print(
            f"выгружен в АИС «Кандас»: {uploaded['upload']['kandas_plan_id']}, "
            f"срок {uploaded['upload']['deadline']}"
        )

        members = plan["members"]
        for index, service, kind in REPORTS:
            member = members[min(index, len(members) - 1)]
            if service not in {s["code"] for s in member["services"]}:
                continue
            name, data, mime = (
                ("sample.png", sample_png(), "image/png")
                if kind == "photo"
                else ("sample.mp4", sample_mp4(), "video/mp4")
            )
            filed = await http.post(
                f"{url}/reports",
                data={
                    "member_iin": member["iin"],
                    "service_code": str(service),
                    "done_on": today.isoformat(),
                    "lat": str(PETROPAVL[0]),
                    "lon": str(PETROPAVL[1]),
                    "comment": "демо: файл-образец, не настоящее подтверждение",
                },
                files=[("media", (name, data, mime))],
                headers={"Idempotency-Key": f"demo-{plan_id}-{service}-{member['iin']}"},
            )
            if filed.status_code not in (200, 201):
                console.print(f"[red]отчёт не принят: {filed.status_code} {filed.text}[/]")
                return EXIT_SUBMIT_REFUSED
            console.print(
                f"отчёт (п. 35–37): {mask_iin(member['iin'])}, услуга {service}, "
                f"{kind}, sha256 {filed.json()['media'][0]['sha256'][:12]}…"
            )
        relayed = await _wait(
            http,
            url,
            lambda p: (
                len(p["reports"]) == len(REPORTS)
                and all(r["relayed_at"] and r["card_mirrored_at"] for r in p["reports"])
            ),
            deadline,
            "передача отчётов в АИС «Кандас» и ЦКС",
            console,
        )
        if relayed is None:
            return EXIT_TIMEOUT
        console.print("отчёты переданы в АИС «Кандас» и отражены в Цифровой карте семьи")

        month = f"{today.year:04d}-{today.month:02d}"
        report_url = f"/api/v1/kandas/monthly-reports/{SETTLEMENT_CENTRE}/{month}"
        report = (await http.get(report_url)).json()
        columns = len(report["columns"])
        filled = sum(1 for row in report["rows"] for cell in row[2:] if cell)
        as_csv = await http.get(report_url, params={"format": "csv"})
        as_xlsx = await http.get(report_url, params={"format": "xlsx"})
        delivered = await http.post(f"/api/v1/kandas/monthly-reports/{month}/delivery")
        if (
            columns != 27
            or filled < len(REPORTS)
            or as_csv.status_code != 200
            or as_xlsx.content[:2] != b"PK"
            or delivered.status_code != 200
        ):
            console.print(
                f"[red]отчёт по приложению 3: граф {columns}, отметок {filled}, "
                f"CSV {as_csv.status_code}, XLSX {len(as_xlsx.content)} байт, "
                f"представление {delivered.status_code}[/]"
            )
            return EXIT_UNEXPECTED
        console.print(
            f"отчёт за {month} (прил. 3, п. 39): граф {columns}, строк {len(report['rows'])}, "
            f"отметок {filled}; CSV {len(as_csv.content)} байт, XLSX {len(as_xlsx.content)} "
            f"байт; представлен в МИО (срок {report['due_by']})"
        )

        run = await http.post(f"{url}/monitoring-runs")
        if run.status_code != 201:
            console.print(f"[red]мониторинг: {run.status_code} {run.text}[/]")
            return EXIT_UNEXPECTED
        found = run.json()
        police = [e["answer"] for e in found["findings"]["migration_police"]]
        console.print(
            f"мониторинг (п. 43–45): {found['outcome']}; АИС «Кандас»: "
            f"{found['findings']['kandas']['answer']}, ЦКС: "
            f"{found['findings']['family_card']['answer']}, миграционная полиция: "
            f"{', '.join(police)}"
        )

    quarter = Quarter.of(datetime.now().astimezone()).label
    evaluator = {"Authorization": f"Bearer {keys[EVALUATOR]}"}
    async with httpx.AsyncClient(
        base_url=api_url, headers=evaluator, timeout=HTTP_TIMEOUT_SECONDS
    ) as http:
        scored = await http.post(
            "/api/v1/kandas/quality-evaluations",
            json={
                "career_centre": SETTLEMENT_CENTRE,
                "quarter": quarter,
                "scores": {"relevance": 4, "effectiveness": 3, "social_impact": 3},
                "comment": f"демо {uuid.uuid4().hex[:6]}",
            },
        )
        if scored.status_code not in (201, 409):  # 409: scored by an earlier run
            console.print(f"[red]оценка качества: {scored.status_code} {scored.text}[/]")
            return EXIT_UNEXPECTED
        sent = await http.post(
            f"/api/v1/kandas/quality-evaluations/{SETTLEMENT_CENTRE}/{quarter}/conclusion"
        )
        if sent.status_code != 200:
            console.print(f"[red]заключение: {sent.status_code} {sent.text}[/]")
            return EXIT_UNEXPECTED
        quality = sent.json()
    evaluation = quality["evaluations"][0]
    bands = " или ".join(evaluation["band_names_ru"]) or "ни один уровень"
    console.print(
        f"оценка качества за {quarter} (п. 47–50): сумма {evaluation['total']} — {bands}"
        + (" (уровень не выбран: сумма на границе)" if evaluation["ambiguous"] else "")
        + "; заключение направлено"
    )
    for problem in quality["inconsistencies"]:
        console.print(f"[yellow]шкала приказа: {problem['ru']}[/]")
    console.print(f"готово за {time.monotonic() - started:.1f} с")
    return EXIT_COMPLETED
