"""The system under the drill, as processes: two gateway processes, the mock bodies (the
down body in a process of its own), the mock e-government bus, on a throwaway broker.

Every process gets the same environment a deployment would (`GATEWAY_*`), with this
drill's own store, queue prefix, ports and clock file, and writes its log into the
drill's directory.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.chaos.nodes import free_port, port_open


class DrillError(RuntimeError):
    """A process of the drill did not start or died."""


@dataclass
class Process:
    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    kills: int = 0

    def start(self, cwd: Path) -> None:
        with open(self.log, "ab") as out:
            out.write(f"\n==== start {time.strftime('%H:%M:%S')} ====\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                [sys.executable, *self.args],
                env=self.env,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM killer would."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.kills += 1

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


@dataclass
class ChaosSystem:
    root: Path
    database_url: str
    amqp_url: str
    prefix: str
    agencies: Sequence[str]
    down_agency: str
    work_seconds: float = 1.0
    api_port: int = field(default_factory=free_port)
    bus_port: int = field(default_factory=free_port)
    processes: dict[str, Process] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def bus_url(self) -> str:
        return f"http://127.0.0.1:{self.bus_port}"

    @property
    def clock_file(self) -> Path:
        return self.root / "clock-offset"

    @property
    def mock_state(self) -> Path:
        return self.root / "bodies"

    @property
    def bus_state(self) -> Path:
        return self.root / "bus"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        env.update(
            GATEWAY_DATABASE_URL=self.database_url,
            GATEWAY_AMQP_URL=self.amqp_url,
            GATEWAY_AMQP_PREFIX=self.prefix,
            GATEWAY_API_PORT=str(self.api_port),
            GATEWAY_CLOCK_FILE=str(self.clock_file),
            GATEWAY_WATCHER_POLL_SECONDS="1",
            GATEWAY_RELAY_LEASE_SECONDS="5",
            GATEWAY_RELAY_POLL_SECONDS="0.2",
            GATEWAY_SHEP_URL=f"{self.bus_url}/bip-sync-wss-gost/",
            GATEWAY_SHEP_DEV_DIR=str(self.bus_state),
            GATEWAY_CREDENTIALS_FILE=str(self.root / "credentials.json"),
            GATEWAY_SESSION_SECRET="chaos-drill-session-secret-not-for-production",
        )
        env.update(extra)
        return env

    def _process(self, name: str, args: list[str]) -> Process:
        process = Process(name, args, self.env(), self.root / f"{name}.log")
        self.processes[name] = process
        return process

    def gateway(self, *args: str, timeout: float = 120) -> str:
        """A one-off `gateway` command (migrations, a client's key); its stdout."""
        result = subprocess.run(
            [sys.executable, "-m", "gateway", *args],
            env=self.env(),
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise DrillError(f"gateway {' '.join(args)} failed: {result.stderr[-2000:]}")
        return result.stdout

    def start(self) -> None:
        """Everything, in the order a deployment would start it."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.clock_file.write_text("0\n")
        bus = self._process(
            "bus",
            ["-m", "mocks.shep", "--port", str(self.bus_port), "--state-dir", str(self.bus_state)],
        )
        bus.start(self.root)
        self._wait(lambda: port_open(self.bus_port), 30, bus)
        up = [a for a in self.agencies if a != self.down_agency]
        self._bodies("bodies", up).start(self.root)
        self._bodies("down-body", [self.down_agency])
        self.gateway("db", "upgrade")
        # The API process also relays, collects and watches; the second is a worker box.
        self._process("gateway-api", ["-m", "gateway", "serve"])
        self._process("gateway-worker", ["-m", "gateway", "serve", "--no-api"])
        self.start_process("gateway-api")
        self.start_process("gateway-worker")

    def _bodies(self, name: str, codes: Sequence[str]) -> Process:
        return self._process(
            name,
            [
                "-m",
                "mocks.agencies",
                "run",
                "--agencies",
                ",".join(codes),
                "--work-seconds",
                str(self.work_seconds),
                "--jitter",
                str(self.work_seconds / 2),
                "--state-dir",
                str(self.mock_state),
                "--admin-port",
                "0",
            ],
        )

    def start_process(self, name: str, timeout: float = 60) -> float:
        """(Re)start one process and wait until it serves; the seconds that took."""
        process = self.processes[name]
        began = time.monotonic()
        process.start(self.root)
        if name == "gateway-api":
            self._wait(self.api_ready, timeout, process)
        else:
            self._wait(lambda: _logged(process, "gateway running", "serving"), timeout, process)
        return time.monotonic() - began

    def api_ready(self) -> bool:
        try:
            return httpx.get(f"{self.api_url}/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def _wait(self, check: object, timeout: float, process: Process) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():  # type: ignore[operator]
                return
            if not process.running:
                raise DrillError(f"{process.name} exited at start:\n{process.tail()}")
            time.sleep(0.1)
        raise DrillError(f"{process.name} did not start in {timeout:.0f} s:\n{process.tail()}")

    def died(self) -> list[str]:
        """Processes that should run and do not (other than those the drill stopped)."""
        return [
            p.name
            for p in self.processes.values()
            if p.proc is not None and not p.running and p.proc.returncode not in (-9, 0, -15)
        ]

    def stop(self) -> None:
        for name in ("gateway-api", "gateway-worker", "bodies", "down-body", "bus"):
            if name in self.processes:
                self.processes[name].stop()


def _logged(process: Process, *needles: str) -> bool:
    text = process.tail(20000)
    marker = text.rfind("==== start")
    tail = text[marker:] if marker >= 0 else text
    return any(n in tail for n in needles)
