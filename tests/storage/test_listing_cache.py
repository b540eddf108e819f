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


def test_listing_of_one_source_names_only_its_submissions(tmp_path):
    """``source_id``: only that source's submissions, by the manifest, never by a prefix another source shares
    (``ar_snic`` against ``ar_snic_x``)."""
    landing = tmp_path / "landing"
    a = _land(tmp_path, landing, "a.csv", "x;y\n1;2\n")
    src = tmp_path / "c.csv"
    src.write_text("x;y\n5;6\n", "utf-8")
    c = subs.land_file(landing, src, source_id="ar_snic_x")[0].submission_id
    src = tmp_path / "m.csv"
    src.write_text("x;y\n7;8\n", "utf-8")
    m = subs.land_file(landing, src, source_id="mx_sesnsp")[0].submission_id
    assert subs.list_submission_ids(landing) == sorted([a, c, m])
    assert subs.list_submission_ids(landing, "ar_snic") == [a]
    assert [x["submission_id"] for x in subs.list_submissions(landing, source_id="ar_snic")] == [a]
    assert [x["submission_id"] for x in subs.list_submissions(landing, source_id="ar_snic_x")] == [c]
    assert subs.list_submissions(landing, source_id="co_policia") == []
    # a submission whose status file cannot be read is set aside, as in a full listing
    (subs.submission_dir(landing, m) / "status.json").write_text("{ not json", "utf-8")
    assert subs.list_submissions(landing, source_id="mx_sesnsp") == []


def test_accepted_submissions_of_one_source(data_env):
    """accepted_submissions(source_id=…) is the full listing's rows of that source, with their validated files."""
    import pandas as pd

    from pipelines.storage.catalog import accepted_submissions

    s = data_env
    s.ensure_dirs()
    ids = []
    for source, text in (("ar_snic", "x;y\n1;2\n"), ("mx_sesnsp", "x;y\n3;4\n"), ("ar_snic", "x;y\n5;6\n")):
        src = s.data_dir / f"{len(ids)}.csv"
        src.write_text(text, "utf-8")
        sid = subs.land_file(s.landing_dir, src, source_id=source)[0].submission_id
        subs.set_status(s.landing_dir, sid, "validated")
        ids.append(sid)
    for sid in ids[:2]:   # the third has no validated file: not accepted
        pd.DataFrame({"x": [1]}).to_parquet(s.validated_dir / f"{sid}.parquet")
    every = accepted_submissions(s)
    assert sorted(every["submission_id"]) == sorted(ids[:2])
    one = accepted_submissions(s, source_id="ar_snic")
    assert one["submission_id"].tolist() == [ids[0]]
    assert one["validated_path"].tolist() == [str(s.validated_dir / f"{ids[0]}.parquet")]
    assert accepted_submissions(s, source_id="co_policia").empty


def test_one_listing_lists_each_source_once_per_block_and_per_thread(data_env, monkeypatch):
    """Inside ``catalog.one_listing()`` (one file's quality run: the context and the import summary) a source is
    listed once and each caller gets its own copy; outside, or after the block, every call lists again (a status
    changed meanwhile is seen); another thread never sees the block's listings."""
    import threading

    from pipelines.storage import catalog

    s = data_env
    s.ensure_dirs()
    src = s.data_dir / "a.csv"
    src.write_text("x;y\n1;2\n", "utf-8")
    sid = subs.land_file(s.landing_dir, src, source_id="ar_snic")[0].submission_id
    subs.set_status(s.landing_dir, sid, "validated")
    calls = []
    real = subs.list_submissions
    monkeypatch.setattr(subs, "list_submissions", lambda *a, **k: calls.append(k.get("source_id")) or real(*a, **k))
    with catalog.one_listing():
        first = catalog.submissions(s, "ar_snic")
        first[0]["status"] = "changed by a caller"
        with catalog.one_listing():                          # nested: the outer block's listings
            assert catalog.submissions(s, "ar_snic")[0]["status"] == "validated"
        other = []
        t = threading.Thread(target=lambda: other.append(catalog.submissions(s, "ar_snic")[0]["status"]))
        t.start()
        t.join()
        assert other == ["validated"]
        catalog.submissions(s, "mx_sesnsp")
    assert calls == ["ar_snic", "ar_snic", "mx_sesnsp"]   # once in the block, once by the other thread, mx once
    subs.set_status(s.landing_dir, sid, "rejected", detail="test")
    assert catalog.submissions(s, "ar_snic")[0]["status"] == "rejected"     # after the block: listed again
    assert len(calls) == 4
