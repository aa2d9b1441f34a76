"""Settings, read once from the environment (prefix GATEWAY_) with working defaults.

The defaults run the whole system on one machine: an SQLite file under `.gateway/`
and the local RabbitMQ. Production sets GATEWAY_DATABASE_URL to PostgreSQL.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

STATE_DIR = Path(".gateway")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    database_url: str = f"sqlite+aiosqlite:///{STATE_DIR}/gateway.sqlite3"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    """One broker, or a cluster's nodes separated by commas, tried in order on every
    (re)connect: `amqp://u:p@10.0.0.1:5672/,10.0.0.2:5672,10.0.0.3:5672` (a bare
    host:port takes the first URL's credentials and virtual host)."""
    amqp_prefix: str = "gw"
    """Prefix of every exchange and queue name, so that test runs and tenants never mix."""

    api_host: str = "127.0.0.1"
    api_port: int = 8080
    log_format: str = "text"
    """`text` for people (default) or `json`, one object a line, for a log shipper
    (GATEWAY_LOG_FORMAT)."""
    log_level: str = "INFO"
    traces: str = "off"
    """Where OpenTelemetry spans go: `off` (default), `console`, or `otlp` (to
    GATEWAY_OTLP_ENDPOINT, or OpenTelemetry's own OTEL_EXPORTER_OTLP_* settings)."""
    otlp_endpoint: str | None = None
    metrics_port: int | None = None
    """Where a `gateway serve` without the API serves `/metrics` (GATEWAY_METRICS_PORT);
    a process with the API serves it on the API's port. Unset: a worker has no endpoint."""
    max_body_bytes: int = 256 * 1024
    agencies_file: Path | None = None

    relay_batch: int = 200
    relay_poll_seconds: float = 0.5
    relay_lease_seconds: float = 30.0
    """How long a relay owns a claimed batch; after a crash, another relay (or the
    restarted one) takes it over when the lease runs out."""
    followup_poll_seconds: float = 5.0
    """How often owed work for other systems is retried (registry facts, ЦКС, the
    migration portal, the labour market system): GATEWAY_FOLLOWUP_POLL_SECONDS."""
    relay_publish_timeout_seconds: float = 30.0
    """A publish whose confirm has not come back by then counts as failed and is sent again."""
    watcher_poll_seconds: float = 30.0
    delivery_limit: int = 5
    """Deliveries of a message before RabbitMQ dead-letters it (quorum x-delivery-limit)."""

    broker_wait_seconds: float = 60.0
    """How long a starting process waits for a first broker connection before it gives up.
    Once connected, it never gives up: it reconnects (and logs the loss once) for as long
    as the broker is away."""

    outbox_backlog_limit: int = 50_000
    """Writes are refused with 503 and Retry-After while this many messages wait in the
    outbox (the broker is down or slower than the intake); 0 turns the check off."""
    store_timeout_seconds: float = 5.0
    """Writes are refused with 503 while the store does not answer the outbox reading
    (taken every second) within this time."""
    max_inflight_writes: int = 64
    """Writes running at once in one API process; a write that finds no free slot within
    `write_queue_seconds` is refused with 503 instead of queueing. 0: no limit."""
    write_queue_seconds: float = 2.0
    retry_after_seconds: int = 5
    """The Retry-After of a 503 refusal."""

    clock_file: Path | None = None
    """Test and drill hook: a file holding a number of seconds the gateway's clock runs
    ahead of the system clock (re-read when it changes), so a drill can make a working day
    pass and the deadline watcher record warnings and breaches. Never set in production."""

    session_secret: str | None = None
    """Signs the web workspace's session cookies. Unset: one is generated once into
    `session_secret_file` (mode 0600), so sessions survive a restart on one machine;
    several processes behind one address must share a set value."""
    session_secret_file: Path = STATE_DIR / "session_secret"

    broker_users_file: Path = STATE_DIR / "broker-users.json"
    """Each connected body's RabbitMQ user and password, written by `gateway broker
    provision` (mode 0600): the operator hands each body its own entry."""
    rabbitmqctl: str = "rabbitmqctl"
    """How `gateway broker provision` reaches the broker (the management API is not
    assumed to be enabled)."""
    broker_vhost: str = "/"

    audit_secret: str | None = None
    """Keys the HMAC under which a looked-up IIN is recorded in the audit log. Unset: one is
    generated once into `audit_secret_file` (mode 0600); several processes must share it."""
    audit_secret_file: Path = STATE_DIR / "audit_secret"
    audit_signing_key_file: Path = STATE_DIR / "audit-signing-key.pem"
    """The gateway's own Ed25519 key that signs the audit log's checkpoints (created on
    first use, mode 0600). `gateway audit export` hands its public half to the bodies."""
    audit_seal_seconds: float = 1.0
    """How often the sealer (in the watcher process) chains new audit records."""
    audit_checkpoint_seconds: float = 60.0
    """How often, when the log has grown, the sealer signs a checkpoint."""
    key_overlap_seconds: float = 24 * 3600.0
    """After `gateway clients rotate`, how long the previous key keeps working."""
    broker_identities: Literal["optional", "required"] = "optional"
    """`required`: a status message without a body's validated AMQP `user_id` is refused;
    `optional`: a message with one is held to it, one without is taken as before."""

    credentials_file: Path = STATE_DIR / "credentials.json"
    """Where `gateway up` writes the development credentials it bootstraps (never in production)."""

    fault_hold: str | None = None
    """Test hook: `before_publish` or `before_mark` makes the outbox relay stop at that point,
    `collector_before_commit` the status collector inside a batch of two or more reports
    (written, not committed), and touch `fault_marker`, so a test can SIGKILL the process
    exactly there."""
    fault_marker: Path | None = None

    submit_linger_seconds: float = 0.002
    """How long a submit waits for concurrent ones to share its transaction (group commit);
    0: no wait, but submits arriving during a commit still share the next one."""
    submit_writers: int = 2
    """How many submit groups may be in their transactions at once on PostgreSQL, each on
    a pool connection (gateway/api/submit_group.py says why); SQLite's one connection
    makes it 1 there whatever this says."""

    collector_batch: int = 200
    """Most status messages the collector applies in one transaction."""
    collector_linger_seconds: float = 0.02
    """How long the collector waits for more messages when fewer than a batch are there.
    A batch costs its round trips to the store whatever its size, so at moderate load
    a longer wait means fewer, fuller batches: at half the bench's rate 0.02 s took
    about 5 % off the gateway's CPU a task and 20-30 % off submit p95/p99 against
    0.005 s (bench/README.md), for a report applied up to 20 ms later."""

    digest_sender: str = "file"
    """Where the daily escalation digest goes: `console`, `file` (an .eml per centre and
    day in `digest_outbox_dir`) or `smtp`."""
    digest_outbox_dir: Path = STATE_DIR / "outbox-mail"
    digest_recipients: Path | None = None
    """JSON file {"centre": ["head@example.kz"]}: who receives each centre's digest. The
    staff table has no e-mail column, so addresses are configuration (GATEWAY_DIGEST_RECIPIENTS)."""
    digest_at: time = time(9, 0)
    """Almaty time of the daily digest; sent on working days only."""
    digest_from: str = "gateway@localhost"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 30.0
    conclusion_sender: str | None = None
    """How the quarterly conclusion reaches the authorised body (p.14): `console`, `file`
    or `smtp`, the digest's senders; unset, the digest's (`digest_sender`)."""
    conclusion_recipients: str = "authorised-body@localhost"
    """Comma-separated e-mail addresses of the authorised body (GATEWAY_CONCLUSION_RECIPIENTS)."""

    @property
    def conclusion_addresses(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.conclusion_recipients.split(",") if a.strip())

    shep_url: str = "http://127.0.0.1:8200/bip-sync-wss-gost/"
    """The e-government bus's sync channel; the default is `python -m mocks.shep`."""
    shep_dev_dir: Path = STATE_DIR / "mocks" / "shep"
    """Where the mock bus keeps its development keys and `sender.json`; each `shep_*`
    setting below left unset is taken from there (development only)."""
    shep_sender_id: str | None = None
    shep_password: str | None = None
    shep_key_file: Path | None = None
    """PEM private key the gateway signs its bus requests with (default `sender-key.pem`)."""
    shep_cert_file: Path | None = None
    """PEM certificate registered with the bus for that key (default `sender-cert.pem`)."""
    shep_bus_cert_file: Path | None = None
    """PEM certificate the bus signs its answers with, the one we trust (default `bus-cert.pem`)."""
    ca_root: Path | None = None
    """PEM file of the certification authority's root (and any intermediate CA it
    publishes) that the officials' signatures on hand-overs must chain to
    (GATEWAY_CA_ROOT). `gateway up` points it at the mock CA's `root.pem`; production
    sets НУЦ РК's. Unset: there is nothing to trust, so every signed hand-over is refused."""
    shep_deadline_seconds: float = 10.0
    """Bound of one registry call, retries included; a family lookup waits at most about
    twice this (two rounds of parallel calls)."""

    migration_portal_url: str = "http://127.0.0.1:8250/"
    """The migration portal (migration.enbek.kz), where kandas applications are registered
    and their hand-overs mirrored; the default is `python -m mocks.migration_portal`."""
    labour_market_url: str = "http://127.0.0.1:8260/"
    """The labour market system (АИС «Рынок труда»): p.18 drafts, registration lookups;
    the default is `python -m mocks.labour_market`."""
    kandas_url: str | None = "http://127.0.0.1:8220/"
    """The Kandas system (АИС «Кандас», order 170 p.32-39): adaptation plans and work
    reports are uploaded there; unset: they wait in the outbox and their terms show it."""
    public_url: str = "http://127.0.0.1:8080"
    """How other systems reach this gateway: work-report media links point here."""
    media_dir: Path = STATE_DIR / "media"
    """Where work-report photos and videos are kept, by content hash (local files)."""
    media_photo_max_bytes: int = 10 * 1024 * 1024
    media_video_max_bytes: int = 50 * 1024 * 1024
    media_types: str = (
        "image/jpeg,image/png,image/heic,image/webp,video/mp4,video/quicktime,video/webm"
    )
    """Content types (sniffed from the bytes) a work report's evidence may be."""
    kandas_geo_far_km: float = 300.0
    """A work report's geolocation farther than this from the settlement region's centre
    is flagged (p.35-37)."""
    kandas_quality_file: Path | None = None
    """Criteria and bands of the quality evaluation (p.47-51); default
    gateway/data/kandas_quality.json."""
    kandas_poll_seconds: float = 5.0
    """How often the adaptation worker delivers owed uploads and runs due monitoring."""
    egov_url: str | None = "http://127.0.0.1:8210/"
    """The e-government portal (egov.kz «Электронное обращение»): e-applications polled
    in, statuses, cabinet notices and SMS out (GATEWAY_EGOV_URL); the default is
    `python -m mocks.egov`. Empty: no portal, the portal's notices wait in the queue."""
    egov_poll_seconds: float = 5.0
    """How often the portal's new e-applications are fetched (GATEWAY_EGOV_POLL_SECONDS)."""
    family_card_url: str | None = None
    """The digital family card's (ЦКС) REST API, e.g. `http://127.0.0.1:8240` (what
    `gateway up` sets, for `python -m mocks.family_card`). Unset: no card is connected,
    and the quarterly report says it has no family-card data rather than guess."""

    @field_validator("family_card_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// address, e.g. http://127.0.0.1:8240")
        return value.rstrip("/")
