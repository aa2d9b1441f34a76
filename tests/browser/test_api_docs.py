"""`/docs` renders with the network off: Swagger UI comes from our own process.

Every request the page makes that is not to 127.0.0.1 is aborted and remembered, as on
an isolated government network; the page must render every operation of the document,
show the bearer scheme and the problem documents, need no blocked request, and break
none of its Content-Security-Policy (a refused inline script or style would be a console
error).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.system import System

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_docs_render_offline_under_the_strict_policy(
    system: System, chromium: Any, screenshots: Path
) -> None:
    system.start_gateway()
    document = httpx.get(f"{system.url}/openapi.json", timeout=5).json()
    operations = [
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]
    docs = httpx.get(f"{system.url}/docs", timeout=5)
    assert "script-src 'self'" in docs.headers["content-security-policy"]
    assert "cdn" not in docs.text.lower()

    blocked: list[str] = []
    errors: list[str] = []

    def only_loopback(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    chromium.route("**/*", only_loopback)
    page = chromium.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{system.url}/docs")

    page.locator(".opblock").first.wait_for(timeout=15_000)
    shown = [
        (block.locator(".opblock-summary-method").inner_text().strip(),
         block.locator(".opblock-summary-path").get_attribute("data-path"))
        for block in page.locator(".opblock").all()
    ]  # fmt: skip
    assert sorted(shown) == sorted(operations)
    assert page.get_by_role("button", name=re.compile("Authorize")).is_visible()

    submit = page.locator("#operations-plans-submit_plan_api_v1_plans_post")
    submit.locator(".opblock-summary").click()
    responses = submit.locator(".responses-table").first
    responses.wait_for(timeout=5_000)
    for status in ("201", "401", "403", "409", "413", "422"):
        assert responses.locator(f"tr[data-code='{status}']").count() == 1, status
    assert "application/problem+json" in responses.inner_text()
    page.screenshot(path=str(screenshots / "api-docs-offline.png"), full_page=False)

    assert blocked == []
    assert [e for e in errors if "Content Security Policy" in e or "Refused" in e] == []
    assert errors == []
