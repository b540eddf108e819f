"""Where in docs/ONBOARDING.md each problem is fixed.

Every error and hint of ``hemistat doctor``, of spec loading and of onboarding names the section of the
onboarding guide that fixes it (``see docs/ONBOARDING.md#date-formats``). The sections carry stable anchors
(``<a id="date-formats"></a>``); ``tests/docs/test_onboarding_doc.py`` checks that every anchor named in
the code exists in the guide and that every problem key of ``quality_rules/messages/problems.yaml`` has a
section here.
"""

from __future__ import annotations

GUIDE = "docs/ONBOARDING.md"

# problem key (quality_rules/messages/problems.yaml) -> anchor of the section that fixes it
PROBLEM_SECTION: dict[str, str] = {
    # reading the file: reader options
    "not_valid_encoding": "reader", "unreadable_csv": "reader", "not_xlsx": "reader",
    "sheet_not_found": "example-xlsx", "in_sheet": "example-xlsx", "no_header": "reader",
    "no_header_found": "example-xlsx", "no_header_found_containing": "example-xlsx", "header_no_data": "reader",
    "duplicate_columns": "families", "row_field_count": "reader", "encoding_not_declared": "reader",
    "example_row": "example-rows",
    "dedupe_header_not_for_xlsx": "families", "national_rows_unknown_column": "families",
    # limits on one file, checked before parsing (adapters/guards.py; the limits are settings, docs/SECURITY.md)
    "file_too_large": "reader", "too_many_columns": "reader", "too_many_cells": "reader", "cell_too_long": "reader",
    "zip_too_large": "reader",
    "zip_too_many_entries": "reader", "zip_ratio": "reader", "zip_unreadable": "reader", "xml_dtd_refused": "reader",
    # layouts
    "missing_columns": "column-roles", "no_layout_matches": "layouts", "layout_unreadable": "layouts",
    "layout_lacks_columns": "layouts", "layout_repeats_columns": "layouts", "spec_missing_role": "column-roles",
    "no_year_column": "values",
    # record-level files
    "no_variant_matches": "example-record-level", "variant_needs_columns": "example-record-level",
    "variant_expects_no_columns": "example-record-level", "variant_expects_file_name": "example-record-level",
    "several_variants_match": "example-record-level", "record_sum_no_quantity": "example-record-level",
    "quantity_not_whole": "example-record-level",
    # values
    "value_not_number": "values", "value_not_non_negative": "values", "value_negative": "values",
    "value_not_in_format": "values", "count_ambiguous_grouping": "values", "period_after_receipt": "values",
    "year_not_integer": "column-roles", "breaks_contract": "column-roles",
    # dates
    "not_a_date": "date-formats", "date_format_undeclared": "date-formats", "date_not_in_format": "date-formats",
    "date_formats_ambiguous": "date-formats",
    # code lists and roles
    "not_in_spec_codelist": "column-roles", "value_does_not_match": "example-record-level",
    "empty_role": "missing-values", "country_not_allowed": "column-roles",
    # cead-like hierarchical workbooks
    "no_year_header": "example-cead", "filter_not_declared": "example-cead", "filter_line_missing": "example-cead",
    "several_regions": "example-cead", "region_not_declared": "example-cead", "filtered_export": "example-cead",
    "filter_years_differ": "example-cead", "subtotal_mismatch": "example-cead", "no_offence_rows": "example-cead",
}

# rule -> section, for problems without a key
RULE_SECTION: dict[str, str] = {"S1": "column-roles", "S2": "reader", "S3": "example-record-level",
                                "C1": "crosswalk", "C3": "column-roles"}

# the checks of `hemistat doctor` -> section
CHECK_SECTION: dict[str, str] = {
    "reference/iccs/iccs.csv": "reference-folder", "reference/countries/oas_members.csv": "reference-folder",
    "reference/population/national.csv": "population", "reference/population/subnational.csv": "population",
    "reference tables against their schemas": "reference-folder", "source specs": "spec-keys",
    "crosswalk": "crosswalk", "data folder": "doctor", "national codes": "crosswalk",
}


def see(anchor: str) -> str:
    return f"see {GUIDE}#{anchor}"


def section_for_problem(problem) -> str:
    """The anchor for a ``Problem`` (by key, else by rule, else the doctor section)."""
    key = getattr(problem, "key", None)
    if key in PROBLEM_SECTION:
        return PROBLEM_SECTION[key]
    return RULE_SECTION.get(getattr(problem, "rule", None), "doctor")


def section_for_check(name: str) -> str:
    for prefix, anchor in CHECK_SECTION.items():
        if name.startswith(prefix):
            return anchor
    return "doctor"


def section_for_spec_error(path: list) -> str:
    """The anchor for a JSON-schema error at ``path`` (``exc.absolute_path``) of a source spec."""
    parts = [str(p) for p in path]
    for key, anchor in (("date_format", "date-formats"), ("reader", "reader"), ("columns", "column-roles"),
                        ("values", "values"), ("missing_values", "missing-values"), ("missing_note", "missing-values"),
                        ("drop_rows", "drop-rows"), ("family", "families"), ("options", "families"),
                        ("breaks", "breaks"), ("hierarchy", "hierarchy"), ("harvest", "harvest"),
                        ("cadence", "cadence"), ("expected_lag_days", "cadence"), ("population", "population"),
                        ("layouts", "layouts")):
        if key in parts:
            return anchor
    return "spec-keys"
