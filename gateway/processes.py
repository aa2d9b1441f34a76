"""Starting the system's processes on one machine and stopping them together.

`gateway up` and `gateway mocks up` each run a few long-lived children (the gateway, the
mock government systems); if one dies the others are stopped too, so a developer never
has half a system running without noticing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from gateway.agencies import load_agencies

MOCK_STATE = Path(".gateway") / "mocks"


@dataclass(frozen=True)
class MockOptions:
    seed: int = 42
    families: int = 12
    shep_port: int = 8200
    egov_port: int = 8210
    kandas_port: int = 8220
    agencies_admin_port: int = 8230
    agencies: bool = True
    work_seconds: float = 2.0
    reject_rate: float = 0.0
    migration_portal_port: int = 8250
    labour_market_port: int = 8260
    ca_port: int = 8270
    kandas_bodies: bool = True
    """The kandas chain's six bodies (`mocks/kandas_bodies`), acting on their own over AMQP."""
    kandas_bodies_admin_port: int = 8280
    kandas_bodies_return_at: str = "lmc_review"
    """`gateway up` has the labour mobility centre's head return each application once at
    p.9, so the demo shows a return and the re-check; empty for none."""
    manual_bodies: tuple[str, ...] = ()
    """Chain bodies whose steps people take on the web pages: the mock leaves them alone."""
    family_card_port: int = 8240
    broker_users: Path | None = None
    """The bodies' own broker users (`gateway broker provision`): the mock bodies connect
    as them and the gateway requires them. None: every body publishes as the gateway's
    broker user and the gateway takes the body a message names (no identities checked)."""

    @property
    def shep_url(self) -> str:
        return f"http://127.0.0.1:{self.shep_port}/bip-sync-wss-gost/"

    @property
    def migration_portal_url(self) -> str:
        return f"http://127.0.0.1:{self.migration_portal_port}/"

    @property
    def labour_market_url(self) -> str:
        return f"http://127.0.0.1:{self.labour_market_port}/"

    @property
    def family_card_url(self) -> str:
        return f"http://127.0.0.1:{self.family_card_port}"

    @property
    def kandas_url(self) -> str:
        return f"http://127.0.0.1:{self.kandas_port}/"


def _python(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, *args], env=env)


def start_mocks(options: MockOptions) -> list[subprocess.Popen[bytes]]:
    """The bus with its registries (SOAP), the portal, Kandas, the family card, the migration
    portal and the labour market system (REST), the bodies (AMQP).

    The bus is started first and awaited: it writes the development keys the gateway's
    bus client reads when it starts.
    """
    population = ["--seed", str(options.seed), "--families", str(options.families)]
    ca = start_ca(options)
    shep_state = MOCK_STATE / "shep"
    procs = [
        _python(
            "-m",
            "mocks.shep",
            "--port",
            str(options.shep_port),
            *population,
            "--state-dir",
            str(shep_state),
        ),
        _python("-m", "mocks.egov", "--port", str(options.egov_port), *population),
        _python("-m", "mocks.kandas", "--port", str(options.kandas_port), *population),
        _python(
            "-m",
            "mocks.migration_portal",
            "--port",
            str(options.migration_portal_port),
            *population,
        ),
        _python(
            "-m", "mocks.labour_market", "--port", str(options.labour_market_port), *population
        ),
        _python("-m", "mocks.family_card", "--port", str(options.family_card_port), *population),
    ]
    if options.agencies:
        procs.append(
            _python(
                "-m",
                "mocks.agencies",
                "run",
                "--agencies",
                ",".join(load_agencies().enabled_codes("ipr")),
                "--work-seconds",
                str(options.work_seconds),
                "--reject-rate",
                str(options.reject_rate),
                "--admin-port",
                str(options.agencies_admin_port),
                *_broker_users_args(options),
            )
        )
    _wait_for(shep_state / "bus-cert.pem", procs[0], seconds=20)
    if options.agencies and options.kandas_bodies:
        procs.append(_python(*_kandas_bodies_args(options)))
    procs.append(ca)
    return procs


CA_ROOT = MOCK_STATE / "ca" / "root.pem"


def start_ca(options: MockOptions) -> subprocess.Popen[bytes]:
    """The mock certification authority, awaited until its root is on disk (the gateway
    trusts it); on a fresh state dir the officials' keys are written before the root."""
    proc = _python(
        "-m", "mocks.ca", "--port", str(options.ca_port), "--seed", str(options.seed),
        "--state-dir", str(CA_ROOT.parent),
    )  # fmt: skip
    _wait_for(CA_ROOT, proc, seconds=20)
    return proc


def _broker_users_args(options: MockOptions) -> list[str]:
    return ["--broker-users", str(options.broker_users)] if options.broker_users else []


def _kandas_bodies_args(options: MockOptions) -> list[str]:
    """The chain's bodies sign with the keys the mock CA writes into its state directory."""
    args = [
        "-m", "mocks.kandas_bodies", "run",
        "--state-dir", str(MOCK_STATE / "kandas_bodies"),
        "--ca-dir", str(MOCK_STATE / "ca"),
        "--work-seconds", str(options.work_seconds),
        "--admin-port", str(options.kandas_bodies_admin_port),
        "--bodies", ",".join(
            c for c in load_agencies().enabled_codes("kandas_application")
            if c not in options.manual_bodies
        ),
    ]  # fmt: skip
    if options.kandas_bodies_return_at:
        args += ["--return-at", options.kandas_bodies_return_at]
    return args + _broker_users_args(options)


def start_gateway(options: MockOptions) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.setdefault("GATEWAY_SHEP_URL", options.shep_url)
    env.setdefault("GATEWAY_MIGRATION_PORTAL_URL", options.migration_portal_url)
    env.setdefault("GATEWAY_LABOUR_MARKET_URL", options.labour_market_url)
    env.setdefault("GATEWAY_EGOV_URL", f"http://127.0.0.1:{options.egov_port}/")
    env.setdefault("GATEWAY_KANDAS_URL", f"http://127.0.0.1:{options.kandas_port}/")
    env.setdefault("GATEWAY_CA_ROOT", str(CA_ROOT))
    env.setdefault("GATEWAY_FAMILY_CARD_URL", options.family_card_url)
    env.setdefault("GATEWAY_KANDAS_URL", options.kandas_url)
    if options.broker_users is not None:
        env.setdefault("GATEWAY_BROKER_IDENTITIES", "required")
    env.setdefault("GATEWAY_PUBLIC_URL", f"http://127.0.0.1:{env.get('GATEWAY_API_PORT', '8080')}")
    return _python("-m", "gateway", "serve", "--digest", env=env)


def _wait_for(path: Path, proc: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)


def supervise(procs: list[subprocess.Popen[bytes]]) -> int:
    """Run until Ctrl-C, SIGTERM or the death of any child; then stop them all."""

    def stop(*_: object) -> None:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(proc.poll() is None for proc in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    clean = (0, -signal.SIGTERM, -signal.SIGINT)
    return 1 if any(p.returncode not in clean for p in procs) else 0
