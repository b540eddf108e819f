"""ICCS v1.0 code list: codes + Spanish labels from the third-party parse CSV, English labels from the
official UNODC PDF (Part Two, "Broad and detailed structure").

Traps handled (see ``shared/data/real/iccs/PROVENANCE.md``):

* ``codigo_iccs`` lost its leading zeros (``101`` = 0101). The level is the number of filled
  ``nivel_1..nivel_4`` columns; each level is left-padded to 2/4/5/6 digits.
* The CSV has no level-1 (section) rows; sections come from its ``seccion`` column (Spanish, accents
  stripped) and from the "Section NN ..." headings in the PDF (English).
* ``delito_iccs`` has accents stripped; ``glosa_iccs`` keeps them but is empty for two codes (01049, 0909).
  Spanish labels use ``glosa_iccs``; where it is empty (and for the section names) the accents are
  restored word by word from the accented words that occur in ``glosa_iccs`` itself (a word is only
  restored when its accented form is unambiguous). Nothing else is rewritten.
* The PDF's Part Three definitions table numbers two residual codes differently (01042 and 0908); the
  Part Two code list, the alphabetical index and the CSV all use 01049 and 0909 (residual codes end in 9),
  so Part Two is the authority here.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from tools.refbuild.common import (
    RefBuildError,
    Source,
    build_section,
    norm_space,
    require_file,
    sha256_file,
    strip_accents,
)

PARSE_CSV = "iccs/iccs_parse_final.csv"
PDF = "iccs/ICCS_English_2016_web.pdf"
WIDTH = {1: 2, 2: 4, 3: 5, 4: 6}
SECTIONS = [f"{i:02d}" for i in range(1, 12)]
EN_FALLBACK_PREFIX = "[NO ENGLISH LABEL IN PDF] "
PDF_TABLE_HEADER = "LEVEL 02 LEVEL 03 LEVEL 04 CRIME"

ICCS_HEADER = ["code", "level", "parent_code", "section", "label_en", "label_es", "is_residual"]
NOTES_HEADER = ["code", "description_es", "inclusions_es", "exclusions_es"]

ICCS_SCHEMA = {
    "name": "iccs",
    "title": "UNODC International Classification of Crime for Statistical Purposes (ICCS) v1.0 - code list",
    "description": "All 320 ICCS v1.0 codes (11 sections + 309 codes at levels 2-4). Codes are zero-padded text. "
    "Built by tools/refbuild from the official UNODC PDF (English labels) and a third-party Spanish parse "
    "(codes, Spanish labels); see PROVENANCE.md.",
    "fields": [
        {
            "name": "code",
            "type": "string",
            "description": "ICCS code as text: level 1 = 2 digits (01..11), level 2 = 4, level 3 = 5, level 4 = 6 digits.",
            "constraints": {"required": True, "unique": True, "pattern": "^(0[1-9]|1[01])([0-9]{2}([0-9]([0-9])?)?)?$",
                            "minLength": 2, "maxLength": 6},
        },
        {
            "name": "level",
            "type": "integer",
            "description": "Hierarchy level 1 (section) to 4.",
            "constraints": {"required": True, "enum": [1, 2, 3, 4]},
        },
        {
            "name": "parent_code",
            "type": "string",
            "description": "Code of the parent (one level up); empty for level 1.",
            "constraints": {"required": False, "pattern": "^(0[1-9]|1[01])([0-9]{2}([0-9])?)?$", "minLength": 2, "maxLength": 5},
        },
        {
            "name": "section",
            "type": "string",
            "description": "Level-1 section code (first two digits of code).",
            "constraints": {"required": True, "enum": SECTIONS},
        },
        {
            "name": "label_en",
            "type": "string",
            "description": "Official English label (ICCS v1.0 PDF, Part Two).",
            "constraints": {"required": True, "minLength": 3},
        },
        {
            "name": "label_es",
            "type": "string",
            "description": "Spanish label (third-party parse of the official Spanish PDF; see PROVENANCE.md).",
            "constraints": {"required": True, "minLength": 3},
        },
        {
            "name": "is_residual",
            "type": "boolean",
            "description": "True for residual 'Other ...' categories: level >= 2, last digit 9 and the highest-numbered "
            "code under its parent (so 0209 'Defamation or insult' is NOT residual; 0219 is).",
            "trueValues": ["true"],
            "falseValues": ["false"],
            "constraints": {"required": True},
        },
    ],
    "primaryKey": ["code"],
    "foreignKeys": [{"fields": "parent_code", "reference": {"resource": "", "fields": "code"}}],
    "missingValues": [""],
}

NOTES_SCHEMA = {
    "name": "iccs_notes",
    "title": "ICCS v1.0 - Spanish description, inclusions and exclusions per code (levels 2-4)",
    "description": "Free text from the third-party parse of the Spanish ICCS PDF, whitespace-normalised, otherwise "
    "verbatim (it still contains the PDF's own cross-references such as '(0102)'). Unofficial aid for crosswalk "
    "reviewers; check against the PDF before quoting.",
    "fields": [
        {
            "name": "code",
            "type": "string",
            "description": "ICCS code (levels 2-4), zero-padded text.",
            "constraints": {"required": True, "unique": True, "pattern": "^(0[1-9]|1[01])[0-9]{2}([0-9]([0-9])?)?$",
                            "minLength": 4, "maxLength": 6},
        },
        {"name": "description_es", "type": "string", "description": "Definition (descripcion); may be empty."},
        {"name": "inclusions_es", "type": "string", "description": "Inclusions (inclusiones); may be empty."},
        {"name": "exclusions_es", "type": "string", "description": "Exclusions (exclusiones); may be empty."},
    ],
    "primaryKey": ["code"],
    "foreignKeys": [{"fields": "code", "reference": {"resource": "iccs", "fields": "code"}}],
    "missingValues": [""],
}


@dataclass
class IccsResult:
    rows: list[list[object]]
    notes: list[list[object]]
    sources: list[Source]
    en_fallbacks: list[str]
    es_restored: dict[str, tuple[str, str]]  # code -> (source text, restored label)
    glosa_mismatch: list[str]


# --------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------
def parse_pdf_labels(pdf_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Return ({section: English name}, {code: English label}) from Part Two of the ICCS PDF."""
    try:
        import pypdf
    except ImportError as exc:  # pragma: no cover - dev dependency
        raise RefBuildError("pypdf is required to read the ICCS PDF (pip install pypdf)") from exc

    reader = pypdf.PdfReader(str(pdf_path))
    texts = [page.extract_text() or "" for page in reader.pages]
    starts = [i for i, t in enumerate(texts) if PDF_TABLE_HEADER in t and re.search(r"^Section 01 ", t, re.M)]
    if len(starts) != 1:
        raise RefBuildError(f"{pdf_path}: expected exactly one page starting the Part Two code list, found {starts}")
    first = starts[0]
    ends = [i for i in range(first, len(texts)) if "Table: I" in texts[i]]
    if not ends:
        raise RefBuildError(f"{pdf_path}: end of the Part Two code list ('Table: I') not found")
    last = ends[0]

    sections: dict[str, str] = {}
    labels: dict[str, str] = {}
    current_section: str | None = None
    current_code: str | None = None
    for text in texts[first:last]:
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line == PDF_TABLE_HEADER or re.fullmatch(r"\d{1,3}", line) or line.startswith("Part Two"):
                continue  # blank, table header, page number, part title
            m = re.fullmatch(r"Section (\d{2}) (.+)", line)
            if m:
                current_section, current_code = m.group(1), None
                if current_section in sections:
                    raise RefBuildError(f"{pdf_path}: section {current_section} appears twice")
                sections[current_section] = norm_space(m.group(2))
                continue
            m = re.fullmatch(r"(\d{4,6})\s+(.+)", line)
            if m and current_section and m.group(1).startswith(current_section):
                current_code = m.group(1)
                if current_code in labels:
                    raise RefBuildError(f"{pdf_path}: code {current_code} appears twice in Part Two")
                labels[current_code] = norm_space(m.group(2))
                continue
            if current_code is None:
                raise RefBuildError(f"{pdf_path}: unexpected line in Part Two before any code: {line!r}")
            labels[current_code] = norm_space(labels[current_code] + " " + line)  # wrapped label
    return sections, labels


