"""centres register: the family support centres a key may be issued for

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 15:00:00

The register starts with every centre the store already knows, so that nothing accepted
before it existed is refused after the upgrade: each centre that has a key (named as its
oldest key was: the name the workspace showed until now) and each centre that has a plan
(named by its code, for an operator to correct with `gateway centres add`).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import gateway.store.tables

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ACTOR = "migration:0011"


def upgrade() -> None:
    stamp = gateway.store.tables.UtcDateTime()
    op.create_table(
        "centres",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_ru", sa.String(length=200), nullable=False),
        sa.Column("name_kk", sa.String(length=200), nullable=False),
        sa.Column("added_at", stamp, nullable=False),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.Column("closed_at", stamp, nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_centres")),
    )
    _register_known_centres()


def _register_known_centres() -> None:
    bind = op.get_bind()
    clients = sa.table(
        "api_clients",
        sa.column("kind", sa.String()),
        sa.column("scope", sa.String()),
        sa.column("name", sa.String()),
        sa.column("created_at", gateway.store.tables.UtcDateTime()),
    )
    plans = sa.table("plans", sa.column("centre", sa.String()))
    names: dict[str, str] = {}
    keyed = bind.execute(
        sa.select(clients.c.scope, clients.c.name)
        .where(clients.c.kind == "centre", clients.c.scope.is_not(None))
        .order_by(clients.c.created_at)
    )
    for code, name in keyed:
        names.setdefault(code, name[:200])
    for (code,) in bind.execute(sa.select(plans.c.centre).distinct()):
        names.setdefault(code, code)
    if not names:
        return
    now = datetime.now(UTC)
    centres = sa.table(
        "centres",
        sa.column("code", sa.String()),
        sa.column("name_ru", sa.String()),
        sa.column("name_kk", sa.String()),
        sa.column("added_at", gateway.store.tables.UtcDateTime()),
        sa.column("added_by", sa.String()),
    )
    bind.execute(
        sa.insert(centres),
        [
            {"code": c, "name_ru": n, "name_kk": n, "added_at": now, "added_by": ACTOR}
            for c, n in sorted(names.items())
        ],
    )


def downgrade() -> None:
    op.drop_table("centres")
