"""revoke the API tokens of users who are already deactivated (issue 14 item 6).

Before this revision, deactivating a user only hid its tokens (``token_user`` refused them while the user was
inactive) and re-activating the user revived every one of them. Deactivation now revokes them
(``auth.update_user``); this data migration does the same for users deactivated before it: every live token
of an inactive user gets ``revoked_at`` and a ``token_revoke`` row in the (append-only) audit log. The schema
does not change. Downgrading does not revive the tokens.

Revision ID: 0002_revoke_inactive_tokens
Revises: 0001_baseline
Create Date: 2026-11-30
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0002_revoke_inactive_tokens"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    con = op.get_bind()
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = con.execute(sa.text(
        "SELECT t.id, t.prefix, u.username FROM api_tokens t JOIN users u ON u.id = t.user_id "
        "WHERE t.revoked_at IS NULL AND u.active = :inactive ORDER BY t.id"), {"inactive": False}).all()
    for token_id, prefix, username in rows:
        con.execute(sa.text("UPDATE api_tokens SET revoked_at = :now WHERE id = :id"), {"now": now, "id": token_id})
        detail = json.dumps({"user": username, "token_id": token_id, "token_prefix": prefix,
                             "reason": "user deactivated (revoked by migration 0002)"}, sort_keys=True)
        con.execute(sa.text("INSERT INTO audit_log (at, actor, action, detail) VALUES (:at, :actor, :action, :detail)"),
                    {"at": now, "actor": "migration", "action": "token_revoke", "detail": detail})


def downgrade() -> None:
    pass    # revocations are never undone
