"""Crosswalk rows (``reference/crosswalks/<source>.csv``) as a typed model, checked when a crosswalk loads.

``CrosswalkRow`` is one row: a known relation, an ICCS code that exists in ``reference/iccs/iccs.csv``
(empty only for ``no_match``), a weight in [0, 1], four-digit validity years with ``valid_from <=
valid_to``. ``validate_rows`` raises a ValueError naming the file, the line, the column and the reason of
every bad row; the harmonise loader (``pipelines/harmonise/reference.crosswalk``) calls it. The checks of
form of a whole file (encoding, header, rationale wording, weights per code) stay in
``pipelines/harmonise/crosswalk_check.py``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from pipelines.specs.errors import clean_loc, messages

Year = int

DOC = "docs/ONBOARDING.md#crosswalk"


class CrosswalkRow(BaseModel):
    """One national offence code -> its ICCS code (see reference/crosswalks/README.md)."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    national_code: str = Field(min_length=1, description="national offence code exactly as the adapter builds it")
    national_label: str = Field(min_length=1, description="human-readable national label")
    iccs_code: str | None = Field(None, pattern=r"^(0[1-9]|1[01])([0-9]{2}([0-9]([0-9])?)?)?$",
                                  description="ICCS v1.0 code as zero-padded text; empty only for no_match")
    relation: Literal["equivalent", "narrower", "broader", "partial", "no_match"]
    weight: float = Field(ge=0, le=1, description="share of the national category assigned to this ICCS code")
    valid_from: Year | None = Field(None, ge=1990, le=2100, description="first year (inclusive) the row applies to")
    valid_to: Year | None = Field(None, ge=1990, le=2100, description="last year (inclusive) the row applies to")
    rationale: str = Field(min_length=1, description="the ICCS inclusion/exclusion that decides the mapping")

    @field_validator("iccs_code", mode="before")
    @classmethod
    def _empty_is_none(cls, v):
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("valid_from", "valid_to", mode="before")
    @classmethod
    def _four_digit_year(cls, v):
        if isinstance(v, str) and not v.strip():
            return None
        if isinstance(v, str) and not (v.strip().isdigit() and len(v.strip()) == 4):
            raise ValueError(f"{v!r} is not a four-digit year")
        return v

    @field_validator("iccs_code")
    @classmethod
    def _known_code(cls, v, info: ValidationInfo):
        codes = (info.context or {}).get("iccs_codes")
        if v is not None and codes is not None and v not in codes:
            raise ValueError(f"ICCS code {v!r} is not in reference/iccs/iccs.csv")
        return v

    @model_validator(mode="after")
    def _consistent(self):
        if self.relation == "no_match" and self.iccs_code:
            raise ValueError(f"a no_match row has an empty iccs_code (found {self.iccs_code!r})")
        if self.relation != "no_match" and not self.iccs_code:
            raise ValueError("only no_match rows may leave iccs_code empty")
        if self.valid_from is not None and self.valid_to is not None and self.valid_from > self.valid_to:
            raise ValueError(f"valid_from {self.valid_from} is after valid_to {self.valid_to}")
        return self


def iccs_code_set(reference_dir: Path) -> set[str] | None:
    p = Path(reference_dir) / "iccs" / "iccs.csv"
    if not p.exists():
        return None
    with open(p, encoding="utf-8", newline="") as fh:
        return {r["code"] for r in csv.DictReader(fh)}


def row_errors(path: Path, rows: list[dict], iccs_codes: set[str] | None) -> list[str]:
    """One message per bad field of a row: ``<file>, line <n>, column <c>: <reason> (see …)``; the header is
    line 1."""
    out = []
    for i, r in enumerate(rows, start=2):
        try:
            CrosswalkRow.model_validate({k: v for k, v in r.items() if k != "crosswalk_id"},
                                        context={"iccs_codes": iccs_codes})
        except ValidationError as exc:
            for loc, _path, reason in messages(exc, CrosswalkRow.model_fields):
                column = str(clean_loc(loc)[0]) if clean_loc(loc) else \
                    next((c for c in ("valid_from", "iccs_code") if c in reason), "(row)")
                value = r.get(column)
                shown = f" ({value!r})" if column in r and reason.find(repr(value)) < 0 else ""
                out.append(f"{Path(path).name}, line {i}, column {column}{shown}: {reason} (see {DOC})")
    return out


def validate_rows(path: Path, rows: list[dict], iccs_codes: set[str] | None) -> list[CrosswalkRow]:
    """The rows as ``CrosswalkRow`` (ValueError naming the file, line, column and reason of every bad row)."""
    errors = row_errors(path, rows, iccs_codes)
    if errors:
        raise ValueError(f"{path}: invalid crosswalk: " + "; ".join(errors))
    return [CrosswalkRow.model_validate({k: v for k, v in r.items() if k != "crosswalk_id"},
                                        context={"iccs_codes": iccs_codes}) for r in rows]
