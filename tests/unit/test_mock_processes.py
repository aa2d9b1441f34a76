"""`gateway up` and `gateway mocks up` start the migration portal and the labour market
mocks, and point the gateway's settings at them unless the environment already does."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from gateway import processes
from gateway.config import Settings
from gateway.processes import MockOptions


class Spawned:
    def __init__(self) -> None:
        self.calls: list[tuple[tuple[str, ...], dict[str, str] | None]] = []

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Any:
        self.calls.append((args, env))
        return subprocess.Popen(["true"])


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> Spawned:
    spy = Spawned()
    monkeypatch.setattr(processes, "_python", spy)
    monkeypatch.setattr(processes, "_wait_for", lambda *a, **k: None)
    return spy


def test_start_mocks_runs_both_on_their_ports(spawned: Spawned) -> None:
    options = MockOptions(
        seed=7, families=3, migration_portal_port=18250, labour_market_port=18260, agencies=False
    )
    for proc in processes.start_mocks(options):
        proc.wait()
    commands = [args for args, _ in spawned.calls]
    population = ("--seed", "7", "--families", "3")
    assert ("-m", "mocks.migration_portal", "--port", "18250", *population) in commands
    assert ("-m", "mocks.labour_market", "--port", "18260", *population) in commands


def test_defaults_are_8250_and_8260(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_MIGRATION_PORTAL_URL", raising=False)
    monkeypatch.delenv("GATEWAY_LABOUR_MARKET_URL", raising=False)
    options = MockOptions()
    assert options.migration_portal_url == "http://127.0.0.1:8250/"
    assert options.labour_market_url == "http://127.0.0.1:8260/"
    settings = Settings()
    assert (settings.migration_portal_url, settings.labour_market_url) == (
        options.migration_portal_url,
        options.labour_market_url,
    )


def test_the_gateway_is_pointed_at_the_mocks_unless_told_otherwise(
    spawned: Spawned, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GATEWAY_MIGRATION_PORTAL_URL", raising=False)
    monkeypatch.setenv("GATEWAY_LABOUR_MARKET_URL", "http://labour.example:9000/")
    processes.start_gateway(MockOptions(migration_portal_port=18250)).wait()
    ((_, env),) = spawned.calls
    assert env is not None
    assert env["GATEWAY_MIGRATION_PORTAL_URL"] == "http://127.0.0.1:18250/"
    assert env["GATEWAY_LABOUR_MARKET_URL"] == "http://labour.example:9000/"
    monkeypatch.setenv("GATEWAY_MIGRATION_PORTAL_URL", env["GATEWAY_MIGRATION_PORTAL_URL"])
    assert Settings().migration_portal_url == "http://127.0.0.1:18250/"
