"""The Network's domain rules, without the portal: applications, who may read/post/moderate, mentions, the
suggestion score (weights from reference/network/weights.yaml), attachments, calendar files and Atom feeds."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pytest
from icalendar import Calendar

from pipelines.network import attachments as att
from pipelines.network import calendar as ics
from pipelines.network import feeds, rules, scoring, seed, warehouse
from pipelines.network.rules import NetworkError, Viewer
from tests.network.conftest import build_warehouse

REF = Path(__file__).resolve().parents[2] / "reference"
VOCAB = rules.vocabularies(REF)
STATES = {"CHL", "JAM", "ARG", "BRA"}


def _app(**kw):
    raw = {"display_name": "Ana", "organisation": "Universidad de Muestra", "sector": "academia", "country_iso3": "chl",
           "iccs": ["02"], "languages": ["es"], **kw}
    return rules.check_application(raw, member_states=STATES, iccs_codes={"01", "02", "0201"}, vocab=VOCAB)


def test_an_application_is_checked_field_by_field():
    a = _app(prevention=["social", "social"], visible=["organisation"])
    assert a.country_iso3 == "CHL" and a.prevention == ("social",) and a.visible == ("organisation",)
    for kw, key in (({"sector": "church"}, "network.err.sector"), ({"country_iso3": "XXX"}, "network.err.country"),
                    ({"country_iso3": ""}, "network.err.country_required"), ({"iccs": ["9999"]}, "network.err.iccs"),
                    ({"iccs": []}, "network.err.no_topic"), ({"languages": ["de"]}, "network.err.language"),
                    ({"visible": ["email"]}, "network.err.visible"), ({"display_name": "A"}, "network.err.name"),
                    ({"lines": ["made-up line"]}, "network.err.line")):
        with pytest.raises(NetworkError) as e:
            _app(**kw)
        assert e.value.key == key, kw
    # an international organisation may have no country
    assert _app(sector="international_organisation", country_iso3="").country_iso3 is None


def test_who_may_read_post_and_moderate():
    anon = Viewer()
    applicant = Viewer(1, "a", "network", status="applied")
    member = Viewer(2, "m", "network", status="approved", roles=frozenset({"member"}), groups=frozenset({7}))
    other_group = Viewer(3, "o", "network", status="approved", roles=frozenset({"member"}), groups=frozenset({8}))
    moderator = Viewer(4, "mod", "network", status="approved", roles=frozenset({"member", "moderator"}))
    sec = Viewer(5, "s", "network", roles=frozenset({"secretariat"}))
    admin = Viewer(6, "adm", "admin")
    assert all(rules.can_read("public", 7, v) for v in (anon, applicant, member))
    assert [rules.can_read("members", 7, v) for v in (anon, applicant, member, other_group, sec, admin)] == \
        [False, False, True, True, True, True]
    assert [rules.can_read("closed", 7, v) for v in (anon, applicant, member, other_group, moderator, sec)] == \
        [False, False, True, False, False, True]
    assert not rules.can_read("unknown", 7, member)
    assert not rules.can_post("public", 7, anon) and not rules.can_post("members", 7, applicant)
    assert rules.can_post("closed", 7, member) and not rules.can_post("closed", 7, member, locked=True)
    assert rules.can_moderate("members", 7, moderator) and not rules.can_moderate("members", 7, member)
    assert not rules.can_moderate("closed", 7, moderator)        # a moderator outside the working group
    assert rules.can_manage_events(sec) and not rules.can_manage_events(member)
    # the demand survey hook: a data office of the country, or the Network's focal point of the country
    focal = Viewer(8, "f", "network", status="approved", roles=frozenset({"member", "focal_point"}),
                   focal_countries=frozenset({"JAM"}))
    assert rules.can_answer_demand_survey(focal, "JAM") and not rules.can_answer_demand_survey(focal, "CHL")
    assert rules.can_answer_demand_survey(Viewer(9, "o", "office", "CHL"), "CHL")
    assert not rules.can_answer_demand_survey(member, "CHL")


def test_mentions():
    assert rules.mentions("Hola @jm.focal y @ana_c. Gracias @jm.focal; correo x@y.org") == ["jm.focal", "ana_c"]


def test_the_score_is_the_sum_of_weighted_reasons():
    w = scoring.load_weights(REF)
    sub = {"CHL": "South America", "ARG": "South America", "JAM": "Caribbean"}
    me = scoring.Profile("member", "1", "Ana", "CHL", iccs={"02"}, prevention={"social"}, seeks={"0201"},
                         languages={"es"})
    arg = scoring.Profile("member", "2", "Beto", "ARG", iccs={"0201"}, prevention={"social"}, offers={"0201"},
                          languages={"es"})
    s = scoring.score(me, arg, w, sub)
    pts = {r.code: r.points for r in s.reasons}
    r = w["reasons"]
    assert pts == {"shared_iccs_area": r["shared_iccs_area"]["weight"], "shared_prevention_type": r["shared_prevention_type"]["weight"],
                   "demand_offer": r["demand_offer"]["weight"], "same_subregion": r["same_subregion"]["weight"],
                   "shared_language": r["shared_language"]["weight"]}
    assert s.score == pytest.approx(sum(pts.values()))
    assert [x.detail for x in s.reasons if x.code == "shared_iccs_area"] == [["02"]]     # the broader code
    # country or language alone never make a suggestion
    same_country = scoring.Profile("member", "3", "Carla", "CHL", iccs={"05"}, languages={"es"})
    assert scoring.score(me, same_country, w, sub) is None
    # a cap: five shared ICCS areas count as `cap`
    many = scoring.Profile("member", "4", "D", "JAM", iccs={"01", "02", "03", "04", "05"})
    me2 = scoring.Profile("member", "5", "E", "CHL", iccs={"01", "02", "03", "04", "05"})
    s = scoring.score(me2, many, w, sub)
    assert s.reasons[0].points == r["shared_iccs_area"]["weight"] * r["shared_iccs_area"]["cap"]


def test_weights_are_data(tmp_path):
    (tmp_path / "network").mkdir()
    text = (REF / "network" / "weights.yaml").read_text().replace("shared_language:         {weight: 0.5",
                                                                  "shared_language:         {weight: 9.0")
    (tmp_path / "network" / "weights.yaml").write_text(text)
    w = scoring.load_weights(tmp_path)
    me = scoring.Profile("member", "1", "A", "CHL", iccs={"02"}, languages={"es"})
    other = scoring.Profile("member", "2", "B", "JAM", iccs={"02"}, languages={"es"})
    s = scoring.score(me, other, w, {})
    assert {x.code: x.points for x in s.reasons}["shared_language"] == 9.0
    (tmp_path / "network" / "weights.yaml").write_text("reasons: {shared_iccs_area: {weight: x}}\n")
    scoring._weights.cache_clear()
    with pytest.raises(ValueError, match="shared_iccs_area"):
        scoring.load_weights(tmp_path)


def test_practices_courses_and_indicators_come_from_the_warehouse_views(tmp_path):
    assert warehouse.practices(tmp_path / "none.duckdb") == []              # no warehouse: nothing, no error
    path = build_warehouse(tmp_path / "hemistat.duckdb")
    pr = warehouse.practices(path, "es")
    assert [(p.ref, p.title, p.iccs, p.prevention) for p in pr][0] == \
        ("sample-pr-1", "Muestra: prevención de la violencia en escuelas", {"0201"}, {"social"})
    co = warehouse.courses(path)
    assert co[0].iccs == {"01"} and co[0].languages == {"es", "en"}
    ind = warehouse.indicators(path, "CHL", {"0201": "Assault"})
    assert [(i.ref, i.extra["year"]) for i in ind] == [("CHL:0101", 2023), ("CHL:0201", 2023)]
    assert warehouse.lines_of_action(path) == {"sample-line-youth", "sample-line-urban"}


def test_attachments_are_checked_by_content_and_never_named_by_the_user(tmp_path):
    ok = att.check("informe.pdf", b"%PDF-1.7\n...")
    assert ok.kind == "pdf" and ok.media_type == "application/pdf"
    for name, data, key in (("../../etc/passwd", b"x", "network.err.file_name"), ("a/b.txt", b"x", "network.err.file_name"),
                            ("C:evil.txt", b"x", "network.err.file_name"), ("x\u202etxt.exe", b"x", "network.err.file_name"),
                            ("macro.pdf", b"\xd0\xcf\x11\xe0rest", "network.err.file_type"),
                            ("photo.png", b"%PDF-1.4", "network.err.file_type"),      # name and content disagree
                            ("tool.exe", b"MZ\x90\x00\x03", "network.err.file_type"),
                            ("empty.txt", b"", "network.err.file_empty")):
        with pytest.raises(NetworkError) as e:
            att.check(name, data)
        assert e.value.key == key, name
    with pytest.raises(NetworkError) as e:
        att.check("big.txt", b"a" * 2048, max_bytes=1024)
    assert e.value.status == 413
    stored = att.store(tmp_path / "files", ok, b"%PDF-1.7\n...")
    assert stored.name == ok.sha256 and stored.parent == tmp_path / "files" and stored.stat().st_mode & 0o077 == 0
    with pytest.raises(NetworkError):
        att.stored_path(tmp_path, "../" + "a" * 61)


def test_calendar_files_parse_back_with_icalendar():
    data = ics.ics_bytes(ics.IcsEvent(uid="e1@x", title="Foro: prevención, juventud; \"escuelas\"",
                                      starts_at=datetime(2026, 12, 10, 14, 0), ends_at=datetime(2026, 12, 10, 16, 0),
                                      location="Virtual", sessions=[ics.IcsSession("s1@x", "Apertura",
                                                                                    datetime(2026, 12, 10, 14, 0),
                                                                                    datetime(2026, 12, 10, 14, 30),
                                                                                    ["Ana — Universidad"])]))
    cal = Calendar.from_ical(data)
    evs = cal.walk("VEVENT")
    assert len(evs) == 2
    assert str(evs[0]["SUMMARY"]) == "Foro: prevención, juventud; \"escuelas\""
    assert evs[0].decoded("DTSTART").isoformat() == "2026-12-10T14:00:00+00:00"
    assert str(evs[1]["SUMMARY"]).endswith(": Apertura") and "Ana — Universidad" in str(evs[1]["DESCRIPTION"])


def test_atom_feeds_escape_what_members_write():
    body = feeds.atom_bytes(feed_id="urn:x", title="Espacio <público>", link="http://h/s", self_link="http://h/s/feed.atom",
                            updated=None, entries=[feeds.Entry("urn:e1", "<script>alert(1)</script> & co", "http://h/t/1",
                                                               datetime(2026, 1, 2, 3, 4, 5), "ana", "a < b & \x07c", "es")])
    root = ET.fromstring(body)
    ns = {"a": feeds.ATOM}
    assert root.find("a:title", ns).text == "Espacio <público>"
    e = root.find("a:entry", ns)
    assert e.find("a:title", ns).text == "<script>alert(1)</script> & co" and e.find("a:content", ns).text == "a < b & c"
    assert e.find("a:updated", ns).text == "2026-01-02T03:04:05Z" and b"<script>" not in body


def test_the_first_virtual_forum_record_cites_its_source():
    rec = seed.first_forum(REF)
    assert rec["window_start"].isoformat() == "2016-01-01" and rec["window_end"].isoformat() == "2016-06-30"
    assert rec["verification"] == "unverified" and "MISPA-V" in rec["source"]
    # the sentence the record rests on is in the report kept in shared/context
    report = Path("/work/shared/context/000_e2283c929326ecea.txt")
    if report.exists():
        assert "first virtual forum is expected to be held during the first half of 2016" in report.read_text()
