"""The benchmark load generator (pipelines/samples/load.py): deterministic, scaled, read by the real adapters,
mapped by the crosswalks, every member state present."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from pipelines.adapters import adapt_file, load_spec
from pipelines.samples.load import generate_load

SCALE = 0.01   # about 10,000 standard rows


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def load(tmp_path_factory):
    out = tmp_path_factory.mktemp("load")
    return out, generate_load(out, SCALE, seed=7)


def test_same_seed_same_bytes(load, tmp_path):
    out, _ = load
    again = tmp_path / "again"
    generate_load(again, SCALE, seed=7)
    assert _digest(again) == _digest(out)
    other = tmp_path / "other"
    generate_load(other, SCALE, seed=8)
    assert _digest(other) != _digest(out)


def test_scale_controls_rows(load, tmp_path):
    _, man = load
    assert 0.8 * 10_000 <= man["expected_rows"] <= 1.2 * 10_000
    bigger = generate_load(tmp_path / "b", 0.05, seed=7)
    assert 0.9 * 50_000 <= bigger["expected_rows"] <= 1.1 * 50_000
    assert json.loads((tmp_path / "b" / "load_manifest.json").read_text())["expected_rows"] == bigger["expected_rows"]


def test_every_member_state(load):
    _, man = load
    import csv

    from pipelines.settings import get_settings

    with open(get_settings().reference_dir / "countries" / "oas_members.csv", encoding="utf-8") as f:
        members = {r["iso3"] for r in csv.DictReader(f)}
    assert len(members) == 35
    assert set(man["countries"]) == members
    assert {f["source_id"] for f in man["files"]} == {"mx_sesnsp", "ar_snic", "co_policia", "iccs_template"}


def test_real_adapters_read_every_format_with_the_expected_rows(load):
    """Expected rows by hand: SESNSP municipal = municipalities x 98 offence rows x 12 months; SNIC = codes x 9
    value columns per province; Policía = municipalities x 12 months x (M, F, _T) for homicidios and x 12 for
    hurto automotores; template = codes x 12 months x 3 sexes per country-year."""
    from pipelines.settings import get_settings

    out, man = load
    ref = get_settings().reference_dir
    seen = set()
    for f in man["files"]:
        kind = (f["source_id"], Path(f["path"]).name.split("_")[0])
        if kind in seen:
            continue
        seen.add(kind)
        spec = load_spec(f["source_id"], ref)
        table, stats = adapt_file(out / f["path"], spec, submission_id="t__20250101__00000000",
                                  file_name=Path(f["path"]).name)
        assert len(table) == f["expected_rows"], f
        assert table["value"].notna().all()
        if f["source_id"] == "mx_sesnsp":
            assert stats["layout"] == "municipal"
            assert len(table) == f["municipalities"] * 98 * 12
            assert table["subdivision_code"].str.len().eq(5).all()
        if f["source_id"] == "co_policia":
            per = 36 if Path(f["path"]).name.startswith("homicidios") else 12
            assert len(table) == f["municipalities"] * per
    assert {k[0] for k in seen} == {"mx_sesnsp", "ar_snic", "co_policia", "iccs_template"}


def test_labels_map_through_the_crosswalks(load):
    from pipelines.onboarding.unmapped import unmapped_codes
    from pipelines.settings import get_settings

    out, man = load
    s = get_settings()
    done = set()
    for f in man["files"]:
        if (f["source_id"], Path(f["path"]).name[:5]) in done:
            continue
        done.add((f["source_id"], Path(f["path"]).name[:5]))
        miss = unmapped_codes(s, f["source_id"], out / f["path"])
        assert miss.empty, (f["path"], miss[["national_code", "national_label"]].head().to_dict("records"))


def test_state_file_still_reads_with_the_estatal_layout(tmp_path):
    """The municipal layout comes first in mx_sesnsp; the state file must still choose `estatal`."""
    from pipelines.samples.synthetic import generate_sample
    from pipelines.settings import get_settings

    paths = generate_sample(tmp_path)
    est = paths["mx_sesnsp"][0]
    _, stats = adapt_file(est, load_spec("mx_sesnsp", get_settings().reference_dir),
                          submission_id="t__20250101__00000000", file_name=est.name)
    assert stats["layout"] == "estatal"
