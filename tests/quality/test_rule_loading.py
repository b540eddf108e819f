"""Loading the rules is cheap and stays right (the portal's warm-up and every publication load them for each
source): the whole set, with every source's overrides, is read and checked once, and again when a file
changes; the schema is checked once, not once per rule. YAML is read by libyaml (pipelines.yamlio) with
the same values as yaml.safe_load on every YAML file of the project, and the same error text."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from pipelines import yamlio
from pipelines.quality import load_rules
from pipelines.quality import rules as R
from tests.quality.conftest import REF, RULES

REPO = Path(__file__).resolve().parents[2]
SOURCES = sorted(p.stem for p in (REF / "sources").glob("*.yaml"))


def rules_copy(tmp_path: Path) -> Path:
    d = tmp_path / "quality_rules"
    shutil.copytree(RULES, d)
    return d


def test_every_source_is_served_from_one_read(tmp_path, monkeypatch):
    d = rules_copy(tmp_path)
    reads = []
    real = R._read_all
    monkeypatch.setattr(R, "_read_all", lambda *a: reads.append(a) or real(*a))
    sets = {s: load_rules(d, s, reference_dir=REF) for s in [None, *SOURCES]}
    assert len(reads) == 1, "the rules were read and checked more than once"
    # each source gets its own overrides, and only its own
    x3 = {s: next(r for r in rs if r.id == "X3") for s, rs in sets.items()}
    assert x3["ar_snic"].override_reason and x3["ar_snic"].params["tolerance_rel"] == 0.02
    assert x3[None].override_reason is None and x3["mx_sesnsp"].override_reason is None
    assert x3[None].params["tolerance_rel"] != 0.02
    assert all([r.id for r in rs] == [r.id for r in sets[None]] for rs in sets.values())   # same rules, same order
    # a caller changing its list changes nobody else's
    sets["ar_snic"].clear()
    assert load_rules(d, "ar_snic", reference_dir=REF)


def test_a_changed_override_file_is_read_again(tmp_path):
    d = rules_copy(tmp_path)
    assert next(r for r in load_rules(d, "ar_snic", reference_dir=REF) if r.id == "X3").params["tolerance_rel"] == 0.02
    p = d / "sources" / "ar_snic.yaml"
    doc = yaml.safe_load(p.read_text("utf-8"))
    next(o for o in doc["overrides"] if o["id"] == "X3")["params"] = {"tolerance_rel": 0.03}
    p.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "utf-8")
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))     # a clock too coarse to see the edit
    assert next(r for r in load_rules(d, "ar_snic", reference_dir=REF) if r.id == "X3").params["tolerance_rel"] == 0.03
    # a new override file for a source that had none is seen too
    (d / "sources" / "mx_sesnsp.yaml").write_text(
        "source_id: mx_sesnsp\noverrides:\n  - id: X3\n    severity: info\n    reason: test\n", "utf-8")
    x3 = next(r for r in load_rules(d, "mx_sesnsp", reference_dir=REF) if r.id == "X3")
    assert (x3.severity, x3.override_reason) == ("info", "test")


def test_a_rule_breaking_the_schema_is_named(tmp_path):
    d = rules_copy(tmp_path)
    p = d / "plausibility.yaml"
    doc = yaml.safe_load(p.read_text("utf-8"))
    next(r for r in doc["rules"] if r["id"] == "P1")["severity"] = "fatal"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "utf-8")
    with pytest.raises(ValueError) as exc:
        load_rules(d, "ar_snic", reference_dir=REF)
    msg = str(exc.value)
    assert msg.startswith(f"{p}: rule P1: ") and "'fatal' is not one of" in msg


@pytest.mark.parametrize("path", sorted(p.relative_to(REPO).as_posix() for top in ("quality_rules", "reference")
                                        for p in (REPO / top).rglob("*.yaml")))
def test_libyaml_reads_every_project_yaml_as_safe_load_does(path):
    text = (REPO / path).read_text("utf-8")
    assert repr(yamlio.load(text)) == repr(yaml.safe_load(text))


@pytest.mark.parametrize("text", ["a: [1,\n b: 2", "a: 1\n  b: 2\n", "- x\ny: 1", "a: 'open\n"])
def test_a_yaml_error_reads_as_safe_load_gives_it(text):
    with pytest.raises(yaml.YAMLError) as ours:
        yamlio.load(text)
    with pytest.raises(yaml.YAMLError) as theirs:
        yaml.safe_load(text)
    assert str(ours.value) == str(theirs.value) and "line" in str(ours.value)
    assert ours.value.problem_mark.line == theirs.value.problem_mark.line


def test_libyaml_is_used_here():
    """The wheel installed by the project's set-up has libyaml; without it the speed-up is silently lost."""
    assert yamlio.FAST_LOADER is yaml.CSafeLoader
