"""Helpers to run one rule on a (possibly defective) copy of a real file."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from pipelines.adapters import adapt_file, load_all_specs, load_spec
from pipelines.harmonise import harmonise
from pipelines.harmonise import reference as ref
from pipelines.quality import evaluate, load_rules
from pipelines.quality.context import hierarchy_pairs
from pipelines.quality.results import QualityContext
from tests.conftest import real

REPO = Path(__file__).resolve().parents[2]
REF = REPO / "reference"
RULES = REPO / "quality_rules"


def adapt(path: Path, source: str, name: str | None = None) -> pd.DataFrame:
    df, _ = adapt_file(path, load_spec(source, REF), submission_id=f"{source}__20250101__00000000",
                       file_name=name or path.name, allowed_countries=set(ref.countries(REF)["iso3"]))
    return df


def context(source: str, table: pd.DataFrame | None, **kw) -> QualityContext:
    spec = load_spec(source, REF)
    codes = set(table["national_code"]) if table is not None and "national_code" in table.columns else set()
    base = dict(reference_dir=REF, source_id=source, spec=spec, crosswalk=ref.crosswalk(REF, spec.crosswalk),
                countries=set(ref.countries(REF)["iso3"]), population_national=ref.population_national(REF),
                population_subnational=ref.population_subnational(REF), hierarchy=hierarchy_pairs(spec, codes),
                subset_codes=spec.subset_codes, received_at=datetime(2025, 3, 1, tzinfo=timezone.utc))
    base.update(kw)
    return QualityContext(**base)


def rule(rule_id: str, source: str | None = None, **param_overrides):
    r = next(r for r in load_rules(RULES, source, reference_dir=REF) if r.id == rule_id)
    if param_overrides:
        from dataclasses import replace

        r = replace(r, params={**r.params, **param_overrides})
    return r


def run(rule_id: str, table, source: str, problems=None, rule_obj=None, **ctx):
    r = rule_obj or rule(rule_id, source)
    return evaluate(table, [r], context(source, table if isinstance(table, pd.DataFrame) else None, **ctx),
                    problems=problems)[0]


def indicators(table: pd.DataFrame, tmp_path: Path) -> pd.DataFrame:
    p = tmp_path / f"h{abs(hash(id(table)))}.parquet"
    table.to_parquet(p)
    subs = pd.DataFrame([{"submission_id": table.submission_id.iloc[0], "source_id": table.source_id.iloc[0],
                          "received_at": "2025-01-01T00:00:00", "validated_path": str(p)}])
    return harmonise(subs, load_all_specs(REF), REF).indicators


@pytest.fixture(scope="session")
def pais_lines() -> list[bytes]:
    return real("ar_snic/snic-pais.csv").read_bytes().split(b"\r\n")


@pytest.fixture(scope="session")
def pais_clean() -> pd.DataFrame:
    return adapt(real("ar_snic/snic-pais.csv"), "ar_snic")


@pytest.fixture(scope="session")
def mx_small(tmp_path_factory) -> Path:
    """estatal.csv restricted to Aguascalientes and Colima (all years), bytes untouched otherwise."""
    raw = real("mx_sesnsp/estatal.csv").read_bytes().split(b"\r\n")
    keep = [raw[0]] + [ln for ln in raw[1:] if ln.split(b",")[1:2] in ([b"1"], [b"6"])]
    p = tmp_path_factory.mktemp("mx") / "estatal.csv"
    p.write_bytes(b"\r\n".join(keep) + b"\r\n")
    return p


def write(tmp_path: Path, lines: list[bytes], name: str) -> Path:
    p = tmp_path / name
    p.write_bytes(b"\r\n".join(lines))
    return p


def line_of(lines: list[bytes], *prefix: bytes) -> int:
    """0-based index of the first line starting with the ';'-joined prefix."""
    pre = b";".join(prefix) + b";"
    return next(i for i, ln in enumerate(lines) if ln.startswith(pre))
