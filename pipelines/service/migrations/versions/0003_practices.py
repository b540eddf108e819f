"""good practices submitted in the portal (issue 16): the table ``practice_submissions``.

A data office submits a practice; a reviewer moves it submitted -> under_review -> published or returned (with
the reviewer and the reason); each step is also an audit-log event. Users, tokens, sessions and the audit log
are not touched. A database whose tables were made by ``metadata.create_all`` already has the table: it is
then left as it is.

Revision ID: 0003_practices
Revises: 0002_revoke_inactive_tokens
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_practices"
down_revision = "0002_revoke_inactive_tokens"
branch_labels = None
depends_on = None

TABLE = "practice_submissions"


def upgrade() -> None:
    if TABLE in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("practice_id", sa.String(length=80), nullable=False),
        sa.Column("country_iso3", sa.String(length=3), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("record_json", sa.Text(), nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("reviewer", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_practice_submissions_practice_id", TABLE, ["practice_id"])
    op.create_index("ix_practice_submissions_country_iso3", TABLE, ["country_iso3"])
    op.create_index("ix_practice_submissions_status", TABLE, ["status"])


def downgrade() -> None:
    op.drop_index("ix_practice_submissions_status", table_name=TABLE)
    op.drop_index("ix_practice_submissions_country_iso3", table_name=TABLE)
    op.drop_index("ix_practice_submissions_practice_id", table_name=TABLE)
    op.drop_table(TABLE)
