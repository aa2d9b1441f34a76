"""compose.yaml: the services, their health checks, and settings the gateway really reads."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from gateway.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_the_broker_the_store_and_the_gateway_healthily() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"rabbitmq", "postgres", "gateway"}
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no healthcheck"
    gateway = services["gateway"]
    assert gateway["depends_on"] == {
        "rabbitmq": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
    }
    known = {f"GATEWAY_{name.upper()}" for name in Settings.model_fields}
    unknown = set(gateway["environment"]) - known
    assert not unknown, f"settings the gateway does not read: {unknown}"
    assert any(v.endswith(":/app/.gateway") for v in gateway["volumes"])
    assert (ROOT / "Dockerfile").is_file()


def test_docker_compose_validates_the_file_where_it_is_installed() -> None:
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    done = subprocess.run(
        [tool, "-f", str(ROOT / "compose.yaml"), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