# --------------------------------------------------------------------------------------------
# Spanish parse CSV
# --------------------------------------------------------------------------------------------
def _padded_code(row: dict[str, str], lineno: int) -> tuple[str, int, list[str]]:
    niv = [row[f"nivel_{k}"].strip() for k in range(1, 5)]
    level = sum(1 for x in niv if x)
    if level < 2 or any(not x for x in niv[:level]) or any(x for x in niv[level:]):
        raise RefBuildError(f"{PARSE_CSV} line {lineno}: unexpected nivel pattern {niv}")
    for x in niv[:level]:
        if not x.isdigit():
            raise RefBuildError(f"{PARSE_CSV} line {lineno}: non-numeric nivel value {x!r}")
    if row["codigo_iccs"].strip() != niv[level - 1]:
        raise RefBuildError(
            f"{PARSE_CSV} line {lineno}: codigo_iccs {row['codigo_iccs']!r} != deepest nivel {niv[level - 1]!r}"
        )
    padded = [niv[k].zfill(WIDTH[k + 1]) for k in range(level)]
    for k in range(level):
        if len(padded[k]) != WIDTH[k + 1]:
            raise RefBuildError(f"{PARSE_CSV} line {lineno}: nivel_{k + 1}={niv[k]!r} too long for level {k + 1}")
        if k and not padded[k].startswith(padded[k - 1]):
            raise RefBuildError(f"{PARSE_CSV} line {lineno}: {padded[k]} does not extend its parent {padded[k - 1]}")
    return padded[-1], level, padded


