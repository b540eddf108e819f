"""Checks of a crosswalk file (``reference/crosswalks/<name>.csv``), in two parts that take a reference folder.

* ``check_form(reference_dir, name)`` — what every row must satisfy whatever file it serves: UTF-8 without
  BOM, ``\\n`` line endings, the header, the Table Schema (``crosswalk.schema.json``, ICCS codes checked
  against ``reference/iccs/iccs.csv``), one row per national code, a known relation, a rationale citing the
  ICCS (``Excluded: …`` for ``no_match``, the word *broader* for ``broader``), weights summing to 1 per code,
  ICCS codes zero-padded and in the code list, ``valid_from <= valid_to`` as four-digit years.
* ``check_against_file(reference_dir, name, codes, labels=None)`` — a crosswalk against the national codes of
  the files at hand: ``codes`` maps each national code found in those files to the years it has values in.
  Every such code needs a row, in force in each of those years; with ``labels`` the row's
  ``national_label`` must equal the file's. Rows whose code does not occur in the files at hand are
  **not** failures: a crosswalk may serve files (older or newer releases, other sub-national files) that
  the caller does not hold; those rows are only checked for form.

Both return a list of problems (sentences naming the row); an empty list means the crosswalk passes. The
tests run them on the project's reference folder and on temporary copies of it
(``tests/harmonise/test_crosswalk_files.py``); the guide is docs/ONBOARDING.md#crosswalk.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

COLUMNS = ["national_code", "national_label", "iccs_code", "relation", "weight", "valid_from", "valid_to",
           "rationale"]
RELATIONS = {"equivalent", "narrower", "broader", "partial", "no_match"}
DOC = "docs/ONBOARDING.md#crosswalk"


def crosswalk_path(reference_dir: Path, name: str) -> Path:
    return Path(reference_dir) / "crosswalks" / f"{name}.csv"


def read_rows(reference_dir: Path, name: str) -> list[dict[str, str]]:
    with open(crosswalk_path(reference_dir, name), encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def iccs_codes(reference_dir: Path) -> set[str]:
    with open(Path(reference_dir) / "iccs" / "iccs.csv", encoding="utf-8", newline="") as fh:
        return {r["code"] for r in csv.DictReader(fh)}


def _year(text: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not (text.isdigit() and len(text) == 4):
        raise ValueError(text)
    return int(text)


def check_form(reference_dir: Path, name: str) -> list[str]:
    """Problems of form in ``reference/crosswalks/<name>.csv`` (empty list: none)."""
    from pipelines.contracts.table_schema import load_schema, validate_csv

    ref = Path(reference_dir)
    path = crosswalk_path(ref, name)
    if not path.exists():
        return [f"{path}: no such crosswalk (see {DOC})"]
    out: list[str] = []
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [f"{path.name}: not UTF-8 ({exc}) (see {DOC})"]
    if raw.startswith(b"\xef\xbb\xbf"):
        out.append(f"{path.name}: starts with a byte-order mark; save as UTF-8 without BOM")
    if b"\r" in raw:
        out.append(f"{path.name}: has \\r line endings; use \\n")
    if not raw.endswith(b"\n"):
        out.append(f"{path.name}: the last line must end with a line break")
    with open(path, encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh), [])
    if header != COLUMNS:
        out.append(f"{path.name}: header {header} is not {COLUMNS}")
        return [f"{p} (see {DOC})" for p in out]
    schema = load_schema(ref / "crosswalks" / "crosswalk.schema.json")
    out += validate_csv(path, schema, {"iccs": ref / "iccs" / "iccs.csv"})

    codes = iccs_codes(ref)
    rows = read_rows(ref, name)
    seen: dict[str, int] = defaultdict(int)
    weights: dict[str, float] = defaultdict(float)
    for i, r in enumerate(rows, start=2):
        nc = r["national_code"]
        where = f"{path.name}, line {i} ({nc!r})"
        seen[nc] += 1
        rel, code, why = r["relation"], r["iccs_code"], r["rationale"].strip()
        if rel not in RELATIONS:
            out.append(f"{where}: relation {rel!r} is not one of {sorted(RELATIONS)}")
        if not why:
            out.append(f"{where}: empty rationale")
        elif "ICCS" not in why:
            out.append(f"{where}: the rationale must cite the ICCS (code, inclusion or exclusion)")
        if rel == "no_match":
            if code:
                out.append(f"{where}: a no_match row has an empty iccs_code (found {code!r})")
            if not why.startswith("Excluded:"):
                out.append(f"{where}: a no_match rationale starts with 'Excluded:' and states why")
        else:
            if not code:
                out.append(f"{where}: only no_match rows may leave iccs_code empty")
            elif code not in codes:
                out.append(f"{where}: ICCS code {code!r} is not in reference/iccs/iccs.csv")
            elif not (code.isdigit() and len(code) in (2, 4, 5, 6)):
                out.append(f"{where}: ICCS code {code!r} is not zero-padded text")
        if rel == "broader" and "broader" not in why:
            out.append(f"{where}: a broader row says what lies outside the code (the word 'broader')")
        try:
            w = float(r["weight"])
            if not 0 <= w <= 1:
                raise ValueError
            weights[nc] += w
        except ValueError:
            out.append(f"{where}: weight {r['weight']!r} is not a number between 0 and 1")
        try:
            lo, hi = _year(r["valid_from"]), _year(r["valid_to"])
            if lo is not None and hi is not None and lo > hi:
                out.append(f"{where}: valid_from {lo} is after valid_to {hi}")
        except ValueError as exc:
            out.append(f"{where}: validity year {str(exc)!r} is not a four-digit year")
    dupes = sorted(c for c, n in seen.items() if n > 1)
    if dupes:
        out.append(f"{path.name}: several rows for national code(s) {dupes}")
    bad = {c: w for c, w in weights.items() if abs(w - 1) > 1e-9 and c not in dupes}
    if bad:
        out.append(f"{path.name}: the weights of a national code sum to 1: {bad}")
    return [f"{p} (see {DOC})" for p in out]


def check_against_file(reference_dir: Path, name: str, codes: Mapping[str, Iterable[int]] | Iterable[str],
                       labels: Mapping[str, str] | None = None) -> list[str]:
    """Problems of ``reference/crosswalks/<name>.csv`` against the national codes of the files at hand.

    ``codes``: national code -> years with values in those files (or just the codes, years unchecked).
    Rows for codes that are not in ``codes`` are ignored here (see ``check_form``)."""
    if not isinstance(codes, Mapping):
        codes = {c: () for c in codes}
    rows: dict[str, dict[str, str]] = {}
    for r in read_rows(reference_dir, name):
        rows.setdefault(r["national_code"], r)
    out: list[str] = []
    missing = sorted(c for c in codes if c not in rows)
    if missing:
        out.append(f"{name}.csv: national code(s) of the file without a crosswalk row: {missing} "
                   f"(see docs/ONBOARDING.md#crosswalk)")
    for nc in sorted(set(codes) & set(rows)):
        r = rows[nc]
        try:
            lo, hi = _year(r["valid_from"]), _year(r["valid_to"])
        except ValueError:
            continue  # reported by check_form
        outside = sorted(y for y in codes[nc] if (lo is not None and y < lo) or (hi is not None and y > hi))
        if outside:
            out.append(f"{name}.csv ({nc!r}): the file has values in {outside}, outside the row's validity "
                       f"{lo or '…'}–{hi or '…'} (see docs/ONBOARDING.md#validity-years)")
        if labels is not None and nc in labels and r["national_label"] != labels[nc]:
            out.append(f"{name}.csv ({nc!r}): national_label {r['national_label']!r} is not the file's "
                       f"{labels[nc]!r}")
    return out


def rows_serving(reference_dir: Path, name: str, codes: Iterable[str]) -> list[dict[str, str]]:
    """The rows of the crosswalk whose national code occurs in ``codes`` (the files at hand)."""
    codes = set(codes)
    return [r for r in read_rows(reference_dir, name) if r["national_code"] in codes]
