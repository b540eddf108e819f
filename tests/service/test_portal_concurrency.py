"""20 concurrent uploads against the running server (a thread pool of API clients): every file is
stored exactly once with its checksum, each upload gets its verdict, and the audit log has every event."""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.service.conftest import good_file


def test_twenty_concurrent_uploads(server_factory, tmp_path):
    srv = server_factory()
    srv.user("conc.arg", "office", "ARG")
    token = srv.token("conc.arg")
    # 4 different files (the same rows, a different number of trailing blank lines), each sent 5 times
    files = [good_file(tmp_path, f"snic-{i}.csv", extra_blank_lines=i) for i in range(4)]
    sha = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    jobs = [files[i % 4] for i in range(20)]

    def send(f):
        with open(f, "rb") as fh, httpx.Client(timeout=300) as c:
            r = c.post(srv.url + "/api/submissions", headers={"authorization": f"Bearer {token}"},
                       data={"source": "ar_snic"}, files={"file": (f.name, fh, "text/csv")})
        return f.name, r.status_code, r.json()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(send, jobs))

    assert all(code in (200, 201) for _, code, _ in results), [(n, c, b.get("message")) for n, c, b in results]
    assert all(body["verdict"] == "review" and body["status"] == "awaiting_review" for _, _, body in results)
    assert sum(body["created"] for _, _, body in results) == 4              # each content stored once
    by_file = {}
    for name, _, body in results:
        assert body["sha256"] == sha[name]
        by_file.setdefault(name, set()).add(body["submission_id"])
    assert all(len(ids) == 1 for ids in by_file.values())                    # duplicates -> the same submission
    assert len({next(iter(v)) for v in by_file.values()}) == 4

    landing = srv.data_dir / "landing"
    dirs = sorted(d for d in landing.iterdir() if d.is_dir())
    assert [d.name for d in dirs if d.name.startswith(".incoming")] == []     # no half-written upload left
    assert len(dirs) == 4
    for d in dirs:
        man = json.loads((d / "manifest.json").read_text())
        stored = d / man["stored_name"]
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == man["sha256"] == sha[man["original_name"]]
        assert man["channel"] == "web" and man["uploaded_by"] == "conc.arg"
    assert not any((srv.data_dir / "portal" / "tmp").iterdir())              # temporary copies removed

    events = srv.db.audit_events(1000, actor="conc.arg")
    uploads = [json.loads(e.detail) | {"sid": e.submission_id} for e in events if e.action == "upload"]
    verdicts = [e for e in events if e.action == "verdict"]
    assert len(uploads) == 20 and len(verdicts) == 20
    assert sum(u["created"] for u in uploads) == 4
    assert sorted(u["sha256"] for u in uploads) == sorted(sha[f.name] for f in jobs)
    assert {e.submission_id for e in verdicts} == {d.name for d in dirs}
