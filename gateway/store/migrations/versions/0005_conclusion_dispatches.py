"""conclusion dispatches: the quarterly conclusion sent to the authorised body

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 03:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.store.tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conclusion_dispatches",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("centre", sa.String(length=64), nullable=False),
        sa.Column("quarter", sa.String(length=8), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("requested_at", gateway.store.tables.UtcDateTime(), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("sent_at", gateway.store.tables.UtcDateTime(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conclusion_dispatches")),
        sa.UniqueConstraint(
            "centre", "quarter", name=op.f("uq_conclusion_dispatches_centre_quarter")
        ),
        sa.UniqueConstraint("message_id", name=op.f("uq_conclusion_dispatches_message_id")),
    )


def downgrade() -> None:
    op.drop_table("conclusion_dispatches")
