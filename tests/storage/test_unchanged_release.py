"""Issue 13, item 2: a publish where nothing changed writes no new release (it would push an older one out of
the five kept); a change — a new accepted submission, a withdrawal — does."""

from __future__ import annotations

from pipelines import pipeline
from pipelines.samples.synthetic import generate_sample
from pipelines.storage import release as rel


def _releases(settings) -> list[str]:
    return sorted(p.name for p in (settings.published_dir / "releases").iterdir() if not p.name.startswith("."))


def test_nothing_changed_no_new_release(data_env, tmp_path):
    files = generate_sample(tmp_path / "sample")["ar_snic"]
    first, second = files[0], files[1]
    sid = pipeline.submit(data_env, first, "ar_snic")[0].submission_id
    pipeline.ingest(data_env, sid)
    pipeline.validate(data_env, sid)
    pipeline.acknowledge(data_env, sid, pipeline.failing_warnings(data_env, sid), by="t", reason="test") \
        if pipeline.failing_warnings(data_env, sid) else None
    pipeline.harmonise_all(data_env)
    out1 = pipeline.publish_all(data_env)
    assert out1["unchanged"] is False and _releases(data_env) == [out1["release_id"]]

    pipeline.harmonise_all(data_env)                  # the same inputs again
    out2 = pipeline.publish_all(data_env)
    assert out2["unchanged"] is True and out2["release_id"] == out1["release_id"]
    assert _releases(data_env) == [out1["release_id"]] and rel.current_release(data_env.published_dir) == out1["release_id"]

    sid2 = pipeline.submit(data_env, second, "ar_snic")[0].submission_id   # a change: a new accepted file
    pipeline.ingest(data_env, sid2)
    pipeline.validate(data_env, sid2)
    if pipeline.failing_warnings(data_env, sid2):
        pipeline.acknowledge(data_env, sid2, pipeline.failing_warnings(data_env, sid2), by="t", reason="test")
    pipeline.harmonise_all(data_env)
    out3 = pipeline.publish_all(data_env)
    assert out3["unchanged"] is False and len(_releases(data_env)) == 2

    pipeline.withdraw(data_env, sid2, reason="test", by="t")                 # a change: a withdrawal
    pipeline.harmonise_all(data_env)
    assert pipeline.publish_all(data_env)["unchanged"] is False and len(_releases(data_env)) == 3
