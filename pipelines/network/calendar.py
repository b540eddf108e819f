"""Calendar files (RFC 5545) of the Network's events, written with the ``icalendar`` library: one VEVENT per
event, and one per session when the event has a programme."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from icalendar import Calendar, Event


@dataclass
class IcsSession:
    uid: str
    title: str
    starts_at: datetime
    ends_at: datetime | None = None
    speakers: list[str] = field(default_factory=list)


@dataclass
class IcsEvent:
    uid: str
    title: str
    starts_at: datetime | date
    ends_at: datetime | date | None = None
    description: str = ""
    location: str = ""
    url: str = ""
    status: str = "CONFIRMED"   # CONFIRMED, TENTATIVE, CANCELLED
    sessions: list[IcsSession] = field(default_factory=list)


def _utc(d):
    if isinstance(d, datetime):
        return (d if d.tzinfo else d.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    return d


def ics_bytes(ev: IcsEvent, *, stamp: datetime | None = None) -> bytes:
    """The calendar of one event (UTC times; naive datetimes are taken as UTC, as the portal stores them)."""
    cal = Calendar()
    cal.add("prodid", "-//hemistat//Inter-American Network for the Prevention of Violence and Crime//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    stamp = _utc(stamp or datetime.now(timezone.utc))

    def vevent(uid, title, start, end, description="", location="", url="", status="CONFIRMED"):
        e = Event()
        e.add("uid", uid)
        e.add("dtstamp", stamp)
        e.add("summary", title)
        e.add("dtstart", _utc(start))
        if end is not None:
            e.add("dtend", _utc(end))
        if description:
            e.add("description", description)
        if location:
            e.add("location", location)
        if url:
            e.add("url", url)
        e.add("status", status)
        cal.add_component(e)

    vevent(ev.uid, ev.title, ev.starts_at, ev.ends_at, ev.description, ev.location, ev.url, ev.status)
    for s in ev.sessions:
        desc = "\n".join(s.speakers)
        vevent(s.uid, f"{ev.title}: {s.title}", s.starts_at, s.ends_at, desc, ev.location, ev.url, ev.status)
    return cal.to_ical()
