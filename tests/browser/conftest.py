"""Headless Chromium from the distribution's package, driven by Playwright for Python.

Playwright's own browser download is never used (`playwright install` needs the
internet and fetches a second browser); the Debian `chromium` package is launched by
path. `scripts/test` installs it when missing (see `ensure_chromium` in scripts/lib.sh).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import system  # noqa: F401  (the running system as processes)

CHROMIUM = os.environ.get("GATEWAY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture
def chromium_contexts(tmp_path: Path) -> Iterator[Any]:
    """A factory of browser contexts, each its own profile: two people signed in at once."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail(
            f"{CHROMIUM} not found: install Debian's chromium package "
            "(sudo apt-get install chromium) or run ./scripts/test, which does"
        )
    from playwright.sync_api import sync_playwright

    opened: list[Any] = []
    with sync_playwright() as playwright:

        def new_context(name: str = "chromium-profile") -> Any:
            context = playwright.chromium.launch_persistent_context(
                str(tmp_path / name),
                executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
                args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 900},
                locale="ru-RU",
            )
            opened.append(context)
            return context

        try:
            yield new_context
        finally:
            for context in opened:
                context.close()


@pytest.fixture
def chromium(chromium_contexts: Any) -> Any:
    return chromium_contexts()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
