"""Crosswalk rows are typed (pipelines/specs/crosswalk.CrosswalkRow): a bad row fails when the crosswalk loads,
naming the file, the line, the column and the reason."""

from __future__ import annotations

import pytest

from pipelines.harmonise import reference as refs
from pipelines.specs.crosswalk import CrosswalkRow


def _append(ref, line: str):
    with open(ref / "crosswalks" / "ar_snic.csv", "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
    return sum(1 for _ in open(ref / "crosswalks" / "ar_snic.csv", encoding="utf-8"))


def test_unknown_iccs_code(ref):
    n = _append(ref, '9999,Hipotético,0199,equivalent,1,,,"Hypothetical row citing ICCS 0199."')
    with pytest.raises(ValueError) as ei:
        refs.crosswalk(ref, "ar_snic")
    msg = str(ei.value)
    assert str(ref / "crosswalks" / "ar_snic.csv") in msg
    assert f"ar_snic.csv, line {n}, column iccs_code: ICCS code '0199' is not in reference/iccs/iccs.csv" in msg
    assert "docs/ONBOARDING.md#crosswalk" in msg


def test_valid_from_after_valid_to_and_a_bad_relation(ref):
    n = _append(ref, '9998,Hipotético,0101,equivalent,1,2020,2019,"Hypothetical row citing ICCS 0101."')
    m = _append(ref, '9997,Hipotético,0101,same,1,,,"Hypothetical row citing ICCS 0101."')
    with pytest.raises(ValueError) as ei:
        refs.crosswalk(ref, "ar_snic")
    msg = str(ei.value)
    assert f"line {n}, column valid_from ('2020'): valid_from 2020 is after valid_to 2019" in msg
    assert f"line {m}, column relation: Input should be 'equivalent'" in msg and "(found 'same')" in msg


def test_the_model_alone():
    ok = dict(national_code="1", national_label="x", iccs_code="0101", relation="equivalent", weight="1",
              valid_from="", valid_to="2020", rationale="cites ICCS 0101")
    row = CrosswalkRow.model_validate(ok, context={"iccs_codes": {"0101"}})
    assert row.valid_from is None and row.valid_to == 2020 and row.weight == 1.0
    with pytest.raises(ValueError, match="only no_match rows may leave iccs_code empty"):
        CrosswalkRow.model_validate({**ok, "iccs_code": ""})
    with pytest.raises(ValueError, match="'20x0' is not a four-digit year"):
        CrosswalkRow.model_validate({**ok, "valid_to": "20x0"})
    with pytest.raises(ValueError, match="Extra inputs"):
        CrosswalkRow.model_validate({**ok, "comment": "x"})