def _accent_map(texts: list[str]) -> dict[str, str]:
    """lower-case unaccented word -> its unique lower-case accented form, from accented source texts."""
    forms: dict[str, set[str]] = {}
    for t in texts:
        for w in re.findall(r"\w+", t.lower()):
            forms.setdefault(strip_accents(w), set()).add(w)
    return {k: next(iter(v)) for k, v in forms.items() if len(v) == 1 and next(iter(v)) != k}


def _restore_accents(text: str, amap: dict[str, str]) -> str:
    def fix(m: re.Match) -> str:
        w = m.group(0)
        acc = amap.get(strip_accents(w.lower()))
        if acc is None or w.lower() != strip_accents(w.lower()):
            return w
        return acc[0].upper() + acc[1:] if w[0].isupper() else acc

    out = re.sub(r"\w+", fix, text)
    if strip_accents(out) != strip_accents(text):
        raise RefBuildError(f"accent restoration changed more than accents: {text!r} -> {out!r}")
    return out


def read_parse_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        expected = {"codigo_iccs", "delito_iccs", "glosa_iccs", "glosa_match", "nivel_1", "nivel_2", "nivel_3",
                    "nivel_4", "seccion", "descripcion", "inclusiones", "exclusiones"}
        missing = expected - set(reader.fieldnames or [])
        if missing:
            raise RefBuildError(f"{path}: missing columns {sorted(missing)}")
        return list(reader)


