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
    kandas_bodies: bool = True
    """The kandas chain's six bodies (`mocks/kandas_bodies`), acting on their own over AMQP."""
    kandas_bodies_admin_port: int = 8280
    kandas_bodies_return_at: str = ""
    """Steps whose first visit the bodies return with remarks (`lmc_review`); none by default."""

    @property
    def shep_url(self) -> str:
        return f"http://127.0.0.1:{self.shep_port}/bip-sync-wss-gost/"


def _python(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, *args], env=env)


def start_mocks(options: MockOptions) -> list[subprocess.Popen[bytes]]:
    """The bus with its registries (SOAP), the portal and Kandas (REST), the bodies (AMQP).

    The bus is started first and awaited: it writes the development keys the gateway's
    bus client reads when it starts.
    """
    population = ["--seed", str(options.seed), "--families", str(options.families)]
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
    ]
    if options.agencies:
        procs.append(
            _python(
                "-m",
                "mocks.agencies",
                "run",
                "--agencies",
                ",".join(load_agencies().enabled_codes()),
                "--work-seconds",
                str(options.work_seconds),
                "--reject-rate",
                str(options.reject_rate),
                "--admin-port",
                str(options.agencies_admin_port),
            )
        )
    if options.agencies and options.kandas_bodies:
        procs.append(_python(*_kandas_bodies_args(options)))
    _wait_for(shep_state / "bus-cert.pem", procs[0], seconds=20)
    return procs


def _kandas_bodies_args(options: MockOptions) -> list[str]:
    """The chain's bodies sign with the keys the mock CA writes into its state directory."""
    args = [
        "-m", "mocks.kandas_bodies", "run",
        "--state-dir", str(MOCK_STATE / "kandas_bodies"),
        "--ca-dir", str(MOCK_STATE / "ca"),
        "--work-seconds", str(options.work_seconds),
        "--admin-port", str(options.kandas_bodies_admin_port),
    ]  # fmt: skip
    if options.kandas_bodies_return_at:
        args += ["--return-at", options.kandas_bodies_return_at]
    return args


def start_gateway(options: MockOptions) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.setdefault("GATEWAY_SHEP_URL", options.shep_url)
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
