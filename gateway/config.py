"""Settings, read once from the environment (prefix GATEWAY_) with working defaults.

The defaults run the whole system on one machine: an SQLite file under `.gateway/`
and the local RabbitMQ. Production sets GATEWAY_DATABASE_URL to PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

STATE_DIR = Path(".gateway")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    database_url: str = f"sqlite+aiosqlite:///{STATE_DIR}/gateway.sqlite3"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    amqp_prefix: str = "gw"
    """Prefix of every exchange and queue name, so that test runs and tenants never mix."""

    api_host: str = "127.0.0.1"
    api_port: int = 8080
    max_body_bytes: int = 256 * 1024
    agencies_file: Path | None = None

    relay_batch: int = 200
    relay_poll_seconds: float = 0.5
    relay_lease_seconds: float = 30.0
    """How long a relay owns a claimed batch; after a crash, another relay (or the
    restarted one) takes it over when the lease runs out."""
    watcher_poll_seconds: float = 30.0
    delivery_limit: int = 5
    """Deliveries of a message before RabbitMQ dead-letters it (quorum x-delivery-limit)."""

    credentials_file: Path = STATE_DIR / "credentials.json"
    """Where `gateway up` writes the development credentials it bootstraps (never in production)."""

    fault_hold: str | None = None
    """Test hook: `before_publish` or `before_mark` makes the outbox relay stop at that point
    and touch `fault_marker`, so a test can SIGKILL the process exactly there."""
    fault_marker: Path | None = None
