"""kandas adaptation (order 170 p.32-51): plans, work reports, monitoring runs, quality

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gateway.store.tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.String(length=36)


def _utc() -> gateway.store.tables.UtcDateTime:
    return gateway.store.tables.UtcDateTime()


def upgrade() -> None:
    op.create_table(
        "kandas_adaptations",
        sa.Column("id", _ID, nullable=False),
        sa.Column("case_id", _ID, nullable=False),
        sa.Column("career_centre", sa.String(length=40), nullable=False),
        sa.Column("leb", sa.String(length=40), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("kandas_iin", sa.String(length=12), nullable=False),
        sa.Column("quota_date", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("approved_at", _utc(), nullable=False),
        sa.Column("approved_by", _ID, nullable=False),
        sa.Column("kandas_plan_id", sa.String(length=64), nullable=True),
        sa.Column("uploaded_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["plans.id"], name=op.f("fk_kandas_adaptations_case_id_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kandas_adaptations")),
        sa.UniqueConstraint("case_id", name=op.f("uq_kandas_adaptations_case_id")),
    )
    op.create_index(
        op.f("ix_kandas_adaptations_career_centre"),
        "kandas_adaptations",
        ["career_centre"],
        unique=False,
    )
    op.create_table(
        "kandas_work_reports",
        sa.Column("id", _ID, nullable=False),
        sa.Column("adaptation_id", _ID, nullable=False),
        sa.Column("member_iin", sa.String(length=12), nullable=False),
        sa.Column("service_code", sa.Integer(), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("received_at", _utc(), nullable=False),
        sa.Column("reported_by", _ID, nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("kandas_report_id", sa.String(length=64), nullable=True),
        sa.Column("relayed_at", _utc(), nullable=True),
        sa.Column("card_mirrored_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["adaptation_id"],
            ["kandas_adaptations.id"],
            name=op.f("fk_kandas_work_reports_adaptation_id_kandas_adaptations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kandas_work_reports")),
        sa.UniqueConstraint(
            "adaptation_id",
            "idempotency_key",
            name=op.f("uq_kandas_work_reports_adaptation_id_idempotency_key"),
        ),
    )
    op.create_index(
        op.f("ix_kandas_work_reports_adaptation_id"),
        "kandas_work_reports",
        ["adaptation_id"],
        unique=False,
    )
    op.create_table(
        "kandas_monitoring_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("adaptation_id", _ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("cadence", sa.String(length=16), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("run_at", _utc(), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("return_case_id", _ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["adaptation_id"],
            ["kandas_adaptations.id"],
            name=op.f("fk_kandas_monitoring_runs_adaptation_id_kandas_adaptations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kandas_monitoring_runs")),
        sa.UniqueConstraint(
            "adaptation_id", "seq", name=op.f("uq_kandas_monitoring_runs_adaptation_id_seq")
        ),
    )
    op.create_index(
        op.f("ix_kandas_monitoring_runs_adaptation_id"),
        "kandas_monitoring_runs",
        ["adaptation_id"],
        unique=False,
    )
    op.create_table(
        "kandas_quality_scores",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("period_case_id", _ID, nullable=False),
        sa.Column("career_centre", sa.String(length=40), nullable=False),
        sa.Column("quarter", sa.String(length=7), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("bands", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("evaluated_at", _utc(), nullable=False),
        sa.Column("evaluated_by", _ID, nullable=False),
        sa.Column("conclusion_sent_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["period_case_id"],
            ["plans.id"],
            name=op.f("fk_kandas_quality_scores_period_case_id_plans"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kandas_quality_scores")),
        sa.UniqueConstraint("period_case_id", name=op.f("uq_kandas_quality_scores_period_case_id")),
    )


def downgrade() -> None:
    op.drop_table("kandas_quality_scores")
    op.drop_index(
        op.f("ix_kandas_monitoring_runs_adaptation_id"), table_name="kandas_monitoring_runs"
    )
    op.drop_table("kandas_monitoring_runs")
    op.drop_index(op.f("ix_kandas_work_reports_adaptation_id"), table_name="kandas_work_reports")
    op.drop_table("kandas_work_reports")
    op.drop_index(op.f("ix_kandas_adaptations_career_centre"), table_name="kandas_adaptations")
    op.drop_table("kandas_adaptations")
