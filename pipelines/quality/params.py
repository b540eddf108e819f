"""Typed parameters of every ``check``: one pydantic model per check name.

``load_rules`` validates the ``params`` of each rule (and of each per-source override) against the model
of its check: an unknown parameter, a value of the wrong type or an incoherent pair (``min`` above ``max``)
is refused when the rules load, never silently ignored by the engine. The engine still reads
``rule.params`` as a dict: that dict is the model's validated dump, with every default filled in, so the
defaults live here and only here.

Parameters that name things that exist elsewhere — sources (``SourceId``), ICCS codes (``IccsCode``),
countries (``Country``), standard-table columns (``Column``), source-spec fields (``SpecField``) — are
checked against the reference folder by ``cross_check``: an unknown value is refused with the closest
known names.

Every field of every model is read by its check in ``pipelines/quality/checks/<family>.py``, or by the functions
its model names in ``READ_BY`` (tests/quality/test_rule_params.py proves it).
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ICCS_PATTERN = r"^\d{2}(\d{2}(\d(\d)?)?)?$"


@dataclass(frozen=True)
class Ref:
    """Marks a parameter value that must exist in the reference folder (see ``References``)."""

    kind: str   # source | iccs | country | column | spec_field


SourceId = Annotated[str, Ref("source")]
IccsCode = Annotated[str, Field(pattern=ICCS_PATTERN), Ref("iccs")]
Country = Annotated[str, Field(pattern=r"^[A-Z]{3}$"), Ref("country")]
Column = Annotated[str, Ref("column")]
SpecField = Annotated[str, Ref("spec_field")]
Measure = Literal["offences", "victims", "population_share"]   # pipelines.contracts.tables.MEASURES
Unit = Literal["count", "rate_per_100k", "percent"]               # pipelines.contracts.tables.UNITS
Code = Annotated[str, Field(min_length=1)]
Number = int | float        # kept as written (100 stays 100 in messages and thresholds); bool and text refused
Fraction = Annotated[Number, Field(ge=0, le=1)]
NonNeg = Annotated[Number, Field(ge=0)]
Positive = Annotated[Number, Field(gt=0)]


class Params(BaseModel):
    """Base of every parameter model: unknown keys are refused, values are not coerced from text."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    # parameter -> the functions ("module.function") that read it when the check function does not
    READ_BY: ClassVar[dict[str, tuple[str, ...]]] = {}

    def extra_refs(self) -> list[tuple[str, str, str]]:
        """(parameter path, kind, value) references that depend on another parameter's value."""
        return []


def _lt(model, lo: str, hi: str, strict: bool = True):
    a, b = getattr(model, lo), getattr(model, hi)
    if a is not None and b is not None and (a >= b if strict else a > b):
        raise ValueError(f"{lo} ({a}) must be {'below' if strict else 'at most'} {hi} ({b})")
    return model


# ---- structure ---------------------------------------------------------------------------------------
class FileParses(Params):
    pass


class EncodingDeclared(Params):
    pass


class MonthsComplete(Params):
    expected_months: int = Field(12, ge=1, le=12)
    allow_incomplete_last_year: bool = True


# ---- classification ----------------------------------------------------------------------------------
class CrosswalkCovers(Params):
    pass


class IccsCodeValid(Params):
    pattern: str = ICCS_PATTERN

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from exc
        return v


class InCodelist(Params):
    # column -> allowed codes, or "reference:oas_members" (the countries of reference/countries)
    columns: dict[Column, Annotated[list[Code], Field(min_length=1)] | Literal["reference:oas_members"]] = {}

    def extra_refs(self):
        codes = self.columns.get("country_iso3")
        if isinstance(codes, list):
            return [(f"columns.country_iso3[{i}]", "country", c) for i, c in enumerate(codes)]
        return []


class UniqueKey(Params):
    columns: Annotated[list[Column], Field(min_length=1)]


# ---- validity ----------------------------------------------------------------------------------------
class ValueRange(Params):
    min: Number = 0
    integer_units: list[Unit] = ["count"]     # [] = no unit must hold whole numbers


class ObsStatusValid(Params):
    codes: Annotated[list[Code], Field(min_length=1)]
    note_required_for: list[Code] = []

    @model_validator(mode="after")
    def _subset(self):
        extra = sorted(set(self.note_required_for) - set(self.codes))
        if extra:
            raise ValueError(f"note_required_for names codes that are not in codes: {extra}")
        return self


# ---- internal consistency ----------------------------------------------------------------------------
class BreakdownSumsToTotal(Params):
    dimension: Column = "sex"
    total: Code = "_T"
    parts: Annotated[list[Code], Field(min_length=1)] = ["M", "F", "_U"]
    tolerance_abs: NonNeg = 0
    tolerance_rel: Fraction = 0

    @model_validator(mode="after")
    def _total_not_a_part(self):
        if self.total in self.parts:
            raise ValueError(f"total ({self.total}) must not be one of parts {self.parts}")
        return self


class HierarchyChildLeParent(Params):
    sum_tolerance_rel: Fraction = 0


