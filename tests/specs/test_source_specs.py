"""Source specs are typed models (pipelines/specs/source.py) checked when they load: a misspelt key, a wrong
type or a reference to something that does not exist fails with the file, the field path and the reason."""

from __future__ import annotations

import re

import pytest
import yaml

from pipelines.specs import check_all_specs, load_all_specs
from tests.specs.conftest import REPO, edit_spec


def _errors(ref) -> list[str]:
    return check_all_specs(ref)[1]


def test_every_spec_of_the_repository_loads_and_reads_back_as_written():
    specs = load_all_specs(REPO / "reference")
    files = sorted((REPO / "reference" / "sources").glob("*.yaml"))
    assert sorted(specs) == [p.stem for p in files]
    for p in files:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
        spec = specs[p.stem]
        assert spec.path == p.resolve()
        # what the format families read (Layout.as_dict) is what the YAML says
        assert [lay.as_dict() for lay in spec.layouts] == raw["layouts"], p.stem
        assert spec.model_dump(exclude_unset=True, by_alias=True) == raw, p.stem


def test_misspelt_top_level_field(ref):
    p = edit_spec(ref, "ar_snic", lambda raw: raw.update(titel=raw.pop("title")))
    with pytest.raises(ValueError) as ei:
        load_all_specs(ref)
    msg = str(ei.value)
    assert str(p) in msg and "invalid source spec" in msg
    assert "titel: unknown field (did you mean 'title'?)" in msg
    assert "title: required field missing" in msg
    assert "docs/ONBOARDING.md#spec-keys" in msg


def test_misspelt_field_inside_a_layout_column_role(ref):
    def change(raw):
        raw["layouts"][0]["columns"]["year"] = {"column": "anio", "date_part": "year", "date_fromat": "%d/%m/%Y"}

    p = edit_spec(ref, "ar_snic", change)
    with pytest.raises(ValueError) as ei:
        load_all_specs(ref)
    msg = str(ei.value)
    assert f"{p}: invalid source spec: layouts[0].columns.year.date_fromat: unknown field " \
           f"(did you mean 'date_format'?)" in msg
    assert "docs/ONBOARDING.md#date-formats" in msg     # the reason names date_format


def test_unknown_role_and_wrong_type(ref):
    def change(raw):
        raw["layouts"][0]["columns"]["yaer"] = "anio"
        raw["expected_lag_days"] = "soon"
        raw["layouts"][0]["reader"]["skip_rows"] = -1

    p = edit_spec(ref, "ar_snic", change)
    errs = _errors(ref)
    assert all(e.startswith(f"{p}: invalid source spec: ") for e in errs)
    text = "\n".join(errs)
    assert re.search(r"layouts\[0\]\.columns\.yaer \(key\): Input should be 'country_iso3'", text)
    assert "expected_lag_days: Input should be a valid integer" in text and "(found 'soon')" in text
    assert "layouts[0].reader.skip_rows: Input should be greater than or equal to 0" in text


def test_cross_field_rules(ref):
    edit_spec(ref, "ar_snic", lambda raw: raw.update(scope={"kind": "full", "by": ["year"]}))
    edit_spec(ref, "cl_cead", lambda raw: raw["layouts"][0]["values"].update(column="x"))
    text = "\n".join(_errors(ref))
    assert "ar_snic.yaml: invalid source spec: scope: scope.by applies to increments only" in text
    assert "cl_cead.yaml: invalid source spec: layouts[0].values: give exactly one of column, columns" in text


def test_date_roles_name_their_section(ref):
    def change(raw):
        raw["layouts"][0]["columns"]["year"] = {"column": "f", "date_part": "year", "date_format": "%d/%m/%Y"}
        raw["layouts"][0]["columns"]["month"] = {"column": "f", "date_part": "month", "date_format": "%Y"}

    edit_spec(ref, "ar_snic", change)
    [err] = _errors(ref)
    assert "layouts[0]: layout 'provincias': roles reading date column 'f' declare different date_format" in err
    assert err.endswith("(see docs/ONBOARDING.md#date-formats)")


def test_cross_references_are_checked_at_load(ref):
    edit_spec(ref, "ar_snic", lambda raw: raw.update(country_iso3="XXX"))
    edit_spec(ref, "br_sinesp", lambda raw: raw.update(crosswalk="no_such_crosswalk"))
    edit_spec(ref, "us_fbi", lambda raw: raw["breaks"][0]["national_codes"].append("not_a_code"))
    (ref / "sources" / "cr_oij.yaml").rename(ref / "sources" / "cr_oij_copy.yaml")
    text = "\n".join(_errors(ref))
    assert "ar_snic.yaml: invalid source spec: country_iso3: 'XXX' is not in reference/countries" in text
    assert "br_sinesp.yaml: invalid source spec: crosswalk: no file reference/crosswalks/no_such_crosswalk.csv" in text
    assert re.search(r"us_fbi.yaml: invalid source spec: breaks\[0\]\.national_codes: national code\(s\) "
                     r"\['not_a_code'\] not in reference/crosswalks/us_fbi.csv", text)
    assert "cr_oij_copy.yaml: invalid source spec: source_id: 'cr_oij' must equal the file name 'cr_oij_copy'" in text


def test_check_all_specs_reports_every_bad_file_and_keeps_the_good_ones(ref):
    edit_spec(ref, "ar_snic", lambda raw: raw.update(cadence="weekly"))
    edit_spec(ref, "cl_cead", lambda raw: raw.update(publisherr="x"))
    specs, errs = check_all_specs(ref)
    assert "ar_snic" not in specs and "cl_cead" not in specs and "br_sinesp" in specs
    assert len(errs) == 2 and "cadence" in errs[0] and "publisherr" in errs[1]


def test_a_fixed_spec_is_read_again(ref):
    assert "ar_snic" in load_all_specs(ref)
    edit_spec(ref, "ar_snic", lambda raw: raw.update(title="Changed title, longer"))
    assert load_all_specs(ref)["ar_snic"].title == "Changed title, longer"


def test_a_new_source_loads_before_its_own_crosswalk_is_written(ref):
    """Onboarding writes the spec first, then `hemistat doctor --file` lists the codes to map: a spec whose own
    crosswalk does not exist yet loads (and the other sources with it); one naming another, missing crosswalk
    does not."""
    from pipelines.specs import load_all_specs

    (ref / "crosswalks" / "cr_oij.csv").unlink()
    specs = load_all_specs(ref)
    assert "cr_oij" in specs and "ar_snic" in specs