def build(shared: Path) -> IccsResult:
    csv_path = require_file(shared / PARSE_CSV)
    pdf_path = require_file(shared / PDF)
    src_rows = read_parse_csv(csv_path)
    if not src_rows:
        raise RefBuildError(f"{csv_path}: no rows")

    amap = _accent_map([r["glosa_iccs"] for r in src_rows])
    en_sections, en_labels = parse_pdf_labels(pdf_path)

    records: dict[str, dict] = {}
    section_es_raw: dict[str, str] = {}
    notes: list[list[object]] = []
    es_restored: dict[str, tuple[str, str]] = {}
    glosa_mismatch: list[str] = []
    for lineno, r in enumerate(src_rows, start=2):
        code, level, chain = _padded_code(r, lineno)
        if code in records:
            raise RefBuildError(f"{csv_path} line {lineno}: duplicate code {code}")
        section = chain[0]
        seccion = norm_space(r["seccion"])
        if section_es_raw.setdefault(section, seccion) != seccion:
            raise RefBuildError(f"{csv_path} line {lineno}: section {section} has two names")
        glosa, delito = norm_space(r["glosa_iccs"]), norm_space(r["delito_iccs"])
        if glosa:
            label_es = glosa
        elif delito:
            label_es = _restore_accents(delito, amap)
            es_restored[code] = (delito, label_es)
        else:
            raise RefBuildError(f"{csv_path} line {lineno}: code {code} has no Spanish label")
        if r["glosa_match"].strip() == "False":
            glosa_mismatch.append(code)
        records[code] = {"level": level, "parent": chain[-2], "section": section, "label_es": label_es}
        notes.append([code, norm_space(r["descripcion"]), norm_space(r["inclusiones"]), norm_space(r.get("exclusiones", ""))])

    # level-1 sections
    for section in sorted(section_es_raw):
        label_es = _restore_accents(section_es_raw[section], amap)
        if label_es != section_es_raw[section]:
            es_restored[section] = (section_es_raw[section], label_es)
        records[section] = {"level": 1, "parent": "", "section": section, "label_es": label_es}

    # English labels
    en_all = dict(en_labels)
    en_all.update(en_sections)
    pdf_only = sorted(set(en_all) - set(records))
    if pdf_only:
        raise RefBuildError(f"codes in the PDF code list but not in {PARSE_CSV}: {pdf_only}")
    en_fallbacks = sorted(set(records) - set(en_all))

    last_child: dict[str, str] = {}
    for code in sorted(records):
        if records[code]["parent"]:
            last_child[records[code]["parent"]] = code  # sorted, so the highest-numbered sibling wins
    rows: list[list[object]] = []
    for code in sorted(records):
        rec = records[code]
        label_en = en_all.get(code) or EN_FALLBACK_PREFIX + rec["label_es"]
        # residual = ends in 9 AND is the last sibling: 0209 'Defamation or insult' ends in 9 but is a regular
        # category (section 02 has 11 level-2 categories; its residual is 0219).
        is_residual = rec["level"] >= 2 and code.endswith("9") and last_child.get(rec["parent"]) == code
        rows.append([code, rec["level"], rec["parent"], rec["section"], label_en, rec["label_es"], is_residual])

    validate(rows)
    notes.sort(key=lambda n: n[0])
    sources = [
        Source(
            rel_path=PARSE_CSV,
            publisher="Third-party parse (INE Chile project 'Clasificación Automatizada CNP-ICCS', repo punp1n/ICCS) "
            "of the official Spanish ICCS v1.0 PDF published by UNODC",
            mirror="https://github.com/punp1n/ICCS, path `Correspondencia automatica/outputs/iccs_parse_final.csv`, "
            "commit d0b2c85bff2fc2d37eaae54fa4561d743738a106",
            licence="no licence file in the repo (ICCS itself: (c) 2015 UNODC)",
            sha256=sha256_file(csv_path),
        ),
        Source(
            rel_path=PDF,
            publisher="UNODC, International Classification of Crime for Statistical Purposes (ICCS), Version 1.0, "
            "March 2015 (web edition 2016)",
            mirror="https://github.com/punp1n/ICCS, path `ICSS_PDF/ICCS_English_2016_web.pdf` (official UNODC document)",
            licence="no licence file in the repo; the document states 'Copyright (c) 2015, United Nations Office on Drugs and Crime'",
            sha256=sha256_file(pdf_path),
        ),
    ]
    return IccsResult(rows, notes, sources, en_fallbacks, es_restored, sorted(glosa_mismatch))


def validate(rows: list[list[object]]) -> None:
    """Fail loudly if the hierarchy is not consistent."""
    by_code = {r[0]: r for r in rows}
    if len(by_code) != len(rows):
        raise RefBuildError("ICCS: duplicate codes")
    for code, level, parent, section, label_en, label_es, is_res in rows:
        if len(code) != WIDTH[level]:
            raise RefBuildError(f"ICCS: code {code} has length {len(code)} but level {level}")
        if section != code[:2]:
            raise RefBuildError(f"ICCS: code {code} has section {section}")
        if level == 1:
            if parent:
                raise RefBuildError(f"ICCS: section {code} has a parent")
        else:
            if parent not in by_code:
                raise RefBuildError(f"ICCS: parent {parent} of {code} does not exist")
            if by_code[parent][1] != level - 1 or not code.startswith(parent):
                raise RefBuildError(f"ICCS: parent {parent} of {code} is not one level up")
        if not label_en or not label_es:
            raise RefBuildError(f"ICCS: code {code} lacks a label")
    missing = [s for s in SECTIONS if s not in by_code]
    if missing:
        raise RefBuildError(f"ICCS: sections missing: {missing}")
    if by_code.get("0101", [None] * 5)[4] != "Intentional homicide":
        raise RefBuildError("ICCS: 0101 is not 'Intentional homicide'")


