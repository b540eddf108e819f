"""The member-state template: a file any OAS member state can fill directly in ICCS terms.

``python -m tools.templates [--reference-dir DIR]`` (re)writes, from ``reference/iccs/iccs.csv`` and
the example below:

* ``reference/templates/hemistat_template.csv``        – the filled EXAMPLE (fictitious figures)
* ``reference/templates/hemistat_template.xlsx``       – the same as a workbook (README, data, codes sheets;
  drop-down lists for country, ICCS code, measure, sex, age and obs_status)
* ``reference/templates/hemistat_template_sdmx.csv``   – the same in SDMX-CSV form
* ``reference/templates/*.schema.json``                – Table Schemas of both CSV forms (``hemistat doctor``)
* ``reference/sources/iccs_template.yaml`` and ``iccs_template_sdmx.yaml`` – the two source specs
* ``reference/crosswalks/iccs_template.csv``           – identity crosswalk over every ICCS code

The documentation is ``reference/templates/README.md`` (English and Spanish). Everything here is plain
Python (csv, openpyxl, pandas); no Dagster.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from datetime import datetime
from pathlib import Path

import pandas as pd

from pipelines.settings import REPO_ROOT

# --------------------------------------------------------------------------------------------------
# code lists (the single source of truth for specs, schemas, workbook drop-downs and the README)
# --------------------------------------------------------------------------------------------------
MEASURES = {"offences": "offences recorded by the police (one per offence) / delitos registrados",
            "victims": "victims (one per victim) / víctimas"}
SDMX_MEASURES = {"OFFENCES": "offences", "VICTIMS": "victims"}
SEXES = {"_T": "total / total", "F": "female / mujer", "M": "male / hombre", "_U": "unknown / no especificado"}
AGES = {"_T": "all ages / todas las edades", "Y_LT18": "under 18 / menor de 18",
        "Y_GE18": "18 and over / 18 y más", "_U": "age unknown / edad no especificada"}
# obs_status: SDMX CL_OBS_STATUS subset. hemistat recomputes the published obs_status itself (M when the
# value is empty, P for incomplete years, B for declared breaks); the country's flag is kept as a note.
OBS_STATUS = {
    "A": None,
    "P": "provisional figure (P), as declared by the reporting country",
    "E": "estimated figure (E), as declared by the reporting country",
    "B": "break in series (B), as declared by the reporting country",
    "M": "missing (M): not available, as declared by the reporting country",
}
OBS_STATUS_HELP = {"A": "normal value / valor normal (default when empty / por defecto si vacío)",
                   "P": "provisional / provisional", "E": "estimated / estimado",
                   "B": "break in series / quiebre de serie", "M": "missing, value left empty / faltante, valor vacío"}
UNITS_SDMX = {"COUNT": "count"}
MONTHS = {"": None, **{str(m): str(m) for m in range(1, 13)}, **{f"{m:02d}": str(m) for m in range(1, 10)}}

CSV_COLUMNS = ["country_iso3", "subdivision_code", "subdivision_name", "year", "month", "iccs_code", "iccs_label",
               "measure", "sex", "age", "value", "obs_status", "comment"]
SDMX_COLUMNS = ["DATAFLOW", "REF_AREA", "TIME_PERIOD", "ICCS", "MEASURE", "SEX", "AGE", "OBS_VALUE", "OBS_STATUS",
                "SUBDIVISION", "UNIT_MEASURE", "COMMENT"]
DATAFLOW = "OAS:DF_HEMISTAT_CRIME(1.0)"
RATIONALE = "template is filled in ICCS terms"
EXAMPLE_NOTE = "EXAMPLE - fictitious figures, not official statistics"
# every example row's comment starts with this: the specs refuse such rows (example_rows), so the template
# sent back unchanged is an error naming each example row, never an accepted submission
EXAMPLE_MARK = "EXAMPLE - fictitious figures"
ICCS_PATTERN = r"^(0[1-9]|1[01])([0-9]{2}([0-9]([0-9])?)?)?$"

# --------------------------------------------------------------------------------------------------
# the filled example: a fictitious, clearly labelled EXAMPLE for Paraguay (PRY), year 2023, national
# plus two departments (Asunción PY-ASU, Central PY-11), offences and victims by sex, obs_status.
# --------------------------------------------------------------------------------------------------
_AREAS = [(None, None), ("PY-ASU", "Asunción"), ("PY-11", "Central")]


def example_rows(iccs: pd.DataFrame | None = None) -> list[dict]:
    label = {} if iccs is None else dict(zip(iccs["code"], iccs["label_es"]))
    # the example lists only two departments, so its national rows are their sum (rule X3 warns when a
    # national total differs from the sum of the subdivisions a file lists)
    offences = {  # iccs code -> (Asunción, Central)
        "0101": (60, 150),           # intentional homicide
        "0102": (40, 90),            # attempted intentional homicide (provisional)
        "020111": (None, None),      # serious assault: not available (M)
        "0401": (2500, 4000),        # robbery
        "0502": (5000, 8000),        # theft (parent of 05021: hemistat keeps 0502 - 05021 as the residual)
        "05021": (900, 1400),        # theft of a motorized vehicle or parts thereof
    }
    victims = {"_T": (64, 158), "F": (9, 20), "M": (55, 136), "_U": (0, 2)}  # homicide victims: _T = F + M + _U

    def with_national(d):
        return {k: (None if None in v else sum(v), *v) for k, v in d.items()}

    offences, victims = with_national(offences), with_national(victims)
    rows = []
    for i, (sub_code, sub_name) in enumerate(_AREAS):
        for code, vals in offences.items():
            v = vals[i]
            status, comment = "A", EXAMPLE_NOTE
            if v is None:
                status, comment = "M", f"{EXAMPLE_NOTE}; serious assault not recorded separately in 2023"
            elif code == "0102":
                status, comment = "P", f"{EXAMPLE_NOTE}; provisional until the courts reclassify open cases"
            rows.append({"country_iso3": "PRY", "subdivision_code": sub_code, "subdivision_name": sub_name,
                         "year": 2023, "month": None, "iccs_code": code, "iccs_label": label.get(code),
                         "measure": "offences", "sex": "_T", "age": "_T", "value": v, "obs_status": status,
                         "comment": comment})
        for sex, vals in victims.items():
            rows.append({"country_iso3": "PRY", "subdivision_code": sub_code, "subdivision_name": sub_name,
                         "year": 2023, "month": None, "iccs_code": "0101", "iccs_label": label.get("0101"),
                         "measure": "victims", "sex": sex, "age": "_T", "value": vals[i], "obs_status": "A",
                         "comment": EXAMPLE_NOTE})
    return rows


def _iccs(reference_dir: Path) -> pd.DataFrame:
    return pd.read_csv(reference_dir / "iccs" / "iccs.csv", dtype=str, keep_default_na=False, encoding="utf-8")


def _countries(reference_dir: Path) -> pd.DataFrame:
    return pd.read_csv(reference_dir / "countries" / "oas_members.csv", dtype=str, keep_default_na=False,
                       encoding="utf-8")


def _txt(v) -> str:
    return "" if v is None else str(v)


def _csv_text(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([_txt(v) for v in r])
    return buf.getvalue()


def template_csv(iccs: pd.DataFrame) -> str:
    return _csv_text(CSV_COLUMNS, [[r[c] for c in CSV_COLUMNS] for r in example_rows(iccs)])


def sdmx_rows(iccs: pd.DataFrame) -> list[list]:
    inv = {v: k for k, v in SDMX_MEASURES.items()}
    return [[DATAFLOW, r["country_iso3"], r["year"], r["iccs_code"], inv[r["measure"]], r["sex"], r["age"],
             r["value"], r["obs_status"], r["subdivision_code"], "COUNT", r["comment"]] for r in example_rows(iccs)]


def template_sdmx_csv(iccs: pd.DataFrame) -> str:
    return _csv_text(SDMX_COLUMNS, sdmx_rows(iccs))


def crosswalk_csv(iccs: pd.DataFrame) -> str:
    """Identity crosswalk: every ICCS code maps to itself (the template is filled in ICCS terms)."""
    rows = [[c, f"{en} / {es}", c, "equivalent", 1, None, None, RATIONALE]
            for c, en, es in zip(iccs["code"], iccs["label_en"], iccs["label_es"])]
    return _csv_text(["national_code", "national_label", "iccs_code", "relation", "weight", "valid_from",
                      "valid_to", "rationale"], rows)


# --------------------------------------------------------------------------------------------------
# source specs
# --------------------------------------------------------------------------------------------------
def _q(v) -> str:
    return json.dumps(v, ensure_ascii=False)


def _map(d: dict) -> str:
    return "{" + ", ".join(f"{_q(k)}: {'null' if v is None else _q(v)}" for k, v in d.items()) + "}"


def _children_yaml(iccs: pd.DataFrame) -> str:
    kids: dict[str, list[str]] = {}
    for code, parent in zip(iccs["code"], iccs["parent_code"]):
        if parent:
            kids.setdefault(parent, []).append(code)
    lines = ["hierarchy:",
             "  # ICCS parent -> direct children (generated from reference/iccs/iccs.csv). A country may report a",
             "  # code and some of its sub-codes: hemistat then uses the children and keeps parent - sum(children)",
             "  # as the parent's residual, so nothing is counted twice when codes are rolled up (rule I2 checks",
             "  # children <= parent). Report intermediate levels too, or only the most detailed codes.",
             "  children:"]
    lines += [f"    {_q(p)}: [{', '.join(_q(c) for c in cs)}]" for p, cs in kids.items()]
    return "\n".join(lines) + "\n"


_HEAD = """\
# GENERATED by `python -m tools.templates` from tools/templates.py — edit that file, not this one.
# The hemistat member-state template: national crime statistics filled directly in ICCS codes.
# How to fill it: reference/templates/README.md (English / español).
"""

_COMMON = """\
publisher: "the reporting OAS member state (statistical office, police or ministry that fills the template)"
url: "reference/templates/README.md"
counting_unit: "declared per row: offences recorded by the police (measure offences) or victims (measure victims)"
crosswalk: iccs_template
comparability: national
cadence: annual
expected_lag_days: 180
"""


def _refuse(column: str) -> str:
    return ("    # the template's fictitious example rows, sent back unchanged, are refused (an error per row)\n"
            f"    example_rows: [{{column: {column}, starts_with: {_q(EXAMPLE_MARK)}}}]\n")


def spec_yaml(iccs: pd.DataFrame) -> str:
    columns = f"""\
    columns: &template_columns
      country_iso3: country_iso3
      subdivision_code: subdivision_code
      subdivision_name: subdivision_name
      year: year
      month: {{column: month, map: {_map(MONTHS)}}}
      national_code: iccs_code
      national_label: iccs_label
      measure: {{column: measure, map: {_map({k: k for k in MEASURES})}}}
      sex: {{column: sex, map: {_map({k: k for k in SEXES})}}}
      age: {{column: age, map: {_map({"": "_T", **{k: k for k in AGES}})}}}
      obs_note: {{column: obs_status, empty_as_null: false, map: {_map({"": None, **OBS_STATUS})}}}
      source_note: comment
    values: &template_values
      column: value
      defaults: {{unit: count}}
    missing_values: [""]
    missing_note: "empty value: not available (not zero)"
{_refuse("comment")}"""
    return (_HEAD + "source_id: iccs_template\n"
            + 'title: "hemistat template — crime statistics reported by a member state directly in ICCS codes '
              '(CSV or XLSX)"\n'
            + _COMMON + 'files: ["hemistat_template*.csv", "hemistat_template*.xlsx"]\n'
            + "scope: {kind: increment, by: [year, subdivision_code]}\n"
            + "layouts:\n"
            + "  # CSV as written by the template (UTF-8, comma)\n"
            + "  - name: csv\n"
            + '    reader: {format: csv, encoding: utf-8-sig, delimiter: ",", decimal: "."}\n'
            + columns
            + "  # CSV saved by a spreadsheet in a Spanish/Portuguese/French locale (semicolon), UTF-8\n"
            + "  - name: csv_semicolon\n"
            + '    reader: {format: csv, encoding: utf-8-sig, delimiter: ";", decimal: "."}\n'
            + "    columns: *template_columns\n    values: *template_values\n"
            + '    missing_values: [""]\n    missing_note: "empty value: not available (not zero)"\n'
            + _refuse("comment")
            + "  # the same, saved as 'CSV (separado por comas)' by Excel on Windows: cp1252, semicolon\n"
            + "  - name: csv_excel_windows\n"
            + '    reader: {format: csv, encoding: cp1252, delimiter: ";", decimal: "."}\n'
            + "    columns: *template_columns\n    values: *template_values\n"
            + '    missing_values: [""]\n    missing_note: "empty value: not available (not zero)"\n'
            + _refuse("comment")
            + "  # the workbook reference/templates/hemistat_template.xlsx (sheet 'data', header in row 1)\n"
            + "  - name: xlsx\n"
            + "    # (encoding does not apply to a workbook; declared so that rule S2 sees every layout declared)\n"
            + '    reader: {format: xlsx, encoding: utf-8, sheet: data, header_row: 1}\n'
            + "    columns: *template_columns\n    values: *template_values\n"
            + '    missing_values: [""]\n    missing_note: "empty value: not available (not zero)"\n'
            + _refuse("comment")
            + _children_yaml(iccs))


def spec_sdmx_yaml(iccs: pd.DataFrame) -> str:
    return (_HEAD + "# SDMX-CSV form: one observation per row; TIME_PERIOD is a year (annual data).\n"
            + "source_id: iccs_template_sdmx\n"
            + 'title: "hemistat template, SDMX-CSV form — crime statistics reported by a member state directly in '
              'ICCS codes"\n'
            + _COMMON + 'files: ["hemistat_template_sdmx*.csv", "*_sdmx.csv"]\n'
            + "scope: {kind: increment, by: [year, subdivision_code]}\n"
            + "layouts:\n"
            + "  - name: sdmx_csv\n"
            + '    reader: {format: csv, encoding: utf-8-sig, delimiter: ",", decimal: "."}\n'
            + "    columns:\n"
            + "      country_iso3: REF_AREA\n"
            + "      subdivision_code: SUBDIVISION\n"
            + "      year: TIME_PERIOD\n"
            + "      national_code: ICCS\n"
            + f"      measure: {{column: MEASURE, map: {_map(SDMX_MEASURES)}}}\n"
            + f"      unit: {{column: UNIT_MEASURE, map: {_map(UNITS_SDMX)}}}\n"
            + f"      sex: {{column: SEX, map: {_map({k: k for k in SEXES})}}}\n"
            + f"      age: {{column: AGE, map: {_map({'': '_T', **{k: k for k in AGES}})}}}\n"
            + f"      obs_note: {{column: OBS_STATUS, empty_as_null: false, map: {_map({'': None, **OBS_STATUS})}}}\n"
            + "      source_note: COMMENT\n"
            + "    values:\n"
            + "      column: OBS_VALUE\n"
            + '    missing_values: [""]\n'
            + '    missing_note: "empty value: not available (not zero)"\n'
            + _refuse("COMMENT")
            + _children_yaml(iccs))


# --------------------------------------------------------------------------------------------------
# Table Schemas of the two CSV forms (checked by `hemistat doctor` through pipelines.contracts.table_schema)
# --------------------------------------------------------------------------------------------------
def _field(name, typ, desc, **constraints) -> dict:
    f = {"name": name, "type": typ, "description": desc}
    if constraints:
        f["constraints"] = constraints
    return f


def template_schema() -> dict:
    return {
        "name": "hemistat_template",
        "title": "hemistat member-state template (CSV/XLSX sheet 'data'), filled in ICCS terms",
        "description": "One row per value: country x subdivision (empty = national) x year x month (empty = annual) "
                       "x ICCS code x measure x sex x age. See reference/templates/README.md.",
        "fields": [
            _field("country_iso3", "string", "ISO 3166-1 alpha-3 code of the OAS member state.", required=True,
                   pattern="^[A-Z]{3}$"),
            _field("subdivision_code", "string", "ISO 3166-2 code (or national code) of the first-level subdivision; "
                                                 "empty for the national total."),
            _field("subdivision_name", "string", "Name of the subdivision; empty for the national total."),
            _field("year", "year", "Reference year.", required=True, minimum=1990, maximum=2100),
            _field("month", "integer", "Reference month 1-12; empty for an annual value.", minimum=1, maximum=12),
            _field("iccs_code", "string", "ICCS v1.0 code as text with its leading zero (0101, 020111).",
                   required=True, pattern=ICCS_PATTERN),
            _field("iccs_label", "string", "Label of the ICCS code (informative only)."),
            _field("measure", "string", "offences or victims.", required=True, enum=list(MEASURES)),
            _field("sex", "string", "_T total, F female, M male, _U unknown.", required=True, enum=list(SEXES)),
            _field("age", "string", "_T all ages (default when empty), Y_LT18, Y_GE18, _U.", enum=list(AGES)),
            _field("value", "number", "The count; empty when not available (never write 0 for 'not available').",
                   minimum=0),
            _field("obs_status", "string", "SDMX observation status: A normal (default), P provisional, "
                                           "E estimated, B break in series, M missing.", enum=list(OBS_STATUS)),
            _field("comment", "string", "Free text note on the value."),
        ],
        "primaryKey": ["country_iso3", "subdivision_code", "year", "month", "iccs_code", "measure", "sex", "age"],
        "missingValues": [""],
    }


def template_sdmx_schema() -> dict:
    fields = [
        ("DATAFLOW", "string", "Dataflow identifier, e.g. " + DATAFLOW + ".", {"required": True}),
        ("REF_AREA", "string", "ISO 3166-1 alpha-3 code of the OAS member state.",
         {"required": True, "pattern": "^[A-Z]{3}$"}),
        ("TIME_PERIOD", "year", "Reference year (annual data).", {"required": True, "minimum": 1990, "maximum": 2100}),
        ("ICCS", "string", "ICCS v1.0 code as text with its leading zero.", {"required": True, "pattern": ICCS_PATTERN}),
        ("MEASURE", "string", "OFFENCES or VICTIMS.", {"required": True, "enum": list(SDMX_MEASURES)}),
        ("SEX", "string", "_T, F, M, _U.", {"required": True, "enum": list(SEXES)}),
        ("AGE", "string", "_T, Y_LT18, Y_GE18, _U.", {"enum": list(AGES)}),
        ("OBS_VALUE", "number", "The count; empty when not available.", {"minimum": 0}),
        ("OBS_STATUS", "string", "A, P, E, B, M.", {"enum": list(OBS_STATUS)}),
        ("SUBDIVISION", "string", "Subdivision code; empty for the national total.", {}),
        ("UNIT_MEASURE", "string", "COUNT.", {"required": True, "enum": list(UNITS_SDMX)}),
        ("COMMENT", "string", "Free text note on the value.", {}),
    ]
    return {
        "name": "hemistat_template_sdmx",
        "title": "hemistat member-state template, SDMX-CSV form",
        "description": "One observation per row, annual. Field names are the SDMX concept ids (upper case), "
                       "see reference/templates/README.md.",
        "fields": [_field(n, t, d, **c) for n, t, d, c in fields],
        "primaryKey": ["REF_AREA", "SUBDIVISION", "TIME_PERIOD", "ICCS", "MEASURE", "SEX", "AGE"],
        "missingValues": [""],
    }


# --------------------------------------------------------------------------------------------------
# workbook
# --------------------------------------------------------------------------------------------------
# the README sheet, in each language of the Network: how a data office fills the template and sends it through
# the upload portal (no command line: offices have the portal, not hemistat)
README_TEXT = {
    "en": ["hemistat member-state template",
           "",
           "1. Fill the sheet 'data': one row per value (country x subdivision x year x month x ICCS code x measure x "
           "sex x age). Keep row 1 (the column names).",
           "2. The rows already there are a fictitious EXAMPLE for Paraguay (their comment says EXAMPLE): DELETE them "
           "and write your own figures. A file that still contains an example row is refused.",
           "3. Leave 'value' EMPTY when a figure is not available and set obs_status to M; 0 means that nothing "
           "was recorded.",
           "4. Save the workbook (.xlsx), or save the sheet 'data' as CSV.",
           "5. Send it through the upload portal: sign in, open 'Upload', choose the source 'iccs_template', choose "
           "your file and press 'Upload and check'. The verdict appears at once: what the file adds or changes, then every "
           "rule it does not meet, with the spreadsheet row and column. Correct the rows listed and upload the file "
           "again; a reviewer approves its publication.",
           "", "Columns"],
    "es": ["Plantilla de hemistat para los Estados miembros",
           "",
           "1. Complete la hoja 'data': una fila por valor (país x subdivisión x año x mes x código ICCS x medida x "
           "sexo x edad). Conserve la fila 1 (los nombres de las columnas).",
           "2. Las filas incluidas son un EJEMPLO ficticio para Paraguay (su comentario dice EXAMPLE): BÓRRELAS y "
           "escriba sus propias cifras. Un archivo que aún contenga una fila de ejemplo es rechazado.",
           "3. Deje 'value' VACÍO cuando una cifra no esté disponible y ponga obs_status en M; 0 significa que no se "
           "registró nada.",
           "4. Guarde el libro (.xlsx), o guarde la hoja 'data' como CSV.",
           "5. Envíelo por el portal de carga: inicie sesión, abra 'Cargar', elija la fuente "
           "'iccs_template', elija su archivo y pulse 'Cargar y verificar'. El dictamen aparece enseguida: lo que el archivo "
           "agrega o cambia y cada regla que no cumple, con la fila y la columna de la hoja. Corrija las filas "
           "indicadas y vuelva a enviar el archivo; un revisor aprueba su publicación.",
           "", "Columnas"],
    "pt": ["Modelo do hemistat para os Estados membros",
           "",
           "1. Preencha a planilha 'data': uma linha por valor (país x subdivisão x ano x mês x código ICCS x medida "
           "x sexo x idade). Mantenha a linha 1 (os nomes das colunas).",
           "2. As linhas incluídas são um EXEMPLO fictício para o Paraguai (o comentário diz EXAMPLE): APAGUE-AS e "
           "escreva seus próprios números. Um arquivo que ainda contenha uma linha de exemplo é rejeitado.",
           "3. Deixe 'value' VAZIO quando um número não estiver disponível e coloque obs_status em M; 0 significa que "
           "nada foi registrado.",
           "4. Salve a pasta de trabalho (.xlsx), ou salve a planilha 'data' como CSV.",
           "5. Envie-o pelo portal de envio: entre, abra 'Enviar', escolha a fonte 'iccs_template', "
           "escolha o seu arquivo e clique em 'Enviar e verificar'. O parecer aparece na hora: o que o arquivo acrescenta ou "
           "altera e cada regra que não cumpre, com a linha e a coluna da planilha. Corrija as linhas indicadas e "
           "envie o arquivo novamente; um revisor aprova a publicação.",
           "", "Colunas"],
    "fr": ["Modèle hemistat pour les États membres",
           "",
           "1. Remplissez la feuille 'data' : une ligne par valeur (pays x subdivision x année x mois x code ICCS x "
           "mesure x sexe x âge). Gardez la ligne 1 (les noms des colonnes).",
           "2. Les lignes présentes sont un EXEMPLE fictif pour le Paraguay (leur commentaire indique EXAMPLE) : "
           "SUPPRIMEZ-LES et saisissez vos propres chiffres. Un fichier qui contient encore une ligne d'exemple est "
           "refusé.",
           "3. Laissez 'value' VIDE lorsqu'un chiffre n'est pas disponible et mettez obs_status à M ; 0 signifie que "
           "rien n'a été enregistré.",
           "4. Enregistrez le classeur (.xlsx), ou enregistrez la feuille 'data' en CSV.",
           "5. Envoyez-le par le portail de dépôt : connectez-vous, ouvrez « Déposer », choisissez la "
           "source 'iccs_template', choisissez votre fichier et cliquez sur « Déposer et contrôler ». Le verdict s'affiche aussitôt :"
           " ce que le fichier ajoute ou modifie, puis chaque règle non respectée, avec la ligne et la colonne de la "
           "feuille. Corrigez les lignes indiquées et déposez de nouveau le fichier ; un réviseur approuve sa "
           "publication.",
           "", "Colonnes"],
}
COLUMN_HELP = {
    "en": {"country_iso3": "ISO 3166-1 alpha-3 code of the country (PRY, PER, CRI ...), sheet 'codes'",
           "subdivision_code": "empty = national total; code of the first-level subdivision (ISO 3166-2)",
           "subdivision_name": "name of the subdivision", "year": "reference year",
           "month": "1-12; empty = annual value",
           "iccs_code": "ICCS code as TEXT with its leading zero: 0101, 020111 (sheet 'codes')",
           "iccs_label": "informative only", "measure": "offences | victims",
           "sex": "_T total | F female | M male | _U unknown", "age": "_T all ages (default) | Y_LT18 | Y_GE18 | _U",
           "value": "the count; EMPTY when not available (not 0)",
           "obs_status": "A normal (default) | P provisional | E estimated | B break in series | M missing",
           "comment": "free text"},
    "es": {"country_iso3": "código ISO 3166-1 alfa-3 del país (PRY, PER, CRI ...), hoja 'codes'",
           "subdivision_code": "vacío = total nacional; código de la subdivisión de primer nivel (ISO 3166-2)",
           "subdivision_name": "nombre de la subdivisión", "year": "año de referencia",
           "month": "1-12; vacío = valor anual",
           "iccs_code": "código ICCS como TEXTO con el cero inicial: 0101, 020111 (hoja 'codes')",
           "iccs_label": "solo informativo", "measure": "offences (delitos) | victims (víctimas)",
           "sex": "_T total | F mujer | M hombre | _U no especificado",
           "age": "_T todas las edades (por defecto) | Y_LT18 | Y_GE18 | _U",
           "value": "la cifra; VACÍO si no está disponible (no 0)",
           "obs_status": "A normal (por defecto) | P provisional | E estimado | B quiebre de serie | M faltante",
           "comment": "texto libre"},
    "pt": {"country_iso3": "código ISO 3166-1 alfa-3 do país (PRY, PER, CRI ...), planilha 'codes'",
           "subdivision_code": "vazio = total nacional; código da subdivisão de primeiro nível (ISO 3166-2)",
           "subdivision_name": "nome da subdivisão", "year": "ano de referência",
           "month": "1-12; vazio = valor anual",
           "iccs_code": "código ICCS como TEXTO com o zero inicial: 0101, 020111 (planilha 'codes')",
           "iccs_label": "apenas informativo", "measure": "offences (crimes) | victims (vítimas)",
           "sex": "_T total | F feminino | M masculino | _U não especificado",
           "age": "_T todas as idades (padrão) | Y_LT18 | Y_GE18 | _U",
           "value": "o número; VAZIO quando não disponível (não 0)",
           "obs_status": "A normal (padrão) | P provisório | E estimado | B quebra de série | M ausente",
           "comment": "texto livre"},
    "fr": {"country_iso3": "code ISO 3166-1 alpha-3 du pays (PRY, PER, CRI ...), feuille 'codes'",
           "subdivision_code": "vide = total national ; code de la subdivision de premier niveau (ISO 3166-2)",
           "subdivision_name": "nom de la subdivision", "year": "année de référence",
           "month": "1-12 ; vide = valeur annuelle",
           "iccs_code": "code ICCS en TEXTE avec le zéro initial : 0101, 020111 (feuille 'codes')",
           "iccs_label": "à titre indicatif", "measure": "offences (infractions) | victims (victimes)",
           "sex": "_T total | F femmes | M hommes | _U inconnu",
           "age": "_T tous âges (par défaut) | Y_LT18 | Y_GE18 | _U",
           "value": "le nombre ; VIDE s'il n'est pas disponible (pas 0)",
           "obs_status": "A normal (par défaut) | P provisoire | E estimé | B rupture de série | M manquant",
           "comment": "texte libre"},
}
WORKBOOK_LANGS = tuple(README_TEXT)   # hemistat_template_<lang>.xlsx, downloadable from the portal's upload page


def readme_sheet(lang: str | None = None) -> list[tuple[str, bool]]:
    """The README sheet's lines (text, bold): one language, or English and Spanish (``None``: the bilingual
    ``hemistat_template.xlsx``)."""
    langs = [lang] if lang else ["en", "es"]
    out: list[tuple[str, bool]] = []
    for i, lg in enumerate(langs):
        head, *body = README_TEXT[lg]
        if i:
            out.append(("", False))
        out.append((head, True))
        out += [(x, x == body[-1]) for x in body]
        out += [(f"{c:<17} {COLUMN_HELP[lg][c]}", False) for c in CSV_COLUMNS]
    return out


README_SHEET = readme_sheet()


def build_workbook(path: Path, iccs: pd.DataFrame, countries: pd.DataFrame, lang: str | None = None) -> Path:
    """The template as an .xlsx workbook: sheets README (in ``lang``, or English and Spanish), data (the example)
    and codes (code lists), with drop-down lists on the data sheet. Written via a temp file and renamed."""
    import os
    import tempfile

    import openpyxl
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = openpyxl.Workbook()
    readme = wb.active
    readme.title = "README"
    for i, (text, bold) in enumerate(readme_sheet(lang), start=1):
        c = readme.cell(row=i, column=1, value=text or None)
        if bold:
            c.font = Font(bold=True, size=12)
    readme.column_dimensions["A"].width = 130

    ws = wb.create_sheet("data")
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for j, name in enumerate(CSV_COLUMNS, start=1):
        c = ws.cell(row=1, column=j, value=name)
        c.font = Font(bold=True)
        c.fill = header_fill
        ws.column_dimensions[get_column_letter(j)].width = max(12, len(name) + 4)
    ws.column_dimensions[get_column_letter(CSV_COLUMNS.index("iccs_label") + 1)].width = 40
    ws.column_dimensions[get_column_letter(CSV_COLUMNS.index("comment") + 1)].width = 60
    text_cols = {"iccs_code", "subdivision_code", "country_iso3", "sex", "age", "measure", "obs_status"}
    for i, r in enumerate(example_rows(iccs), start=2):
        for j, name in enumerate(CSV_COLUMNS, start=1):
            c = ws.cell(row=i, column=j, value=r[name])
            if name in text_cols:
                c.number_format = "@"  # keep leading zeros: 0101 must not become 101
    for name in text_cols:  # empty rows below the example: typed codes stay text too
        ws.column_dimensions[get_column_letter(CSV_COLUMNS.index(name) + 1)].number_format = "@"
    ws.freeze_panes = "A2"

    codes = wb.create_sheet("codes")
    blocks = [("iccs_code", [(c, f"{en} / {es}") for c, en, es in zip(iccs["code"], iccs["label_en"],
                                                                        iccs["label_es"])]),
              ("country_iso3", list(zip(countries["iso3"], countries["name_en"] + " / " + countries["name_es"]))),
              ("measure", list(MEASURES.items())), ("sex", list(SEXES.items())), ("age", list(AGES.items())),
              ("obs_status", list(OBS_STATUS_HELP.items()))]
    col = 1
    ranges = {}
    for name, items in blocks:
        codes.cell(row=1, column=col, value=name).font = Font(bold=True)
        codes.cell(row=1, column=col + 1, value="meaning / significado").font = Font(bold=True)
        for i, (k, v) in enumerate(items, start=2):
            codes.cell(row=i, column=col, value=k).number_format = "@"
            codes.cell(row=i, column=col + 1, value=v)
        letter = get_column_letter(col)
        ranges[name] = f"codes!${letter}$2:${letter}${len(items) + 1}"
        codes.column_dimensions[letter].width = 14
        codes.column_dimensions[get_column_letter(col + 1)].width = 50 if name != "iccs_code" else 90
        col += 3

    last = 5000
    for name, allow_blank in [("iccs_code", False), ("country_iso3", False), ("measure", False), ("sex", False),
                              ("age", True), ("obs_status", True)]:
        letter = get_column_letter(CSV_COLUMNS.index(name) + 1)
        dv = DataValidation(type="list", formula1="=" + ranges[name], allow_blank=allow_blank, showErrorMessage=True,
                            errorTitle=name, error=f"Use a code from the sheet 'codes' ({name}) / "
                                                   f"use un código de la hoja 'codes'")
        dv.add(f"{letter}2:{letter}{last}")
        ws.add_data_validation(dv)
    letter = get_column_letter(CSV_COLUMNS.index("month") + 1)
    dv = DataValidation(type="whole", operator="between", formula1="1", formula2="12", allow_blank=True,
                        showErrorMessage=True, error="month 1-12, or empty for an annual value / mes 1-12 o vacío")
    dv.add(f"{letter}2:{letter}{last}")
    ws.add_data_validation(dv)
    letter = get_column_letter(CSV_COLUMNS.index("value") + 1)
    dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                        showErrorMessage=True, error="a whole number >= 0, or empty when not available")
    dv.add(f"{letter}2:{letter}{last}")
    ws.add_data_validation(dv)

    wb.active = wb.sheetnames.index("data")
    fixed = datetime(2026, 1, 1)
    wb.properties.creator = "hemistat (tools/templates.py)"
    wb.properties.created = fixed
    wb.properties.modified = fixed
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".xlsx", dir=path.parent)
    os.close(fd)
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# --------------------------------------------------------------------------------------------------
def text_outputs(reference_dir: Path) -> dict[str, str]:
    """Every generated text file, relative to the reference dir -> content."""
    iccs = _iccs(reference_dir)
    return {
        "templates/hemistat_template.csv": template_csv(iccs),
        "templates/hemistat_template_sdmx.csv": template_sdmx_csv(iccs),
        "templates/hemistat_template.schema.json": json.dumps(template_schema(), indent=2, ensure_ascii=False) + "\n",
        "templates/hemistat_template_sdmx.schema.json":
            json.dumps(template_sdmx_schema(), indent=2, ensure_ascii=False) + "\n",
        "sources/iccs_template.yaml": spec_yaml(iccs),
        "sources/iccs_template_sdmx.yaml": spec_sdmx_yaml(iccs),
        "crosswalks/iccs_template.csv": crosswalk_csv(iccs),
    }


def write_all(reference_dir: Path | None = None) -> list[Path]:
    from pipelines.storage.files import atomic_write_bytes

    ref = Path(reference_dir or REPO_ROOT / "reference")
    out = []
    for rel, text in text_outputs(ref).items():
        p = ref / rel
        atomic_write_bytes(p, text.encode("utf-8"))
        out.append(p)
    out.append(build_workbook(ref / "templates" / "hemistat_template.xlsx", _iccs(ref), _countries(ref)))
    for lang in WORKBOOK_LANGS:
        out.append(build_workbook(ref / "templates" / f"hemistat_template_{lang}.xlsx", _iccs(ref), _countries(ref),
                                  lang))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference-dir", type=Path, default=REPO_ROOT / "reference")
    args = ap.parse_args(argv)
    for p in write_all(args.reference_dir):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
