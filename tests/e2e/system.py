"""Starting the real system as processes, the way `gateway up` does, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.chaos.nodes import free_port as free_port  # below the ephemeral range


@dataclass
class System:
    """One isolated instance: its own SQLite file, broker prefix, port and state dir."""

    root: Path
    prefix: str
    port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database(self) -> Path:
        return self.root / "gateway.sqlite3"

    @property
    def mock_state(self) -> Path:
        return self.root / "mocks"

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            GATEWAY_DATABASE_URL=f"sqlite+aiosqlite:///{self.database}",
            GATEWAY_AMQP_PREFIX=self.prefix,
            GATEWAY_API_PORT=str(self.port),
            GATEWAY_CREDENTIALS_FILE=str(self.root / "credentials.json"),
            GATEWAY_RELAY_POLL_SECONDS="0.2",
            GATEWAY_RELAY_LEASE_SECONDS="2",
        )
        env.update(extra)
        return env

    def gateway(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gateway", *args],
            env=self.env(**env),
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def start(self, name: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
        log = open(self.root / f"{name}.log", "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", *args],
            env=self.env(**env),
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs[name] = proc
        return proc

    def start_gateway(self, **env: str) -> subprocess.Popen[bytes]:
        proc = self.start("gateway", "serve", **env)
        self.wait_ready()
        return proc

    def start_mocks(self, work_seconds: float = 0.05) -> subprocess.Popen[bytes]:
        return self.start(
            "mocks",
            "mocks",
            "agencies",
            "run",
            "--work-seconds",
            str(work_seconds),
            "--state-dir",
            str(self.mock_state),
            "--admin-port",
            "0",
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if any(p.poll() is not None for p in self.procs.values()):
                break
            time.sleep(0.1)
        raise RuntimeError(f"gateway did not get ready; log:\n{self.log('gateway')}")

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()