def provenance(res: IccsResult, date: str) -> str:
    n_by_level = {lvl: sum(1 for r in res.rows if r[1] == lvl) for lvl in (1, 2, 3, 4)}
    n_res = sum(1 for r in res.rows if r[6])
    fallbacks = ", ".join(res.en_fallbacks) if res.en_fallbacks else "none - every code has its English label from the PDF"
    restored = "\n".join(f"  - `{c}`: \"{a}\" -> \"{b}\"" for c, (a, b) in sorted(res.es_restored.items()))
    lines = [
        "# reference/iccs - ICCS v1.0 code list",
        "",
        "Generated by `tools/refbuild` - do not edit by hand.",
        "",
        "## Files",
        f"- `iccs.csv` ({len(res.rows)} rows: {n_by_level[1]} sections, {n_by_level[2]} level-2, {n_by_level[3]} level-3, "
        f"{n_by_level[4]} level-4 codes; {n_res} residual). Schema `iccs.schema.json`. Codes are zero-padded TEXT.",
        f"- `iccs_notes.csv` ({len(res.notes)} rows, levels 2-4): Spanish definition, inclusions and exclusions. "
        "Schema `iccs_notes.schema.json`. Unofficial (third-party parse) - verify against the PDF before quoting.",
        "",
        "## Sources",
        *[s.markdown() + "\n" for s in res.sources],
        "## How the table is built",
        "- Codes: from `iccs_parse_final.csv`. Its `codigo_iccs` lost the leading zeros, so the level is the number of "
        "filled `nivel_1..nivel_4` columns and each level is left-padded (level 1 -> 2 digits, 2 -> 4, 3 -> 5, 4 -> 6). "
        "The CSV has no level-1 rows: the 11 sections come from its `seccion` column.",
        "- English labels: parsed with pypdf from Part Two of the PDF ('Broad and detailed structure', the code list "
        "under the 'Section NN ...' headings), matched by code; wrapped lines are joined. Wording is kept as printed "
        "(e.g. 'Trafficking in persons (TIP)', curly apostrophe in 'victim\u2019s').",
        f"- Codes without an English label in the PDF (fallback label starts with `{EN_FALLBACK_PREFIX.strip()}`): {fallbacks}.",
        "- The set of codes in the PDF code list and in the CSV is checked to be identical (the build fails otherwise).",
        "- Spanish labels: `glosa_iccs` (accented). Where it is empty, and for the section names (the `seccion` column "
        "has its accents stripped), accents are restored word by word using only accented words that occur in "
        "`glosa_iccs`; affected codes:",
        restored,
        f"- The parse flags `glosa_match=False` for {len(res.glosa_mismatch)} codes (its PDF-table text and definition "
        f"text disagree): {', '.join(res.glosa_mismatch)}. We use the table text (`glosa_iccs`).",
        "- `is_residual` = level >= 2, the code ends in 9 AND it is the highest-numbered code under its parent. The "
        "simpler rule 'ends in 9' is wrong for one code: 0209 'Defamation or insult' is a regular category (section 02 "
        "has eleven level-2 categories 0201-0211; its residual is 0219). 020729 'Operating a vehicle under the "
        "influence of other psychoactive substances' is residual although its label does not start with 'Other'.",
        "- `parent_code` = the code one level up (empty for sections).",
        "- Validated at build time: codes unique, code length matches level, every parent exists one level up, "
        "all 11 sections present, 0101 = 'Intentional homicide'.",
        "",
        "## Known issues in the official PDF",
        "- Part Three (definitions table, 'Table: I') numbers two residual codes differently from Part Two: 01042 "
        "(Part Two: 01049 'Other acts of assisting or instigating suicide') and 0908 (Part Two: 0909 'Other acts "
        "against public safety and state security'). Part Two, the PDF's alphabetical index and the CSV agree on "
        "01049 and 0909, which also follow the 'residual ends in 9' rule; this table uses 01049 and 0909.",
        "- Small wording differences between Part Two and Part Three headings (e.g. 02019 'Other assaults or threats' vs "
        "'... and threats'; 08045 'Market manipulations' vs 'Market manipulation'). Labels here are Part Two's.",
        "",
        build_section(date),
        "",
    ]
    return "\n".join(lines)
