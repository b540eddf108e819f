"""list_submissions keeps each submission's entry while its files are unchanged (a backfill lists the submissions
once or twice per file it validates): a status change, a report, a damaged status file and a new submission are
each seen at once; an entry handed out is a copy, so a caller that changes it changes nothing for the next."""

from __future__ import annotations

from pipelines.storage import submissions as subs


def _land(tmp_path, landing, name, text):
    src = tmp_path / name
    src.write_text(text, "utf-8")
    return subs.land_file(landing, src, source_id="ar_snic")[0].submission_id


def test_listing_sees_every_change_and_hands_out_copies(tmp_path):
    landing = tmp_path / "landing"
    a = _land(tmp_path, landing, "a.csv", "x;y\n1;2\n")
    first = {m["submission_id"]: m for m in subs.list_submissions(landing)}
    assert first[a]["status"] == "received" and first[a]["report_path"] is None

    first[a]["status"] = "mutated by a caller"
    first[a]["acknowledged"].append("Z9")
    again = {m["submission_id"]: m for m in subs.list_submissions(landing)}
    assert again[a]["status"] == "received" and again[a]["acknowledged"] == []

    subs.set_status(landing, a, "validated", detail="1 cell")
    subs.write_report(landing, a, {"stats": {}})
    b = _land(tmp_path, landing, "b.csv", "x;y\n3;4\n")
    now = {m["submission_id"]: m for m in subs.list_submissions(landing)}
    assert now[a]["status"] == "validated" and now[a]["status_detail"] == "1 cell" and now[a]["report_path"]
    assert now[b]["status"] == "received"

    # a status file damaged in place (not replaced): the submission is set aside at once, then listed again
    # when repaired
    p = subs.submission_dir(landing, a) / "status.json"
    good = p.read_text("utf-8")
    p.write_text("{ not json", "utf-8")
    assert [m["submission_id"] for m in subs.list_submissions(landing)] == [b]
    kept = {m["submission_id"]: m for m in subs.list_submissions(landing, keep_as={a: "published"})}
    assert kept[a]["status"] == "published" and kept[a]["status_file_error"]
    p.write_text(good, "utf-8")
    assert {m["submission_id"]: m["status"] for m in subs.list_submissions(landing)} == {a: "validated",
                                                                                        b: "received"}