class MeasureRatio(Params):
    iccs_code: IccsCode = "0101"
    numerator: Measure = "victims"
    denominator: Measure = "offences"
    min: NonNeg = 0
    max: Positive = 1e9

    @model_validator(mode="after")
    def _coherent(self):
        if self.numerator == self.denominator:
            raise ValueError("numerator and denominator must be different measures")
        return _lt(self, "min", "max")


class ReportedRateMatches(Params):
    warn_rel: Fraction = 0.01
    different_base_rel: Fraction = 0.03

    @model_validator(mode="after")
    def _coherent(self):
        return _lt(self, "warn_rel", "different_base_rel", strict=False)


# ---- plausibility ------------------------------------------------------------------------------------
class RateRange(Params):
    iccs_code: IccsCode = "0101"
    max: Positive = 100
    hard_max: Positive | None = None      # None: no hard limit

    @model_validator(mode="after")
    def _coherent(self):
        return _lt(self, "max", "hard_max")


class YoyChange(Params):
    max_rel: Positive = 0.3
    poisson_k: NonNeg = 3


class RobustZscore(Params):
    window: int = Field(10, ge=1)
    min_years: int = Field(5, ge=1)
    max_abs_z: Positive = 3.5

    @model_validator(mode="after")
    def _coherent(self):
        return _lt(self, "min_years", "window", strict=False)


class ShareRange(Params):
    iccs_code: IccsCode = "0101"
    measure: Measure = "victims"
    dimension: Column = "sex"
    part: Code = "F"
    min: Fraction = 0
    max: Fraction = 1
    unknown_part: Code = "_U"
    unknown_max: Fraction = 1

    @model_validator(mode="after")
    def _coherent(self):
        return _lt(self, "min", "max")


class BreakToZero(Params):
    min_before: Positive = 10


# ---- accuracy / coherence ----------------------------------------------------------------------------
class TwoSourceRatio(Params):
    # the comparison series given to the check (QualityContext.comparison) are selected by these
    READ_BY: ClassVar[dict[str, tuple[str, ...]]] = {
        "comparison_sources": ("pipelines.pipeline.harmonise.harmonised_quality", "pipelines.quality.dryrun.dry_run")}
    iccs_code: IccsCode = "0101"
    comparison_sources: list[SourceId] = []
    min: Positive = 0.8
    max: Positive = 1.25
    info_min: Positive = 0.9
    info_max: Positive = 1.1

    @model_validator(mode="after")
    def _coherent(self):
        if not (self.min <= self.info_min < self.info_max <= self.max):
            raise ValueError(f"need min <= info_min < info_max <= max, got {self.min}, {self.info_min}, "
                             f"{self.info_max}, {self.max}")
        return self


class MultiInstitutionRatio(Params):
    iccs_code: IccsCode = "0101"
    max_rel_diff: Fraction = 0.1


class NationalEqualsSubdivisions(Params):
    tolerance_rel: Fraction = 0.005


# ---- completeness / timeliness / revisions / metadata -----------------------------------------------
class CompletenessRate(Params):
    core_iccs: Annotated[list[IccsCode], Field(min_length=1)]
    target: Fraction = 0.9


class CoverageRate(Params):
    min_rate: Fraction = 0.95


class TimeLag(Params):
    max_months_annual: Positive = 18
    max_months_monthly: Positive = 3


class Punctuality(Params):
    # read by check_punctuality and by pipelines.monitor.punctuality.t2_grace_days (the freshness sensor)
    grace_days: int = Field(30, ge=0)


class RevisionSize(Params):
    max_rel: NonNeg = 0.05
    min_years_back: int = Field(2, ge=0)


class MeanAbsoluteRevision(Params):
    pass


class MetadataPresent(Params):
    fields: list[SpecField] = []


MODELS: dict[str, type[Params]] = {
    "file_parses": FileParses, "encoding_declared": EncodingDeclared, "months_complete": MonthsComplete,
    "crosswalk_covers": CrosswalkCovers, "iccs_code_valid": IccsCodeValid, "in_codelist": InCodelist,
    "unique_key": UniqueKey, "value_range": ValueRange, "obs_status_valid": ObsStatusValid,
    "breakdown_sums_to_total": BreakdownSumsToTotal, "hierarchy_child_le_parent": HierarchyChildLeParent,
    "measure_ratio": MeasureRatio, "reported_rate_matches": ReportedRateMatches, "rate_range": RateRange,
    "yoy_change": YoyChange, "robust_zscore": RobustZscore, "share_range": ShareRange,
    "break_to_zero": BreakToZero, "two_source_ratio": TwoSourceRatio,
    "multi_institution_ratio": MultiInstitutionRatio, "national_equals_subdivisions": NationalEqualsSubdivisions,
    "completeness_rate": CompletenessRate, "coverage_rate": CoverageRate, "time_lag": TimeLag,
    "punctuality": Punctuality, "revision_size": RevisionSize, "mean_absolute_revision": MeanAbsoluteRevision,
    "metadata_present": MetadataPresent,
}


