"""The import summary (harmonise/impact.py): what a submission does to the warehouse against the published vintage
of its scope — values new, changed, unchanged, withdrawn, not applied — on the member-state template (fast)."""

from pathlib import Path

import pandas as pd

from pipelines.adapters import adapt_file, load_spec
from pipelines.harmonise.impact import submission_impact
from tests.conftest import REPO

REF = REPO / "reference"


def _template(tmp_path: Path) -> pd.DataFrame:
    from tools.templates import EXAMPLE_MARK

    src = REF / "templates" / "hemistat_template.csv"
    p = tmp_path / "hemistat_template.csv"
    p.write_text(src.read_text("utf-8").replace(EXAMPLE_MARK, "filled"), "utf-8")
    return adapt_file(p, load_spec("iccs_template", REF), submission_id="x", file_name=p.name,
                      allowed_countries={"PRY"})[0]


def test_new_changed_unchanged_withdrawn_not_applied(tmp_path):
    spec = load_spec("iccs_template", REF)
    base = _template(tmp_path)
    old = tmp_path / "old.parquet"
    base.assign(submission_id="iccs_template__20240101__00000000").to_parquet(old)
    published = pd.DataFrame([{"submission_id": "iccs_template__20240101__00000000", "source_id": "iccs_template",
                               "country_iso3": "PRY", "received_at": "2024-01-01T00:00:00",
                               "release_date": "2024-01-01", "validated_path": str(old)}])
    n_values = int(base["value"].notna().sum())

    first = submission_impact(base, submission_id="iccs_template__20240101__11111111", spec=spec,
                              received_at="2024-01-01T00:00:00", release_date="2024-01-01", published=None)
    assert first["counts"] == {"new": n_values, "changed": 0, "unchanged": 0, "withdrawn": 0, "not_applied": 0}

    new = base.copy()
    hom = new.index[(new.national_code == "0101") & new.subdivision_code.isna() & (new.measure == "offences")][0]
    new.loc[hom, "value"] = new.loc[hom, "value"] + 5
    robbery = new.index[(new.national_code == "0401") & (new.subdivision_code == "PY-11")][0]
    new = new.drop(index=robbery)
    res = submission_impact(new, submission_id="iccs_template__20250101__22222222", spec=spec,
                            received_at="2025-01-01T00:00:00", release_date="2025-01-01", published=published)
    assert res["counts"] == {"new": 0, "changed": 1, "unchanged": n_values - 2, "withdrawn": 1, "not_applied": 0}
    [ch] = res["largest_changes"]
    assert (ch["national_code"], ch["subdivision_code"], ch["old_value"], ch["difference"]) == ("0101", None,
                                                                                              210.0, 5.0)
    assert res["against"] == ["iccs_template__20240101__00000000"]

    # an older release of the same scope than the published one changes nothing
    late = submission_impact(new, submission_id="iccs_template__20230101__33333333", spec=spec,
                             received_at="2025-01-01T00:00:00", release_date="2023-01-01", published=published)
    assert late["counts"]["not_applied"] == n_values - 1 and late["counts"]["changed"] == 0

    # another country's published submissions are not read
    other = published.assign(country_iso3="PER")
    assert submission_impact(new, submission_id="iccs_template__20250101__22222222", spec=spec,
                             received_at="2025-01-01T00:00:00", release_date="2025-01-01",
                             published=other)["counts"]["new"] == n_values - 1


