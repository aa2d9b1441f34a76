"""`gateway up` starts the mock CA before the other mocks and points the gateway at its root."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import processes
from gateway.processes import MockOptions


class _Exited:
    """Stands for a child that already exited, so nothing waits for its files."""

    def poll(self) -> int:
        return 1


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[str, ...], dict[str, str] | None]]:
    calls: list[tuple[tuple[str, ...], dict[str, str] | None]] = []

    def fake(*args: str, env: dict[str, str] | None = None) -> _Exited:
        calls.append((args, env))
        return _Exited()

    monkeypatch.setattr(processes, "_python", fake)
    return calls


def test_the_ca_is_started_first_with_its_port_seed_and_state_dir(
    started: list[tuple[tuple[str, ...], dict[str, str] | None]],
) -> None:
    procs = processes.start_mocks(MockOptions(seed=7, agencies=False))
    modules = [args[1] for args, _ in started]
    assert modules[0] == "mocks.ca"
    assert set(modules) == {
        "mocks.ca", "mocks.shep", "mocks.egov", "mocks.kandas", "mocks.family_card",
        "mocks.migration_portal", "mocks.labour_market",
    }  # fmt: skip
    args = started[0][0]
    assert args[args.index("--port") + 1] == "8270"
    assert args[args.index("--seed") + 1] == "7"
    assert Path(args[args.index("--state-dir") + 1]) == Path(".gateway/mocks/ca")
    assert len(procs) == 7


def test_the_gateway_trusts_the_mock_cas_root_unless_told_otherwise(
    started: list[tuple[tuple[str, ...], dict[str, str] | None]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GATEWAY_CA_ROOT", raising=False)
    processes.start_gateway(MockOptions())
    env = started[-1][1]
    assert env is not None and Path(env["GATEWAY_CA_ROOT"]) == Path(".gateway/mocks/ca/root.pem")
    monkeypatch.setenv("GATEWAY_CA_ROOT", "/etc/nuc/root.pem")
    processes.start_gateway(MockOptions())
    env = started[-1][1]
    assert env is not None and env["GATEWAY_CA_ROOT"] == "/etc/nuc/root.pem"


def test_the_setting_is_read_from_gateway_ca_root(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.config import Settings

    monkeypatch.delenv("GATEWAY_CA_ROOT", raising=False)
    assert Settings().ca_root is None
    monkeypatch.setenv("GATEWAY_CA_ROOT", "/etc/nuc/root.pem")
    assert Settings().ca_root == Path("/etc/nuc/root.pem")
