import os
import stat

import pytest

from pipelines.storage import submissions as subs


def test_land_is_immutable_content_addressed_and_deduplicated(tmp_path):
    src = tmp_path / "../../etc-passwd.csv"
    src = tmp_path / "file.csv"
    src.write_bytes(b"a,b\n1,2\n")
    m, created = subs.land_file(tmp_path / "landing", src, source_id="ar_snic",
                                original_name="../../etc/passwd.csv")
    assert created
    d = tmp_path / "landing" / m.submission_id
    stored = d / m.stored_name
    assert stored.read_bytes() == b"a,b\n1,2\n"
    assert m.stored_name == "original.csv" and m.original_name == "passwd.csv"
    assert not (stat.S_IMODE(os.stat(stored).st_mode) & 0o222)  # read-only
    assert subs.verify(tmp_path / "landing", m.submission_id).sha256 == m.sha256
    m2, created2 = subs.land_file(tmp_path / "landing", src, source_id="ar_snic")
    assert not created2 and m2.submission_id == m.submission_id
    assert len(subs.list_submission_ids(tmp_path / "landing")) == 1


def test_verify_detects_tampering(tmp_path):
    src = tmp_path / "f.csv"
    src.write_bytes(b"x\n")
    m, _ = subs.land_file(tmp_path / "l", src, source_id="mx_sesnsp")
    p = tmp_path / "l" / m.submission_id / m.stored_name
    os.chmod(p, 0o644)
    p.write_bytes(b"y\n")
    with pytest.raises(RuntimeError, match="checksum"):
        subs.verify(tmp_path / "l", m.submission_id)


def test_submission_ids_never_become_arbitrary_paths(tmp_path):
    with pytest.raises(ValueError):
        subs.submission_dir(tmp_path, "../../etc")


def test_status_events_are_appended(tmp_path):
    src = tmp_path / "f.csv"
    src.write_bytes(b"x\n")
    m, _ = subs.land_file(tmp_path / "l", src, source_id="mx_sesnsp")
    subs.set_status(tmp_path / "l", m.submission_id, "validated", detail="ok")
    st = subs.read_status(tmp_path / "l", m.submission_id)
    assert st["status"] == "validated"
    assert [e["status"] for e in st["events"]] == ["received", "validated"]


def test_validated_web_upload_is_not_publishable_until_approved(data_env, tmp_path):
    from pipelines import pipeline

    src = tmp_path / "snic-pais.csv"
    src.write_text("anio;codigo_delito_snic_id;codigo_delito_snic_nombre;cantidad_hechos\n2020;1;H;5\n")
    man, _ = pipeline.submit(data_env, src, "ar_snic", channel="web")
    (data_env.validated_dir / f"{man.submission_id}.parquet").write_bytes(b"x")
    subs.set_status(data_env.landing_dir, man.submission_id, "validated")
    assert pipeline.accepted_submissions(data_env).empty
    subs.set_status(data_env.landing_dir, man.submission_id, "approved", by="reviewer")
    assert pipeline.accepted_submissions(data_env)["submission_id"].tolist() == [man.submission_id]