# ---------------------------------------------------------------------------------------------------
class RuleParamError(ValueError):
    """A rule parameter refused when the rules load: names the file, the rule and the parameter."""

    def __init__(self, file, rule_id: str, param: str, problem: str):
        self.file, self.rule_id, self.param, self.problem = str(file), rule_id, param, problem
        super().__init__(f"{file}: rule {rule_id}: parameter {param}: {problem}")


_UNION_TAGS = {"int", "float", "str", "bool", "none", "list", "dict"}


def _param_name(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate(check: str, params: dict | None, *, file, rule_id: str) -> Params:
    """The typed parameters of a rule, or RuleParamError naming the first problem (all are listed)."""
    model = MODELS.get(check)
    if model is None:
        raise RuleParamError(file, rule_id, "-", f"check {check!r} has no parameter model")
    if params is not None and not isinstance(params, dict):
        raise RuleParamError(file, rule_id, "params", f"must be a mapping, not {type(params).__name__}")
    try:
        return model.model_validate(params or {})
    except ValidationError as exc:
        found: dict[str, str] = {}
        for e in exc.errors():
            loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and (p in _UNION_TAGS or "[" in p)))
            msg = str(e["msg"]).removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=2)
                text = (f"not a parameter of check {check} (its parameters: {', '.join(model.model_fields) or 'none'})"
                        + (f"; did you mean {' or '.join(close)}?" if close else ""))
            elif e["type"] == "missing":
                text = f"required by check {check}"
            elif not loc:  # a model validator: name the parameters its message mentions
                loc = (", ".join(f for f in model.model_fields if re.search(rf"\b{f}\b", msg)) or "params",)
                text = msg
            else:
                text = f"{msg} (got {e.get('input')!r})"
            found.setdefault(_param_name(loc), text)  # one message per parameter (not one per union member)
        (name, text), *rest = found.items()
        raise RuleParamError(file, rule_id, name, text + "".join(f"; parameter {n}: {t}" for n, t in rest)) from exc


# ---- references ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class References:
    """What parameters may name: read from the reference folder."""

    reference_dir: Path
    sources: frozenset[str]
    iccs: frozenset[str]
    countries: frozenset[str]
    columns: frozenset[str]
    spec_fields: frozenset[str]

    KIND_TEXT: ClassVar[dict[str, str]] = {
        "source": "source (reference/sources/<id>.yaml)", "iccs": "ICCS code (reference/iccs/iccs.csv)",
        "country": "country (reference/countries/oas_members.csv)", "column": "standard-table column",
        "spec_field": "source-spec field (pipelines/specs/source.py)"}

    @classmethod
    def load(cls, reference_dir: Path) -> References:
        from pipelines.contracts.tables import STD_COLUMNS
        from pipelines.harmonise import reference as ref
        from pipelines.specs import SourceSpec

        rdir = Path(reference_dir)
        return cls(reference_dir=rdir, sources=frozenset(p.stem for p in (rdir / "sources").glob("*.yaml")),
                   iccs=frozenset(ref.iccs(rdir)["code"].astype(str)),
                   countries=frozenset(ref.countries(rdir)["iso3"].astype(str)), columns=frozenset(STD_COLUMNS),
                   spec_fields=frozenset(SourceSpec.model_fields))

    def known(self, kind: str) -> frozenset[str]:
        return {"source": self.sources, "iccs": self.iccs, "country": self.countries, "column": self.columns,
                "spec_field": self.spec_fields}[kind]

    def unknown_text(self, kind: str, value: str) -> str:
        known = sorted(self.known(kind))
        close = [k for k in known if k in str(value) or str(value) in k]  # wb_wdi for wb_wdi_homicide
        close += [k for k in difflib.get_close_matches(str(value), known, n=3, cutoff=0.6) if k not in close]
        close = close[:3]
        return (f"unknown {self.KIND_TEXT[kind]} {value!r}"
                + (f"; did you mean {', '.join(close)}?" if close else ""))


def _walk(annotation, value, path: str, meta=()):
    """(path, kind, value) for every Ref-marked part of ``value`` typed by ``annotation``."""
    for m in meta:
        if isinstance(m, Ref) and isinstance(value, str):
            yield path, m.kind, value
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Annotated:
        yield from _walk(args[0], value, path, args[1:])
    elif origin in (list, tuple) and isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _walk(args[0], v, f"{path}[{i}]")
    elif origin is dict and isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(args[0], k, f"{path} key {k!r}")
            yield from _walk(args[1], v, f"{path}.{k}")
    elif origin in (typing.Union, types.UnionType):
        for a in args:
            yield from _walk(a, value, path)


def references_of(params: Params) -> list[tuple[str, str, str]]:
    out = []
    for name, f in type(params).model_fields.items():
        out += list(_walk(f.annotation, getattr(params, name), name, tuple(f.metadata)))
    return out + params.extra_refs()


def cross_check(params: Params, refs: References, *, file, rule_id: str) -> None:
    """RuleParamError for the first parameter value that names something the reference folder lacks."""
    for path, kind, value in references_of(params):
        if value not in refs.known(kind):
            raise RuleParamError(file, rule_id, path, refs.unknown_text(kind, value))