def test_first_load_shortcut_gives_the_vintage_chain_answer(tmp_path):
    """With nothing of its scope published, the summary is one query over the file (sql/impact_first.sql); it must
    say exactly what the vintage chain says — here on a file with a repeated key (the first line wins), empty cells
    (not counted), two years, and rows of another submission id in the file (not its own: not read)."""
    spec = load_spec("iccs_template", REF)
    base = _template(tmp_path)
    sid = "iccs_template__20240101__11111111"
    dup = base[base["value"].notna()].head(3).assign(value=999.0, line=base["line"].max() + 1)   # same keys, later
    other_year = base.head(40).assign(year=base["year"] - 1)
    emptied = base.tail(5).assign(value=None, year=base["year"] - 2)
    t = pd.concat([base, dup, other_year, emptied], ignore_index=True).assign(submission_id=sid)
    stranger = base.head(7).assign(submission_id="iccs_template__20240101__99999999", year=base["year"] - 3)
    path = tmp_path / "t.parquet"
    pd.concat([t, stranger], ignore_index=True).to_parquet(path)
    kw = dict(submission_id=sid, spec=spec, received_at="2024-01-01T00:00:00", release_date="2024-01-01",
              published=None)
    fast, full = submission_impact(path, **kw), submission_impact(path, **kw, _force_full=True)
    assert fast == full
    n_years = t.loc[t["value"].notna(), "year"].nunique()
    assert len(fast["by_year"]) == n_years >= 2 and fast["counts"]["new"] > 0 and fast["against"] == []


def test_only_published_files_of_the_same_years_are_read(tmp_path, monkeypatch):
    """A source scoped by year: a published file of other years shares no vintage unit with the new one, so it
    is not read (its Parquet statistics say so), and the summary is the one reading every file gives. A source
    scoped by code too (code families come from every file read) reads them all."""
    import pipelines.harmonise.impact as imp
    from pipelines.harmonise.impact import _may_hold_years, _units_by_year

    spec = load_spec("iccs_template", REF)
    base = _template(tmp_path)
    year = int(base["year"].max())
    same, older = tmp_path / "same.parquet", tmp_path / "older.parquet"
    base.assign(submission_id="iccs_template__20240101__00000000").to_parquet(same)
    base.assign(submission_id="iccs_template__20230101__00000001", year=year - 5).to_parquet(older)
    assert _may_hold_years(same, {year}) and not _may_hold_years(older, {year})
    assert _may_hold_years(older, {year, year - 5}) and _may_hold_years(tmp_path / "absent.parquet", {year})
    assert _units_by_year(spec) and not _units_by_year(load_spec("unodc_cts", REF))

    published = pd.DataFrame([{"submission_id": sid, "source_id": "iccs_template", "country_iso3": "PRY",
                               "received_at": "2024-01-01T00:00:00", "release_date": day, "validated_path": str(p)}
                              for sid, day, p in (("iccs_template__20240101__00000000", "2024-01-01", same),
                                                  ("iccs_template__20230101__00000001", "2023-01-01", older))])
    new = base.copy()
    new.loc[new.index[new["value"].notna()][0], "value"] += 1
    kw = dict(submission_id="iccs_template__20250101__22222222", spec=spec, received_at="2025-01-01T00:00:00",
              release_date="2025-01-01", published=published)
    import pipelines.storage.duck as duck

    read: list[list[str]] = []
    real_cursor = duck.cursor

    class Spy:
        """The cursor, noting the files each vintage query (01_src) is given."""
        def __init__(self, con):
            self._con = con

        def execute(self, sql, params=None):
            if isinstance(params, dict) and "paths" in params:
                read.append(sorted(Path(x).name for x in params["paths"]))
            return self._con.execute(sql, params) if params is not None else self._con.execute(sql)

        def __getattr__(self, name):
            return getattr(self._con, name)

    monkeypatch.setattr(duck, "cursor", lambda *a, **k: Spy(real_cursor(*a, **k)))
    filtered = submission_impact(new, **kw)
    monkeypatch.setattr(imp, "_units_by_year", lambda spec: False)   # every published file of the country read
    everything = submission_impact(new, **kw)
    assert read == [["same.parquet", "submission.parquet"], ["older.parquet", "same.parquet", "submission.parquet"]]
    assert filtered == everything
    assert filtered["counts"]["changed"] == 1 and filtered["against"] == ["iccs_template__20240101__00000000"]
