"""the Inter-American Network for the Prevention of Violence and Crime (issue 17): organisations, members,
Network roles (several per person, beside the unchanged ``users.role``), spaces and their working groups,
threads, posts, mentions, attachments, reports, events with sessions, registrations and outcomes, proposals;
and the seeded record of the Network's first virtual forum (``reference/network/first_forum.yaml``).

Only new tables: users, API tokens, sessions and the audit log are not touched.

Revision ID: 0005_network
Revises: 0002_revoke_inactive_tokens
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_network"
down_revision = "0003_practices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('network_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('title_es', sa.String(length=200), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=True),
    sa.Column('ends_at', sa.DateTime(), nullable=True),
    sa.Column('window_start', sa.DateTime(), nullable=True),
    sa.Column('window_end', sa.DateTime(), nullable=True),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('online_url', sa.String(length=300), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('minutes', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('verification', sa.String(length=16), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_network_events_slug'), 'network_events', ['slug'], unique=True)
    op.create_table('network_organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('sector', sa.String(length=40), nullable=False),
    sa.Column('country_iso3', sa.String(length=3), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'country_iso3', name='uq_network_org_name_country')
    )
    op.create_table('network_spaces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('topic', sa.String(length=40), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_network_spaces_slug'), 'network_spaces', ['slug'], unique=True)
    op.create_table('network_event_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=True),
    sa.Column('ends_at', sa.DateTime(), nullable=True),
    sa.Column('speakers', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['network_events.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_network_event_sessions_event_id'), 'network_event_sessions', ['event_id'], unique=False)
    op.create_table('network_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('sector', sa.String(length=40), nullable=False),
    sa.Column('country_iso3', sa.String(length=3), nullable=True),
    sa.Column('topics', sa.Text(), nullable=False),
    sa.Column('languages', sa.String(length=40), nullable=False),
    sa.Column('visible', sa.String(length=200), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('applied_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('last_digest_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['network_organisations.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_network_members_organisation_id'), 'network_members', ['organisation_id'], unique=False)
    op.create_index(op.f('ix_network_members_status'), 'network_members', ['status'], unique=False)
    op.create_index(op.f('ix_network_members_user_id'), 'network_members', ['user_id'], unique=True)
    op.create_table('network_outcomes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('link_kind', sa.String(length=16), nullable=True),
    sa.Column('link_ref', sa.String(length=80), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['network_events.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_network_outcomes_event_id'), 'network_outcomes', ['event_id'], unique=False)
    op.create_table('network_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('source_kind', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('proposer_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['proposer_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_network_proposals_status'), 'network_proposals', ['status'], unique=False)
    op.create_table('network_registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('registered_at', sa.DateTime(), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.Column('attended', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['network_events.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'user_id', name='uq_network_registration')
    )
    op.create_index(op.f('ix_network_registrations_event_id'), 'network_registrations', ['event_id'], unique=False)
    op.create_index(op.f('ix_network_registrations_user_id'), 'network_registrations', ['user_id'], unique=False)
    op.create_table('network_roles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('country_iso3', sa.String(length=3), nullable=True),
    sa.Column('granted_by', sa.String(length=64), nullable=True),
    sa.Column('granted_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_network_roles_user_id'), 'network_roles', ['user_id'], unique=False)
    op.create_table('network_space_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('space_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['space_id'], ['network_spaces.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('space_id', 'user_id', name='uq_network_space_member')
    )
    op.create_index(op.f('ix_network_space_members_space_id'), 'network_space_members', ['space_id'], unique=False)
    op.create_index(op.f('ix_network_space_members_user_id'), 'network_space_members', ['user_id'], unique=False)
    op.create_table('network_threads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('space_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['space_id'], ['network_spaces.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_network_threads_created_at'), 'network_threads', ['created_at'], unique=False)
    op.create_index(op.f('ix_network_threads_space_id'), 'network_threads', ['space_id'], unique=False)
    op.create_table('network_posts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('reply_to', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('lang', sa.String(length=2), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('hidden_at', sa.DateTime(), nullable=True),
    sa.Column('hidden_by', sa.String(length=64), nullable=True),
    sa.Column('hidden_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['reply_to'], ['network_posts.id'], ),
    sa.ForeignKeyConstraint(['thread_id'], ['network_threads.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_network_posts_author_id'), 'network_posts', ['author_id'], unique=False)
    op.create_index(op.f('ix_network_posts_created_at'), 'network_posts', ['created_at'], unique=False)
    op.create_index(op.f('ix_network_posts_thread_id'), 'network_posts', ['thread_id'], unique=False)
    op.create_table('network_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('media_type', sa.String(length=60), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['network_posts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_network_attachments_post_id'), 'network_attachments', ['post_id'], unique=False)
    op.create_table('network_mentions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['network_posts.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_network_mentions_post_id'), 'network_mentions', ['post_id'], unique=False)
    op.create_index(op.f('ix_network_mentions_user_id'), 'network_mentions', ['user_id'], unique=False)
    op.create_table('network_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['post_id'], ['network_posts.id'], ),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_network_reports_post_id'), 'network_reports', ['post_id'], unique=False)
    _seed_first_forum()


def _seed_first_forum() -> None:
    """The first virtual forum as a record (its source and ``unverified`` status with it)."""
    from datetime import datetime, timezone

    from pipelines.network.seed import first_forum
    from pipelines.settings import get_settings

    rec = first_forum(get_settings().reference_dir)
    con = op.get_bind()
    if con.execute(sa.text("SELECT 1 FROM network_events WHERE slug = :s"), {"s": rec["slug"]}).first():
        return
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    con.execute(sa.text(
        "INSERT INTO network_events (slug, title, title_es, kind, window_start, window_end, location, online_url, "
        "description, minutes, status, verification, source, created_by, created_at) VALUES (:slug, :title, "
        ":title_es, :kind, :ws, :we, '', '', :description, '', :status, :verification, :source, 'seed', :now)"),
        {"slug": rec["slug"], "title": rec["title_en"], "title_es": rec["title_es"], "kind": rec["kind"],
         "ws": datetime.combine(rec["window_start"], datetime.min.time()),
         "we": datetime.combine(rec["window_end"], datetime.min.time()),
         "description": rec.get("description_en", ""), "status": rec.get("status", "planned"),
         "verification": rec["verification"], "source": rec["source"], "now": now})


def downgrade() -> None:
    op.drop_index(op.f('ix_network_reports_post_id'), table_name='network_reports')
    op.drop_table('network_reports')
    op.drop_index(op.f('ix_network_mentions_user_id'), table_name='network_mentions')
    op.drop_index(op.f('ix_network_mentions_post_id'), table_name='network_mentions')
    op.drop_table('network_mentions')
    op.drop_index(op.f('ix_network_attachments_post_id'), table_name='network_attachments')
    op.drop_table('network_attachments')
    op.drop_index(op.f('ix_network_posts_thread_id'), table_name='network_posts')
    op.drop_index(op.f('ix_network_posts_created_at'), table_name='network_posts')
    op.drop_index(op.f('ix_network_posts_author_id'), table_name='network_posts')
    op.drop_table('network_posts')
    op.drop_index(op.f('ix_network_threads_space_id'), table_name='network_threads')
    op.drop_index(op.f('ix_network_threads_created_at'), table_name='network_threads')
    op.drop_table('network_threads')
    op.drop_index(op.f('ix_network_space_members_user_id'), table_name='network_space_members')
    op.drop_index(op.f('ix_network_space_members_space_id'), table_name='network_space_members')
    op.drop_table('network_space_members')
    op.drop_index(op.f('ix_network_roles_user_id'), table_name='network_roles')
    op.drop_table('network_roles')
    op.drop_index(op.f('ix_network_registrations_user_id'), table_name='network_registrations')
    op.drop_index(op.f('ix_network_registrations_event_id'), table_name='network_registrations')
    op.drop_table('network_registrations')
    op.drop_index(op.f('ix_network_proposals_status'), table_name='network_proposals')
    op.drop_table('network_proposals')
    op.drop_index(op.f('ix_network_outcomes_event_id'), table_name='network_outcomes')
    op.drop_table('network_outcomes')
    op.drop_index(op.f('ix_network_members_user_id'), table_name='network_members')
    op.drop_index(op.f('ix_network_members_status'), table_name='network_members')
    op.drop_index(op.f('ix_network_members_organisation_id'), table_name='network_members')
    op.drop_table('network_members')
    op.drop_index(op.f('ix_network_event_sessions_event_id'), table_name='network_event_sessions')
    op.drop_table('network_event_sessions')
    op.drop_index(op.f('ix_network_spaces_slug'), table_name='network_spaces')
    op.drop_table('network_spaces')
    op.drop_table('network_organisations')
    op.drop_index(op.f('ix_network_events_slug'), table_name='network_events')
    op.drop_table('network_events')
