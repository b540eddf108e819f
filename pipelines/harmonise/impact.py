"""What a submission does to the warehouse — DHIS2's *import summary* — computed with the harmonisation's own
vintage logic (``sql/01_src`` .. ``04_latest``: vintage units by release date and scope, the latest release per
unit), in DuckDB.

Against the submissions of the same source currently published, each cell of the submission is

* ``new``        — no published value for it in the previous vintage of its scope;
* ``changed``    — the previous vintage had another value (the largest changes are listed: key, old, new,
                   difference);
* ``unchanged``  — the same value;
* ``withdrawn``  — (a cell of the previous vintage) a unit this submission now gives no longer has it;
* ``not_applied``— a newer release of the same scope is already published: this file changes nothing there.

The scope is the source's vintage unit (country x national/subdivision level x the spec's ``scope.by``), so
"same source and country" holds by construction.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.harmonise.engine import _code_roots, _fetch, _latest, _sql
from pipelines.specs import SourceSpec

KINDS = ("new", "changed", "unchanged", "withdrawn", "not_applied")
KEY = ["country_iso3", "subdivision_code", "year", "month", "national_code", "national_label", "measure", "sex",
       "age", "relationship"]


def submission_impact(table: pd.DataFrame | str | Path, *, submission_id: str, spec: SourceSpec,
                      received_at: str, release_date: str | None, published: pd.DataFrame | None,
                      top: int = 10, _force_full: bool = False) -> dict:
    """``table``: the submission's standard table (its Parquet file, or a DataFrame). ``published``: the
    published submissions (``submission_id, source_id, received_at, release_date, validated_path``); only those of
    ``spec``'s source are read. Returns ``{"counts": {kind: n}, "largest_changes": [...], "against": [ids],
    "by_year": [...]}``. With nothing of its scope published, one query over the file gives the same answer as
    the vintage chain (``sql/impact_first.sql``; ``_force_full`` runs the chain anyway, for the test that says
    so)."""
    import tempfile

    from pipelines.settings import get_settings
    from pipelines.storage import duck

    # a cursor on this process's database with harmonisation's settings (engine.connect: bounded, insertion
    # order not kept); every table of the vintage SQL is temp, so the cursor's own (storage/duck.py)
    con = duck.cursor({**get_settings().duckdb_config(), "preserve_insertion_order": False})
    with tempfile.TemporaryDirectory(prefix="hemistat-impact-") as tmp:
        if isinstance(table, pd.DataFrame):
            path = Path(tmp) / "submission.parquet"
            table.assign(submission_id=submission_id).to_parquet(path)
        else:
            path = Path(table)
        pub = published if published is not None else pd.DataFrame()
        rows = [{"submission_id": submission_id, "source_id": spec.source_id, "received_at": str(received_at),
                 "release_date": release_date, "validated_path": str(path)}]
        if not pub.empty:
            pub = pub[(pub["source_id"] == spec.source_id) & (pub["submission_id"] != submission_id)]
            # the file's countries and years, in one pass over it
            held = con.execute("select distinct country_iso3, year from read_parquet(?)", [str(path)]).fetchall() \
                if len(pub) else []
            if "country_iso3" in pub.columns and len(pub):
                # a vintage unit is within one country: only the published submissions of this file's countries
                # (or of several countries) are read
                mine = {r[0] for r in held}
                pub = pub[pub["country_iso3"].isna() | pub["country_iso3"].isin(mine)]
            if len(pub) and _units_by_year(spec):
                # and within one year where the scope is by year: only the published files holding one of this
                # file's years (their Parquet statistics say so; a file without them is read)
                years = {r[1] for r in held}
                pub = pub[[_may_hold_years(Path(str(v)), years) for v in pub["validated_path"]]]
            for r in pub.to_dict("records"):
                if Path(str(r["validated_path"])).exists():
                    rows.append({k: r.get(k) for k in ("submission_id", "source_id", "received_at", "release_date",
                                                       "validated_path")})
        if len(rows) == 1 and not _force_full:
            # nothing of its scope is published (a first load, a backfill of a new source or country): every
            # cell that wins its vintage unit is new, and in a file alone every unit is won — the first line of
            # each key, as 04_latest keeps. One pass over the file instead of the whole vintage chain.
            try:
                by_year = _fetch(con, _sql("impact_first"), [str(path), submission_id])
            finally:
                con.close()
            return {"counts": {k: int(by_year["n"].sum()) if k == "new" else 0 for k in KINDS},
                    "largest_changes": [],
                    "by_year": [{k: _plain(v) for k, v in r.items()} for r in by_year.to_dict("records")],
                    "against": []}
        subs = pd.DataFrame(rows)
        subs["received_at"] = subs["received_at"].astype(str)
        subs["release_date"] = subs["release_date"].where(subs["release_date"].notna(),
                                                          subs["received_at"].str[:10]).astype(str)
        try:
            con.register("subs", subs)
            con.register("scopes", pd.DataFrame([(spec.source_id, "year" in spec.scope_by,
                                                  "subdivision_code" in spec.scope_by,
                                                  "national_code" in spec.scope_by, spec.scope_kind)],
                                                columns=["source_id", "by_year", "by_sub", "by_code", "scope_kind"]))
            con.execute(_sql("01_src"), {"paths": list(subs["validated_path"]), "countries": None, "years": None})
            con.register("code_roots", _code_roots({spec.source_id: spec},
                                                   _fetch(con, "select distinct source_id, national_code from src")))
            con.execute(_sql("02_src_code_families"))
            con.execute(_sql("03_unit_rank"))
            _latest(con)
            con.execute(_sql("impact_cells"), {"sid": submission_id})
            counts = dict(con.execute("select kind, count(*) from impact_cells group by kind").fetchall())
            largest = _fetch(con, "select *, new_value - old_value as difference from impact_cells "
                                  "where kind = 'changed' order by abs(coalesce(new_value, 0) - coalesce(old_value, 0)) "
                                  "desc, year, national_code, line limit ?", [int(top)])
            by_year = _fetch(con, "select year, kind, count(*) as n from impact_cells group by all order by 1, 2")
            against = [r[0] for r in con.execute(
                "select distinct old_submission_id from impact_cells where old_submission_id is not null "
                "order by 1").fetchall()]
        finally:
            con.close()
    return {"counts": {k: int(counts.get(k, 0)) for k in KINDS},
            "largest_changes": [{k: _plain(v) for k, v in r.items() if k in KEY + [
                "old_value", "new_value", "difference", "line", "column_name"]}
                                for r in largest.to_dict("records")],
            "by_year": [{k: _plain(v) for k, v in r.items()} for r in by_year.to_dict("records")],
            "against": against}


def _units_by_year(spec: SourceSpec) -> bool:
    """Whether each vintage unit of the source is within one year, whatever files are read beside: ``year`` in
    its scope, and not ``national_code`` (code families, which make a code's unit, come from the codes of every
    file read, whatever their year)."""
    return "year" in spec.scope_by and "national_code" not in spec.scope_by


def _may_hold_years(path: Path, years: set) -> bool:
    """False only when the Parquet file's statistics show that no row group holds one of ``years``."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
        col = meta.schema.names.index("year")
        for i in range(meta.num_row_groups):
            st = meta.row_group(i).column(col).statistics
            if st is None or not st.has_min_max:
                return True
            if any(st.min <= y <= st.max for y in years if y is not None):
                return True
        return False
    except (OSError, ValueError):
        return True   # unreadable here: the vintage SQL reads it and says what is wrong


def _plain(v):
    if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
        return None
    return v.item() if hasattr(v, "item") else v
