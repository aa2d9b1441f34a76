"""deadlines: indexes that the planner cannot misuse on the hot path

A report meets its task's deadline of a kind with `task_id = ? AND kind = ? AND met_at IS
NULL`, and the plan list flags a plan overdue with `plan_id = ? AND met_at IS NULL AND
due_at < ?`. The watcher's two indexes led with `met_at`, and on a young table (before
autovacuum has analysed it) PostgreSQL chose them for both statements, alone or in a
BitmapAnd: each meet read every open deadline of the store (9 ms for one meet with 1,310
open, 2.2 million index entries for the 2,400 meets of a 300-plan bench, growing with
the store), and the list read them once per plan on its page. Seen with auto_explain in
the bench, 2026-12-02.

Now the watcher's indexes are partial: `warn_at` over the open deadlines not yet warned,
`due_at` over those not yet breached. They serve the watcher's scans as before, and no
other statement can use them (their predicates are not implied). A meet is found by a
new index on (task_id, kind), which also serves every lookup by task_id, so the index on
task_id alone goes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_OPEN_WARN = sa.text("met_at IS NULL AND warned_at IS NULL")
_OPEN_DUE = sa.text("met_at IS NULL AND breached_at IS NULL")


def upgrade() -> None:
    op.create_index("ix_deadlines_task_id_kind", "deadlines", ["task_id", "kind"])
    op.drop_index("ix_deadlines_task_id", table_name="deadlines")
    op.drop_index("ix_deadlines_open_warn", table_name="deadlines")
    op.drop_index("ix_deadlines_open_due", table_name="deadlines")
    op.create_index(
        "ix_deadlines_open_warn", "deadlines", ["warn_at"],
        postgresql_where=_OPEN_WARN, sqlite_where=_OPEN_WARN,
    )  # fmt: skip
    op.create_index(
        "ix_deadlines_open_due", "deadlines", ["due_at"],
        postgresql_where=_OPEN_DUE, sqlite_where=_OPEN_DUE,
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_deadlines_open_due", table_name="deadlines")
    op.drop_index("ix_deadlines_open_warn", table_name="deadlines")
    op.create_index("ix_deadlines_open_due", "deadlines", ["met_at", "breached_at", "due_at"])
    op.create_index("ix_deadlines_open_warn", "deadlines", ["met_at", "warned_at", "warn_at"])
    op.create_index("ix_deadlines_task_id", "deadlines", ["task_id"])
    op.drop_index("ix_deadlines_task_id_kind", table_name="deadlines")
