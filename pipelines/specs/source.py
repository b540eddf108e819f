"""Source specs: ``reference/sources/<source>.yaml`` describes a source declaratively; these models are
the one definition of what a spec may say.

A spec has one or more *layouts* (one per file shape the publisher uses). ``hemistat`` picks the layout
whose required columns appear in the file's header, so a source may publish several files (e.g.
Argentina SNIC provinces ``,`` and national ``;``). See ``reference/sources/README.md``.

Every model forbids unknown keys, so a misspelt key fails when the spec loads with the file, the field
path (``layouts[0].columns.year.date_fromat``) and the reason. ``reference/sources/source.schema.json``
(for editors) is generated from these models (``python -m pipelines.specs.schema``).
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (BaseModel, ConfigDict, Discriminator, Field, PrivateAttr, Tag, ValidationError,
                      field_validator, model_validator)

from pipelines import yamlio
from pipelines.specs.dates import date_columns
from pipelines.specs.errors import format_errors, messages

DEFAULT_SCOPE_BY = ["year", "subdivision_code"]

ColumnRoleName = Literal["country_iso3", "subdivision_code", "subdivision_name", "year", "month",
                         "national_code", "national_label", "measure", "unit", "sex", "age", "relationship",
                         "source_note", "obs_note"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# ---- column roles ---------------------------------------------------------------------------------
class ConstRole(_Model):
    """The same value on every row."""
    const: Union[str, int, float] = Field(description="the value of the role on every row")


class JoinRole(_Model):
    """The role is the text of several columns joined."""
    join: list[str] = Field(min_length=1, description="columns joined, in order")
    sep: str | None = Field(None, description="separator between the joined values (default |)")


DateFormat = Annotated[str, Field(pattern="%Y")]


class ColumnRole(_Model):
    """The role is read from one column of the file."""
    column: str = Field(description="the column's header")
    zero_pad: int | None = Field(None, ge=1, description="pad the value with zeros on the left to this width")
    strip: bool | None = Field(None, description="strip spaces around the value (default true)")
    map: dict[str, Union[str, int, float, None]] | None = Field(
        None, description="national value -> value of the role (a value missing from the map is a problem, "
                          "unless 'default' is set)")
    default: str | None = Field(None, description="the value of the role for values missing from 'map'")
    date_part: Literal["year", "month"] | None = Field(None, description="take the year or month of a date column")
    date_format: Union[DateFormat, Annotated[list[DateFormat], Field(min_length=1)]] | None = Field(
        None, description="strptime format(s) of the text dates of a date_part column, e.g. %d/%m/%Y; without it "
                          "only workbook date cells and ISO 8601 yyyy-mm-dd are read (pipelines/adapters/dates.py)")
    empty_as_null: bool | None = Field(None, description="an empty value is NULL (default: true for subdivision "
                                                         "code and name and for the notes)")

    @field_validator("map", mode="before")
    @classmethod
    def _map_keys_as_text(cls, v):
        # YAML reads `1: ARG` with an integer key; the adapters compare the file's text with str(key)
        return {str(k): x for k, x in v.items()} if isinstance(v, dict) else v

    @field_validator("date_format")
    @classmethod
    def _unique_formats(cls, v):
        if isinstance(v, list) and len(set(v)) != len(v):
            raise ValueError("the date formats of a role are unique")
        return v


def _role_tag(v: Any) -> str | None:
    if isinstance(v, str):
        return "text-role"
    if isinstance(v, dict):
        for key, tag in (("const", "const-role"), ("join", "join-role"), ("column", "column-role")):
            if key in v:
                return tag
        return None
    if isinstance(v, BaseModel):
        return {ConstRole: "const-role", JoinRole: "join-role", ColumnRole: "column-role"}.get(type(v))
    return None


RoleSpec = Annotated[
    Union[Annotated[str, Tag("text-role")], Annotated[ConstRole, Tag("const-role")],
          Annotated[JoinRole, Tag("join-role")], Annotated[ColumnRole, Tag("column-role")]],
    Discriminator(_role_tag, custom_error_type="role_spec",
                  custom_error_message="a column name, or a mapping with 'column', 'const' or 'join'"),
]


# ---- layouts --------------------------------------------------------------------------------------
class Reader(_Model):
    """How the file is read."""
    format: Literal["csv", "xlsx"] | None = None
    encoding: Literal["utf-8", "utf-8-sig", "cp1252", "latin-1", "iso-8859-1"] | None = None
    delimiter: str | None = Field(None, min_length=1, max_length=1)
    quotechar: str | None = Field(None, min_length=1, max_length=1)
    decimal: Literal[".", ","] | None = None
    thousands: Literal[".", ",", " ", "'"] | None = None
    skip_rows: int | None = Field(None, ge=0)
    sheet: Union[str, int] | None = None
    header_row: int | None = Field(None, ge=1)
    header_contains: list[str] | None = None


class Values(_Model):
    """Where the values are: exactly one of column, columns, year_columns, count_records."""
    column: str | None = Field(None, description="the one value column")
    defaults: dict[str, Any] | None = Field(None, description="roles common to every value column")
    columns: dict[str, dict[str, Any] | None] | None = Field(
        None, description="value column -> the roles it fixes (e.g. sex, measure)")
    year_columns: str | None = Field(None, description="regex: every matching header is a value column for that year")
    count_records: bool | None = Field(None, description="record-level file: value = number of rows per "
                                                         "combination of roles")

    @model_validator(mode="after")
    def _exactly_one(self):
        given = [k for k in ("column", "columns", "year_columns", "count_records") if k in self.model_fields_set]
        if len(given) != 1:
            raise ValueError("give exactly one of column, columns, year_columns, count_records"
                             + (f" (found {', '.join(given)})" if given else ""))
        return self


class DropRow(_Model):
    """Rows dropped before reading (e.g. a total line)."""
    column: str
    equals: Any = None
    in_: list[Any] | None = Field(None, alias="in")
    matches: str | None = None
    reason: str | None = None


class ExampleRow(_Model):
    """Rows marked as fictitious examples (a template's EXAMPLE rows): each one left in a file is a blocking S1
    problem naming file, line and column (``example_row`` in quality_rules/messages/problems.yaml), so a template
    sent back unchanged is refused, never accepted."""
    column: str = Field(description="the column whose value marks an example row")
    equals: Any = None
    in_: list[Any] | None = Field(None, alias="in")
    starts_with: str | None = Field(None, min_length=1, description="the value (stripped) starts with this text, "
                                                                    "ignoring case")

    @model_validator(mode="after")
    def _one_test(self):
        given = [k for k in ("equals", "in_", "starts_with") if getattr(self, k) is not None]
        if not given:
            raise ValueError("give one of equals, in, starts_with")
        return self


class Layout(_Model):
    """One file shape of the source."""
    name: str
    scope: Literal["oas_members"] | None = None
    reader: Reader | None = Field(None, description="how the file is read")
    columns: dict[ColumnRoleName, RoleSpec] = Field(description="role -> where its value comes from")
    values: Values
    missing_values: list[str] | None = None
    missing_note: str | None = None
    drop_rows: list[DropRow] | None = None
    example_rows: list[ExampleRow] | None = Field(None, description="rows marked as fictitious examples (a "
                                                  "template's): each one left in the file is a blocking problem")
    family: str | None = Field(None, pattern="^[a-z_]+$",
                               description="a Python format family for genuinely new shapes "
                                           "(pipelines/adapters/<family>.py); default: tabular")
    options: dict[str, Any] | None = Field(None, description="options of a custom family")

    @field_validator("columns")
    @classmethod
    def _required_roles(cls, v):
        missing = [r for r in ("country_iso3", "national_code") if r not in v]
        if missing:
            raise ValueError(f"role(s) {', '.join(missing)} missing")
        return v

    @model_validator(mode="after")
    def _date_roles(self):
        """The date roles of the layout (and of each record_sum variant merged over it) agree on one
        date_format per column with the parts they take (docs/ONBOARDING.md#date-formats)."""
        variants = (self.options or {}).get("variants") or []
        for name, columns in [(self.name, self.columns)] + [
                (f"{self.name}/{v.get('name')}", {**self.columns, **(v.get("columns") or {})})
                for v in variants if isinstance(v, dict)]:
            try:
                date_columns(columns)
            except ValueError as exc:
                raise ValueError(f"layout {name!r}: {exc}") from None
        return self

    def as_dict(self) -> dict:
        """The layout as the dict the format families read (``pipelines/adapters``): the keys the spec sets,
        as written (``in`` not ``in_``)."""
        return self.model_dump(exclude_unset=True, by_alias=True)

    @property
    def family_name(self) -> str:
        return self.family or "tabular"


def check_layout(layout: dict) -> None:
    """A layout built by a format family (a record_sum variant or a workbook sheet merged over its layout) is
    still a valid ``Layout``: ValueError naming the layout, the field and the reason."""
    try:
        Layout.model_validate(layout)
    except ValidationError as exc:
        reasons = "; ".join(f"{path}: {reason}" for _loc, path, reason in messages(exc, KNOWN_FIELDS))
        raise ValueError(f"layout {layout.get('name')!r}: {reasons}") from None


# ---- the spec -------------------------------------------------------------------------------------
class Hierarchy(_Model):
    """How the national codes nest (never summed with their parents)."""
    child_separator: str | None = Field(None, min_length=1, description="a child's code is its parent's code, "
                                                                        "this separator and more (SNIC 11_2)")
    subset_codes: list[str] | None = Field(None, description="codes that are subsets (tags) of another code")
    children: dict[str, list[str]] | None = Field(None, description="parent code -> child codes")


class Harvest(_Model):
    url: str | None = None
    cron: str | None = None
    file_name: str | None = None


class Break(_Model):
    national_codes: list[str] = Field(min_length=1)
    from_year: int
    to_year: int | None = None
    action: Literal["flag", "exclude"]
    note: str = Field(min_length=10)


class Population(_Model):
    national: str | None = None
    subnational: str | None = None
    subnational_note: str | None = None


class Scope(_Model):
    kind: Literal["full", "increment"]
    by: list[Literal["year", "subdivision_code", "national_code"]] | None = None

    @model_validator(mode="after")
    def _by_for_increments(self):
        if self.by is not None and len(set(self.by)) != len(self.by):
            raise ValueError("scope.by names each dimension once")
        if self.kind == "full" and self.by:
            raise ValueError("scope.by applies to increments only (a full export covers the whole series)")
        return self


class ReleaseDate(_Model):
    from_: Literal["xlsx_modified", "xlsx_created", "filename"] = Field(alias="from")
    pattern: str | None = Field(None, description="regex with a group 'date' (from: filename)")
    format: str | None = Field(None, description="strptime format of the group 'date' (default %Y-%m-%d)")

    @model_validator(mode="after")
    def _pattern_for_filename(self):
        if self.from_ == "filename" and not self.pattern:
            raise ValueError("from: filename needs a 'pattern' with a group 'date'")
        return self


class SourceSpec(_Model):
    """hemistat source spec (reference/sources/<source_id>.yaml)"""
    source_id: str = Field(pattern=r"^[a-z][a-z0-9_]{2,40}$", description="equals the file name")
    title: str
    publisher: str
    country_iso3: str | None = Field(None, pattern="^[A-Z]{3}$",
                                     description="in reference/countries/oas_members.csv")
    url: str | None = None
    counting_unit: str | None = None
    crosswalk: str = Field(description="reference/crosswalks/<crosswalk>.csv")
    comparability: Literal["national", "international", "comparison", "survey"] = "national"
    cadence: Literal["monthly", "quarterly", "annual", "irregular"] | None = None
    files: list[str] = []
    subdivision_level: str | None = None
    hierarchy: Hierarchy | None = None
    layouts: list[Layout] = Field(min_length=1)
    harvest: Harvest | None = None
    sample_dir: str | None = None
    breaks: list[Break] = Field([], description="series breaks: flag cells as obs_status B with a note, or "
                                                "exclude cells superseded by another definition")
    population: Population | None = Field(None, description="which reference population gives rates")
    expected_lag_days: int | None = Field(
        None, ge=0, description="days after the end of a period by which the publisher normally posts it")
    national_from_subdivisions: bool | None = Field(
        None, description="derive national totals by summing subdivisions when the source has no national row "
                          "(default true); false when the file covers only part of the country")
    scope: Scope | None = Field(
        None, description="What one file of this source covers, so vintages replace like with like "
                          "(docs/ONBOARDING.md). 'increment' (default): a file replaces, for each unit it "
                          "contains, the older cells of that unit; units are country x level (national rows / "
                          "subdivisions) x the 'by' dimensions (default [year, subdivision_code]); nothing "
                          "outside the file's units is touched. 'full': a file is a full export of the source's "
                          "series for its country and level: a cell missing from a newer full export is "
                          "withdrawn (and reported).")
    release_date: ReleaseDate | None = Field(
        None, description="Where the publisher's release date of a file is read when the submitter does not give "
                          "it (hemistat submit --released-on, the upload form): 'xlsx_modified' / 'xlsx_created' "
                          "(workbook core properties), or 'filename' with a regex 'pattern' whose group 'date' "
                          "holds the date in 'format' (strptime). Vintages are ordered by release date, then by "
                          "receipt.")

    _path: Path | None = PrivateAttr(None)

    @property
    def path(self) -> Path | None:
        """The YAML file the spec was read from."""
        return self._path

    @property
    def hierarchy_separator(self) -> str | None:
        return self.hierarchy.child_separator if self.hierarchy else None

    @property
    def subset_codes(self) -> list[str]:
        """National codes that are subsets (tags) of another code and must never be summed with it."""
        return list((self.hierarchy.subset_codes if self.hierarchy else None) or [])

    def hierarchy_pairs(self, codes) -> list[tuple[str, str]]:
        """(child, parent) pairs among ``codes`` (the national codes present): children named by the separator
        (SNIC ``11_2`` under ``11``) or listed under ``hierarchy.children``. The one builder of these pairs."""
        codes = set(codes)
        rows = []
        sep = self.hierarchy_separator
        if sep:
            rows += [(c, c.rsplit(sep, 1)[0]) for c in sorted(codes) if sep in c and c.rsplit(sep, 1)[0] in codes]
        for p, kids in ((self.hierarchy.children if self.hierarchy else None) or {}).items():
            rows += [(k, p) for k in kids if k in codes and p in codes]
        return rows

    @property
    def scope_kind(self) -> str:
        """``increment`` (default) or ``full``: see ``scope`` in source.schema.json."""
        return self.scope.kind if self.scope else "increment"

    @property
    def scope_by(self) -> list[str]:
        """The dimensions of a vintage unit besides country and level (national / subdivision rows), from the
        spec's ``scope`` (default: year and subdivision; a ``full`` export: none)."""
        if self.scope_kind == "full":
            return []
        return list(self.scope.by if self.scope and self.scope.by is not None else DEFAULT_SCOPE_BY)

    @property
    def derives_national(self) -> bool:
        """Whether national totals may be summed from subdivisions (``national_from_subdivisions``, default true)."""
        return self.national_from_subdivisions is not False

    @property
    def counts_records(self) -> bool:
        """A record-level source (one row per event): some layout is ``record_sum`` or counts records."""
        return any(lay.family == "record_sum" or lay.values.count_records for lay in self.layouts)


def scope_by(spec: SourceSpec | None) -> list[str]:
    """``spec.scope_by``; the default scope when there is no spec."""
    return spec.scope_by if spec is not None else list(DEFAULT_SCOPE_BY)


# ---- loading ----------------------------------------------------------------------------------------
MODELS = (SourceSpec, Layout, ColumnRole, ConstRole, JoinRole, Reader, Values, DropRow, ExampleRow, Hierarchy, Harvest,
          Break, Population, Scope, ReleaseDate)
KNOWN_FIELDS = sorted({f.alias or n for m in MODELS for n, f in m.model_fields.items()}
                      | set(ColumnRoleName.__args__))


def spec_anchor(loc: list, reason: str) -> str:
    from pipelines.docs_ref import section_for_spec_error

    if "date_format" in reason:
        return "date-formats"
    return section_for_spec_error(loc)


def _countries(ref: Path) -> set[str] | None:
    p = ref / "countries" / "oas_members.csv"
    if not p.exists():
        return None
    with open(p, encoding="utf-8", newline="") as fh:
        return {r["iso3"] for r in csv.DictReader(fh)}


def _crosswalk_codes(ref: Path, name: str) -> set[str] | None:
    p = ref / "crosswalks" / f"{name}.csv"
    if not p.exists():
        return None
    with open(p, encoding="utf-8", newline="") as fh:
        return {r.get("national_code") for r in csv.DictReader(fh)}


def cross_reference_errors(spec: SourceSpec, path: Path, ref: Path) -> list[tuple[list, str, str]]:
    """(loc, field, reason) of what the spec names that does not exist: its file name, its country in
    ``reference/countries``, the crosswalk it names when that is not its own (its own may not be written yet: onboarding
    writes the spec first; doctor and rule C1 report it), the national codes of its hierarchy and breaks. A reference table that is absent altogether (a folder of specs alone) is not checked."""
    out = []
    if spec.source_id != path.stem:
        out.append((["source_id"], "source_id", f"{spec.source_id!r} must equal the file name {path.stem!r}"))
    countries = _countries(ref)
    if spec.country_iso3 and countries is not None and spec.country_iso3 not in countries:
        out.append((["country_iso3"], "country_iso3",
                    f"{spec.country_iso3!r} is not in reference/countries/oas_members.csv"))
    if not (ref / "crosswalks").is_dir():     # a folder of specs alone (tests): nothing to check them against
        return out
    codes = _crosswalk_codes(ref, spec.crosswalk)
    if codes is None:
        # a source's own crosswalk may not be written yet: onboarding writes the spec first, then
        # `hemistat doctor --file` lists the codes it must map (until then every code is unmapped: rule C1).
        # A crosswalk named after something else (shared, or misspelt) must exist.
        if spec.crosswalk != spec.source_id:
            out.append((["crosswalk"], "crosswalk", f"no file reference/crosswalks/{spec.crosswalk}.csv"))
        return out
    named: list[tuple[list, str, list[str]]] = []
    if spec.hierarchy:
        named.append((["hierarchy", "subset_codes"], "hierarchy.subset_codes", spec.hierarchy.subset_codes or []))
        for parent, kids in (spec.hierarchy.children or {}).items():
            named.append((["hierarchy", "children", parent], f"hierarchy.children.{parent}", [parent, *kids]))
    for i, b in enumerate(spec.breaks):
        named.append((["breaks", i, "national_codes"], f"breaks[{i}].national_codes", b.national_codes))
    for loc, field, names in named:
        unknown = [c for c in names if c not in codes]
        if unknown:
            out.append((loc, field, f"national code(s) {unknown} not in reference/crosswalks/{spec.crosswalk}.csv"))
    return out


def spec_errors(path: Path, ref: Path) -> tuple[SourceSpec | None, list[str]]:
    """The spec of ``path`` and every problem found in it (messages naming the file, the field and the reason)."""
    try:
        raw = yamlio.load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return None, [f"{path}: invalid source spec: not readable YAML: {exc} (see docs/ONBOARDING.md#spec-keys)"]
    try:
        spec = SourceSpec.model_validate(raw)
    except ValidationError as exc:
        return None, format_errors(path, "invalid source spec", messages(exc, KNOWN_FIELDS), spec_anchor)
    spec._path = path
    errs = cross_reference_errors(spec, path, ref)
    return (None if errs else spec), format_errors(path, "invalid source spec", errs, spec_anchor)


def check_all_specs(reference_dir: Path) -> tuple[dict[str, SourceSpec], list[str]]:
    """Every spec that loads and every problem of those that do not (``hemistat doctor``: all of them)."""
    ref = Path(reference_dir).resolve()
    specs, errors = {}, []
    for p in sorted((ref / "sources").glob("*.yaml")):
        spec, errs = spec_errors(p, ref)
        errors += errs
        if spec is not None:
            specs[spec.source_id] = spec
    return specs, errors


def load_spec(source_id: str, reference_dir: Path) -> SourceSpec:
    """One source's spec. A broken spec fails only its own source (ValueError naming its file, field and
    reason); every other source loads as usual. An unknown source: KeyError."""
    specs, errors = _specs_and_errors(reference_dir)
    if source_id in specs:
        return specs[source_id]
    if source_id in errors:
        raise ValueError("; ".join(errors[source_id]))
    known = ", ".join(sorted(set(specs) | set(errors))) or "none"
    raise KeyError(f"unknown source {source_id!r}; known sources: {known} "
                   f"(see docs/ONBOARDING.md#source-spec)")


def load_all_specs(reference_dir: Path, strict: bool = True) -> dict[str, SourceSpec]:
    """Every source spec, validated. ``strict`` (default): ValueError naming the file, the field and the reason
    of every problem of the first bad file. ``strict=False``: the specs that load, a broken one left out (its
    problems: ``spec_load_errors``), for whatever serves many sources (listing, validating, submitting another
    source) so that one broken file fails only its own source. Cached per process and read again when a spec
    file, a crosswalk or the country list changes (a spec fixed while the portal runs is used by the next
    reading, e.g. ``hemistat reprocess``)."""
    specs, errors = _specs_and_errors(reference_dir)
    if strict and errors:
        raise ValueError("; ".join(next(iter(errors.values()))))
    return specs


def spec_load_errors(reference_dir: Path) -> dict[str, list[str]]:
    """Source id (the spec's file name) -> the problems that keep its spec from loading."""
    return _specs_and_errors(reference_dir)[1]


def _specs_and_errors(reference_dir: Path) -> tuple[dict[str, SourceSpec], dict[str, list[str]]]:
    ref = Path(reference_dir).resolve()
    files = [*sorted((ref / "sources").glob("*.yaml")), *sorted((ref / "crosswalks").glob("*.csv")),
             ref / "countries" / "oas_members.csv"]
    sig = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files if p.exists())
    specs, errors = _load_all(str(ref), sig)
    return dict(specs), {k: list(v) for k, v in errors}


@lru_cache(maxsize=8)
def _load_all(reference_dir: str, signature: tuple = ()) -> tuple[tuple, tuple]:
    ref = Path(reference_dir)
    out, errors = [], []
    for p in sorted((ref / "sources").glob("*.yaml")):
        try:
            spec, errs = spec_errors(p, ref)
        except Exception as exc:  # noqa: BLE001 - whatever the file holds, it breaks only its own source
            spec, errs = None, [f"{p}: invalid source spec: {type(exc).__name__}: {exc}"]
        if errs or spec is None:
            errors.append((p.stem, tuple(errs or [f"{p}: invalid source spec"])))
        else:
            out.append((spec.source_id, spec))
    return tuple(out), tuple(errors)
