"""Tables of the Inter-American Network for the Prevention of Violence and Crime (issue 17), in the portal's
database (same ``Base`` as ``db.py``; created by migration ``0005_network``). Every table is prefixed
``network_``. A person is a portal ``users`` row; the Network's roles are rows of ``network_roles`` (a person may
hold several, beside their portal role, which is unchanged)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from pipelines.service.base import Base, utcnow


class NetOrganisation(Base):
    __tablename__ = "network_organisations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    sector: Mapped[str] = mapped_column(String(40))
    country_iso3: Mapped[str | None] = mapped_column(String(3), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("name", "country_iso3", name="uq_network_org_name_country"),)


class NetMember(Base):
    __tablename__ = "network_members"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True, index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("network_organisations.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(120))
    sector: Mapped[str] = mapped_column(String(40))
    country_iso3: Mapped[str | None] = mapped_column(String(3), nullable=True)
    topics: Mapped[str] = mapped_column(Text, default="{}")        # JSON: iccs, prevention, lines, pillars, seeks, offers
    languages: Mapped[str] = mapped_column(String(40), default="")  # comma-separated
    visible: Mapped[str] = mapped_column(String(200), default="")   # comma-separated fields the directory shows
    statement: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), index=True)     # applied, approved, rejected, suspended
    applied_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decision_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_digest_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class NetRole(Base):
    __tablename__ = "network_roles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))                   # member, focal_point, moderator, secretariat
    country_iso3: Mapped[str | None] = mapped_column(String(3), nullable=True)   # a focal point's member state
    granted_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    granted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class NetSpace(Base):
    __tablename__ = "network_spaces"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))                   # public, members, closed
    topic: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class NetSpaceMember(Base):
    """The working group of a closed space."""
    __tablename__ = "network_space_members"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("network_spaces.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    added_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("space_id", "user_id", name="uq_network_space_member"),)


class NetThread(Base):
    __tablename__ = "network_threads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("network_spaces.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)


class NetPost(Base):
    __tablename__ = "network_posts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("network_threads.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reply_to: Mapped[int | None] = mapped_column(ForeignKey("network_posts.id"), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    hidden_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hidden_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class NetMention(Base):
    __tablename__ = "network_mentions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("network_posts.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)


class NetAttachment(Base):
    __tablename__ = "network_attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("network_posts.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(255))             # the user's name for it: text, never a path
    media_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))                 # the stored file's name


class NetReport(Base):
    __tablename__ = "network_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("network_posts.id"), index=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class NetEvent(Base):
    __tablename__ = "network_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    title: Mapped[str] = mapped_column(String(200))
    title_es: Mapped[str | None] = mapped_column(String(200), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))                   # virtual, onsite, hybrid
    starts_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)   # UTC; None: only a window known
    ends_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    window_start: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    window_end: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    location: Mapped[str] = mapped_column(String(200), default="")
    online_url: Mapped[str] = mapped_column(String(300), default="")
    capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")
    minutes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="planned")   # planned, held, cancelled
    verification: Mapped[str] = mapped_column(String(16), default="verified")   # verified, unverified
    source: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class NetSession(Base):
    __tablename__ = "network_event_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("network_events.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    ends_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    speakers: Mapped[str] = mapped_column(Text, default="")         # one "name — affiliation" per line


class NetRegistration(Base):
    __tablename__ = "network_registrations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("network_events.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    registered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    attended: Mapped[bool] = mapped_column(Boolean, default=False)
    __table_args__ = (UniqueConstraint("event_id", "user_id", name="uq_network_registration"),)


class NetOutcome(Base):
    __tablename__ = "network_outcomes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("network_events.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    link_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)   # practice, course, indicator
    link_ref: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class NetProposal(Base):
    """A thread or a forum outcome proposed as a good practice or a course: waits here, with its status, until
    the practices or catalogue review queue takes it (wired by the lead when the branches merge)."""
    __tablename__ = "network_proposals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))                   # practice, course
    source_kind: Mapped[str] = mapped_column(String(16))            # thread, outcome
    source_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    proposer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default="proposed", index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
