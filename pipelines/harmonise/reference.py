"""Loaders for the project's reference tables (reference/*). Pure functions of a reference dir."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

STR = "str"


#: parsed reference tables by content (path and a digest of the bytes): validating a batch parsed the same few
#: CSVs hundreds of times (289 reads for 56 files). Reading and hashing the bytes costs a fraction of parsing
#: them, and a file changed in place — whatever its size or modification time — is parsed again.
_CACHE: dict[tuple, pd.DataFrame] = {}
_CACHE_MAX = 64


def _read(path: Path) -> tuple[bytes, tuple]:
    """The file's bytes and its cache key (resolved path and a digest of the bytes)."""
    import hashlib

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"reference table missing: {path} (run `python -m tools.refbuild`)") from None
    return data, (str(path.resolve()), hashlib.blake2b(data, digest_size=16).digest())


def _csv(path: Path, **kw) -> pd.DataFrame:
    """A reference CSV as text columns (empty = NULL); a fresh copy each call, so callers may change it."""
    return _typed(path, "text", lambda df: df, read_kw=kw)


def _typed(path: Path, tag: str, convert, *depends: Path, read_kw: dict | None = None) -> pd.DataFrame:
    """``convert(text table)`` of a reference CSV (``read_kw``: more ``read_csv`` arguments), kept by content:
    parsed and converted (types, a crosswalk's row checks) once per content of the file and of the files it
    ``depends`` on, not once per call (a batch of 348 files converted the subnational population 348 times).
    A fresh copy each call; a conversion that raises keeps nothing."""
    import io

    read_kw = read_kw or {}
    data, key = _read(path)
    key = key + (tag, tuple(sorted(read_kw.items()))) + tuple(
        _read(d)[1] if Path(d).exists() else (str(d), None) for d in depends)
    df = _CACHE.get(key)
    if df is None:
        df = convert(pd.read_csv(io.BytesIO(data), dtype=STR, keep_default_na=False, na_values=[""],
                                 encoding="utf-8", **read_kw))
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = df
    return df.copy()


def countries(reference_dir: Path) -> pd.DataFrame:
    return _csv(reference_dir / "countries" / "oas_members.csv")


def _iccs_types(df: pd.DataFrame) -> pd.DataFrame:
    df["level"] = df["level"].astype("int64")
    return df


def iccs(reference_dir: Path) -> pd.DataFrame:
    return _typed(reference_dir / "iccs" / "iccs.csv", "iccs", _iccs_types)


def _population_types(df: pd.DataFrame) -> pd.DataFrame:
    df["year"] = df["year"].astype("int64")
    df["population"] = df["population"].astype("float64")
    return df


def population_national(reference_dir: Path) -> pd.DataFrame:
    return _typed(reference_dir / "population" / "national.csv", "population", _population_types)


NATIONAL_POP_PREFERENCE = ["wb_sp_pop_totl"]   # first = preferred; any other source after these


def preferred_national_population(popn: pd.DataFrame) -> pd.DataFrame:
    """One national population per country and year, by NATIONAL_POP_PREFERENCE (the one preference used by
    rates and by the quality rules that recompute them)."""
    rank = popn["source_id"].map({s: i for i, s in enumerate(NATIONAL_POP_PREFERENCE)}).fillna(99)
    return popn.assign(_rank=rank).sort_values(["_rank", "source_id"], kind="stable") \
        .drop_duplicates(["country_iso3", "year"]).drop(columns="_rank")


def population_subnational(reference_dir: Path) -> pd.DataFrame:
    return _typed(reference_dir / "population" / "subnational.csv", "population", _population_types)


def crosswalk(reference_dir: Path, name: str) -> pd.DataFrame:
    """A source's crosswalk; ``valid_from`` / ``valid_to`` are inclusive years (Int64, NULL = open). Every row is
    checked with ``pipelines.specs.crosswalk.CrosswalkRow`` (ValueError naming the file, line, column, reason)."""
    from pipelines.specs.crosswalk import iccs_code_set, validate_rows

    path = reference_dir / "crosswalks" / f"{name}.csv"
    iccs_path = Path(reference_dir) / "iccs" / "iccs.csv"

    def convert(df: pd.DataFrame) -> pd.DataFrame:
        # the rows are checked against the ICCS list: the kept result depends on both files' contents
        validate_rows(path, df.astype(object).where(df.notna(), "").to_dict("records"),
                      iccs_code_set(reference_dir))
        df["crosswalk_id"] = name
        for c in ("valid_from", "valid_to"):
            df[c] = pd.to_numeric(df[c], errors="raise").astype("Int64") if c in df.columns \
                else pd.Series(pd.NA, index=df.index, dtype="Int64")
        return df

    return _typed(path, "crosswalk:" + name, convert, iccs_path)


def iccs_ancestors(iccs_df: pd.DataFrame) -> pd.DataFrame:
    """(code, ancestor, ancestor_level) for every code and each ancestor including itself."""
    parent = dict(zip(iccs_df["code"], iccs_df["parent_code"]))
    level = dict(zip(iccs_df["code"], iccs_df["level"]))
    rows = []
    for code in iccs_df["code"]:
        cur = code
        while isinstance(cur, str) and cur:
            rows.append((code, cur, int(level[cur])))
            cur = parent.get(cur)
    return pd.DataFrame(rows, columns=["code", "ancestor", "ancestor_level"])
