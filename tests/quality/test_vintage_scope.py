"""The previous vintage of a submission is the same scope's: the same source *and* country. The member-state
template is one source for 32 countries, so Argentina's file must never be compared (R1, R2) with Brazil's,
and a new vintage is compared with its own country's last file only."""

from __future__ import annotations

from pathlib import Path

from pipelines import pipeline
from pipelines.adapters import load_spec
from pipelines.quality.context import build_context
from tests.conftest import REPO

TPL = REPO / "reference" / "templates" / "hemistat_template.csv"
HEADER = TPL.read_text(encoding="utf-8").splitlines()[0]


def _file(tmp: Path, iso3: str, name: str, homicides: int) -> Path:
    lines = [HEADER] + [f"{iso3},,,{y},,0101,Homicidio intencional,offences,_T,_T,{homicides + y - 2020},A,"
                        for y in (2020, 2021, 2022)]
    p = tmp / name
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def _in(settings, path: Path, iso3: str) -> str:
    man, _ = pipeline.submit(settings, path, "iccs_template", country_iso3=iso3)
    pipeline.ingest(settings, man.submission_id)
    pipeline.validate(settings, man.submission_id)
    return man.submission_id


def test_previous_vintage_is_the_same_countrys(data_env, tmp_path):
    s = data_env
    spec = load_spec("iccs_template", s.reference_dir)
    arg1 = _in(s, _file(tmp_path, "ARG", "plantilla.csv", 2000), "ARG")
    # Brazil's first file, the same codes as Argentina's: no previous vintage of its own
    bra1 = _in(s, _file(tmp_path, "BRA", "plantilla_bra.csv", 5000), "BRA")
    ctx = build_context(s, spec, s.validated_dir / f"{bra1}.parquet", submission_id=bra1)
    assert ctx.previous is None
    assert all(Path(f).stem != arg1 for f in ctx.related or [])
    # Argentina's second vintage: compared with Argentina's first, never with Brazil's
    arg2 = _in(s, _file(tmp_path, "ARG", "plantilla_v2.csv", 2100), "ARG")
    ctx = build_context(s, spec, s.validated_dir / f"{arg2}.parquet", submission_id=arg2)
    assert ctx.previous is not None and Path(ctx.previous).stem == arg1
    assert {Path(f).stem for f in ctx.related} == {arg1}
