"""The store's tables, written with SQLAlchemy Core.

Core rather than the ORM: the services write a few rows per call with explicit SQL, and
the outbox, inbox and deadline scans are set-based queries that an ORM would hide.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """An aware timestamp stored as UTC on every backend.

    SQLite has no time zone type and drops offsets; storing UTC everywhere and
    re-attaching it on read keeps comparisons and ordering right on both stores.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = String(36)

# A case of any flow is a row of `plans` and its steps are rows of `tasks`: the tables
# carry the names of the first flow (the ИПР); `flow` and `step` say which flow and which
# step a row belongs to (see gateway/domain/flow.py and docs in README, "One core").
plans = Table(
    "plans",
    metadata,
    Column("id", ID, primary_key=True),
    Column("flow", String(40), nullable=False, server_default="ipr", index=True),
    Column("centre", String(64), nullable=False, index=True),
    Column("external_id", String(100)),
    Column("status", String(16), nullable=False, index=True),
    Column("approved_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime),
    Column("cancelled_at", UtcDateTime),
    Column("cancel_reason", Text),
    Column("family", JSON, nullable=False),
    Column("grounds", JSON, nullable=False),
    Column("created_by", ID, nullable=False),
    Column("idempotency_key", String(200)),
    Column("request_hash", String(64)),
    UniqueConstraint("centre", "idempotency_key"),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", ID, primary_key=True),
    Column("plan_id", ID, ForeignKey("plans.id"), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("step", String(24), nullable=False, server_default="activity"),
    Column("agency", String(40), nullable=False, index=True),
    Column("title", String(500), nullable=False),
    Column("description", Text, nullable=False),
    Column("due_date", Date),
    Column("beneficiary_iins", JSON, nullable=False),
    Column("state", String(24), nullable=False, index=True),
    Column("round", Integer, nullable=False, default=0),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("dispatched_at", UtcDateTime),
    Column("delivered_at", UtcDateTime),
    Column("reported_at", UtcDateTime),
    Column("accepted_at", UtcDateTime),
    Column("last_comment", Text),
    Column("last_reason", Text),
)

deadlines = Table(
    "deadlines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("plan_id", ID, ForeignKey("plans.id"), nullable=False, index=True),
    Column("task_id", ID, ForeignKey("tasks.id")),
    Column("kind", String(16), nullable=False),
    Column("round", Integer, nullable=False, default=0),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("warn_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("met_at", UtcDateTime),
    Column("warned_at", UtcDateTime),
    Column("breached_at", UtcDateTime),
    Column("calendar_version", String(40), nullable=False),
    # A report meets a deadline by task and kind. The watcher's indexes are partial, so
    # that no other statement's plan can use them (migration 0012 says what that cost).
    Index("ix_deadlines_task_id_kind", "task_id", "kind"),
)
_OPEN_WARN = and_(deadlines.c.met_at.is_(None), deadlines.c.warned_at.is_(None))
_OPEN_DUE = and_(deadlines.c.met_at.is_(None), deadlines.c.breached_at.is_(None))
Index(
    "ix_deadlines_open_warn",
    deadlines.c.warn_at,
    postgresql_where=_OPEN_WARN,
    sqlite_where=_OPEN_WARN,
)
Index(
    "ix_deadlines_open_due",
    deadlines.c.due_at,
    postgresql_where=_OPEN_DUE,
    sqlite_where=_OPEN_DUE,
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("plan_id", ID, ForeignKey("plans.id"), nullable=False, index=True),
    Column("task_id", ID, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("type", String(40), nullable=False),
    Column("from_state", String(24)),
    Column("to_state", String(24)),
    Column("reason", Text),
    Column("data", JSON, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", ID, nullable=False, unique=True),
    Column("exchange", String(100), nullable=False),
    Column("routing_key", String(100), nullable=False),
    Column("message_type", String(40), nullable=False),
    Column("plan_id", ID, nullable=False),
    Column("task_id", ID),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("lease_until", UtcDateTime),
    Column("trace_context", Text),
    Index("ix_outbox_pending", "published_at", "id"),
)

inbox = Table(
    "inbox",
    metadata,
    Column("message_id", ID, primary_key=True),
    Column("consumer", String(60), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)

api_clients = Table(
    "api_clients",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("scope", String(64)),
    Column("key_prefix", String(32), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    # Keys with a lifecycle (gateway/services/clients.py): a revoked key is refused at
    # once; a rotated key's predecessor keeps working until `old_key_until`.
    Column("revoked_at", UtcDateTime),
    Column("old_key_prefix", String(32), unique=True),
    Column("old_key_hash", String(64)),
    Column("old_key_until", UtcDateTime),
    Column("last_used_at", UtcDateTime),
    Column("key_changed_at", UtcDateTime, index=True),
)

# The register of family support centres (gateway/services/centres.py): a centre's key is
# issued, and its plans accepted, only while the centre is here and not closed.
centres = Table(
    "centres",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("name_ru", String(200), nullable=False),
    Column("name_kk", String(200), nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
    Column("added_by", String(100), nullable=False),
    Column("closed_at", UtcDateTime),
)

access_log = Table(
    "access_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("client_id", ID, nullable=False, index=True),
    Column("action", String(40), nullable=False),
    Column("plan_id", ID, index=True),
    Column("task_id", ID),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("queue", String(200), nullable=False),
    Column("message_id", String(64)),
    Column("message_type", String(40)),
    Column("routing_key", String(100)),
    Column("task_id", ID, index=True),
    Column("error", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("resolved_by", String(200)),
    Column("resolution", Text),
)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


staff_users = Table(
    "staff_users",
    metadata,
    Column("id", ID, primary_key=True),
    Column("login", String(29), nullable=False, unique=True),
    Column("full_name", String(200), nullable=False),
    Column("centre", String(64), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(300), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)


handovers = Table(
    "handovers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("plan_id", ID, ForeignKey("plans.id"), nullable=False, index=True),
    Column("task_id", ID, ForeignKey("tasks.id"), nullable=False),
    Column("step", String(24), nullable=False),
    Column("round", Integer, nullable=False),
    Column("body", String(40), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("statement", Text, nullable=False),  # the canonical bytes, as signed
    Column("signature", JSON, nullable=False),
    Column("signer_name", String(200), nullable=False),
    Column("signer_role", String(16), nullable=False),
    Column("certificate_serial", String(64), nullable=False),
    Column("certificate_sha256", String(64), nullable=False),
    Column("signed_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("via", String(8), nullable=False),
    UniqueConstraint("task_id"),
)


# Order 170 p.32-51: a kandas family's five years after arrival. The adaptation hangs on
# the application's case (`case_id`, a row of `plans`): its deadlines and timeline are the
# case's, read by the same watcher and pages. Per-centre periods (the monthly report, the
# quarterly quality evaluation) are cases of their own flow, so their terms are watched too.
kandas_adaptations = Table(
    "kandas_adaptations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("case_id", ID, ForeignKey("plans.id"), nullable=False, unique=True),
    Column("career_centre", String(40), nullable=False, index=True),
    Column("leb", String(40), nullable=False),
    Column("region", String(64), nullable=False),
    Column("kandas_iin", String(12), nullable=False),
    Column("quota_date", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("members", JSON, nullable=False),
    Column("approved_at", UtcDateTime, nullable=False),
    Column("approved_by", ID, nullable=False),
    Column("kandas_plan_id", String(64)),
    Column("uploaded_at", UtcDateTime),
)

kandas_work_reports = Table(
    "kandas_work_reports",
    metadata,
    Column("id", ID, primary_key=True),
    Column("adaptation_id", ID, ForeignKey("kandas_adaptations.id"), nullable=False, index=True),
    Column("member_iin", String(12), nullable=False),
    Column("service_code", Integer, nullable=False),
    Column("done_on", Date, nullable=False),
    Column("comment", Text, nullable=False),
    Column("media", JSON, nullable=False),
    Column("lat", Float, nullable=False),
    Column("lon", Float, nullable=False),
    Column("flags", JSON, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("reported_by", ID, nullable=False),
    Column("idempotency_key", String(200)),
    Column("kandas_report_id", String(64)),
    Column("relayed_at", UtcDateTime),
    Column("card_mirrored_at", UtcDateTime),
    UniqueConstraint("adaptation_id", "idempotency_key"),
)

kandas_monitoring_runs = Table(
    "kandas_monitoring_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("adaptation_id", ID, ForeignKey("kandas_adaptations.id"), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("cadence", String(16), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("run_at", UtcDateTime, nullable=False),
    Column("outcome", String(24), nullable=False),
    Column("findings", JSON, nullable=False),
    Column("return_case_id", ID),
    UniqueConstraint("adaptation_id", "seq"),
)

kandas_quality_scores = Table(
    "kandas_quality_scores",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("period_case_id", ID, ForeignKey("plans.id"), nullable=False, unique=True),
    Column("career_centre", String(40), nullable=False),
    Column("quarter", String(7), nullable=False),
    Column("scores", JSON, nullable=False),
    Column("total", Integer, nullable=False),
    Column("bands", JSON, nullable=False),
    Column("comment", Text, nullable=False),
    Column("evaluated_at", UtcDateTime, nullable=False),
    Column("evaluated_by", ID, nullable=False),
    Column("conclusion_sent_at", UtcDateTime),
)

#: The quarterly conclusion sent to the authorised body (order 192 p.14): one row per
#: centre and quarter (the unique key is what makes it once), written in the same
#: transaction as its outbox message; `sent_at` is set when the mailer handed it over.
conclusion_dispatches = Table(
    "conclusion_dispatches",
    metadata,
    Column("id", ID, primary_key=True),
    Column("centre", String(64), nullable=False),
    Column("quarter", String(8), nullable=False),
    Column("message_id", ID, nullable=False, unique=True),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("requested_by", String(100), nullable=False),
    Column("recipients", JSON, nullable=False),
    Column("subject", String(300), nullable=False),
    Column("sent_at", UtcDateTime),
    Column("channel", String(16)),
    UniqueConstraint("centre", "quarter"),
)

# The interagency log (gateway/services/audit_log.py, gateway/domain/audit_chain.py): rows
# are inserted unsealed (seq, prev_hash, hash NULL) in the transaction they record; the one
# sealer chains them in order shortly after (gateway/audit_sealer.py).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(40), nullable=False),
    Column("case_id", ID, index=True),
    Column("task_id", ID),
    Column("subject", String(64)),  # HMAC-SHA256 of the subject's IIN, never the IIN
    Column("purpose", String(40)),
    Column("legal_ground", String(200)),
    Column("data", JSON, nullable=False),
    Column("seq", Integer, unique=True),
    Column("prev_hash", String(64)),
    Column("hash", String(64)),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("count", Integer, nullable=False, unique=True),
    Column("head", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", Text, nullable=False),
)
