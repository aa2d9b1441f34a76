"""trust: keys with a lifecycle, the interagency audit log and its signed checkpoints

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.store.tables

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    stamp = gateway.store.tables.UtcDateTime()
    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revoked_at", stamp, nullable=True))
        batch_op.add_column(sa.Column("old_key_prefix", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("old_key_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("old_key_until", stamp, nullable=True))
        batch_op.add_column(sa.Column("last_used_at", stamp, nullable=True))
        batch_op.add_column(sa.Column("key_changed_at", stamp, nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_api_clients_old_key_prefix"), ["old_key_prefix"]
        )
        batch_op.create_index(
            batch_op.f("ix_api_clients_key_changed_at"), ["key_changed_at"], unique=False
        )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", stamp, nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.String(length=36), nullable=True),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=40), nullable=True),
        sa.Column("legal_ground", sa.String(length=200), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=True),
        sa.Column("hash", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("seq", name=op.f("uq_audit_log_seq")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_case_id"), ["case_id"], unique=False)
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.Column("at", stamp, nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
        sa.UniqueConstraint("count", name=op.f("uq_audit_checkpoints_count")),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_case_id"))
    op.drop_table("audit_log")
    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_clients_key_changed_at"))
        batch_op.drop_constraint(batch_op.f("uq_api_clients_old_key_prefix"), type_="unique")
        for column in (
            "key_changed_at",
            "last_used_at",
            "old_key_until",
            "old_key_hash",
            "old_key_prefix",
            "revoked_at",
        ):
            batch_op.drop_column(column)
