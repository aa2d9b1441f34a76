"""The mock CA as `gateway up` starts it: a process that writes its root and the officials'
keys before the rest of the system needs them, and answers over HTTP."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from contracts.signing import HandoverStatement
from gateway.processes import CA_ROOT, MockOptions, start_ca
from gateway.signatures import TrustAnchors, verify_handover
from mocks.ca import load_official
from tests.e2e.system import free_port

pytestmark = pytest.mark.e2e


def wait_http(url: str, proc: subprocess.Popen[bytes], seconds: float = 20) -> httpx.Response:
    """The first answer from ``url`` once the process listens (the files come first)."""
    deadline = time.monotonic() + seconds
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            return httpx.get(url, timeout=1)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"no answer from {url} (exit code {proc.poll()})")


def test_start_ca_waits_for_the_root_and_the_ca_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    port = free_port()
    proc = start_ca(MockOptions(ca_port=port))
    try:
        state = tmp_path / CA_ROOT.parent
        # Awaited: the root is there when start_ca returns, and the officials before it.
        assert (state / "root.pem").exists()
        officials = json.loads((state / "officials.json").read_text())["officials"]
        assert len(officials) == 12
        assert all((state / o["files"]["key"]).exists() for o in officials)

        base = f"http://127.0.0.1:{port}"
        root = wait_http(f"{base}/ca.pem", proc)
        assert root.content == (state / "root.pem").read_bytes()
        listed = httpx.get(f"{base}/officials", timeout=5).json()["officials"]
        assert [o["login"] for o in listed] == [o["login"] for o in officials]

        now = datetime.now(UTC)
        what = HandoverStatement(
            case_id="case-1", flow="kandas_application", step="cc_check", round=0,
            body="cc_turkestan", decision="forward", signed_at=now,
        )  # fmt: skip
        signer = verify_handover(
            what,
            load_official(state, "cc_turkestan_specialist").sign(what),
            trust=TrustAnchors.from_pem(root.content),
            expected_body="cc_turkestan",
            expected_role="specialist",
            now=now,
        )
        assert signer.serial == officials[0]["serial"]
    finally:
        proc.terminate()
        proc.wait(timeout=15)
