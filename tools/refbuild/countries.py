"""The 35 OAS member states: ISO 3166-1 codes, UN M49 numeric code, names, subregion.

These are stable public facts written here as a literal table (no source file is read):

* ``iso3``/``iso2``: ISO 3166-1 alpha-3 / alpha-2.
* ``m49``: UN M49 numeric code (= ISO 3166-1 numeric), 3-digit zero-padded text.
* ``name_en``/``name_es``/``name_fr``: UN M49 / UNTERM short names in English, Spanish and French (the
  English names equal the ``Country`` column of the UNODC data portal exports in ``shared/data/real/unodc_cts``).
* ``name_pt``: common Portuguese short names (the UN has no Portuguese names).
* ``subregion``: UN M49 intermediate region (Caribbean / Central America / South America) or sub-region
  (Northern America -> "North America"). Note M49 puts Mexico in Central America.
* Membership: the 35 states that have ratified the OAS Charter (OAS member-state list).
"""

from __future__ import annotations

from tools.refbuild.common import RefBuildError, build_section

HEADER = ["iso3", "iso2", "m49", "name_en", "name_es", "name_pt", "name_fr", "subregion"]
SUBREGIONS = ["Caribbean", "Central America", "North America", "South America"]

# iso3, iso2, m49, name_en, name_es, name_pt, name_fr, subregion
OAS_MEMBERS: list[tuple[str, str, str, str, str, str, str, str]] = [
    ("ATG", "AG", "028", "Antigua and Barbuda", "Antigua y Barbuda", "Antígua e Barbuda", "Antigua-et-Barbuda", "Caribbean"),
    ("ARG", "AR", "032", "Argentina", "Argentina", "Argentina", "Argentine", "South America"),
    ("BHS", "BS", "044", "Bahamas", "Bahamas", "Bahamas", "Bahamas", "Caribbean"),
    ("BRB", "BB", "052", "Barbados", "Barbados", "Barbados", "Barbade", "Caribbean"),
    ("BLZ", "BZ", "084", "Belize", "Belice", "Belize", "Belize", "Central America"),
    ("BOL", "BO", "068", "Bolivia (Plurinational State of)", "Bolivia (Estado Plurinacional de)", "Bolívia",
     "Bolivie (État plurinational de)", "South America"),
    ("BRA", "BR", "076", "Brazil", "Brasil", "Brasil", "Brésil", "South America"),
    ("CAN", "CA", "124", "Canada", "Canadá", "Canadá", "Canada", "North America"),
    ("CHL", "CL", "152", "Chile", "Chile", "Chile", "Chili", "South America"),
    ("COL", "CO", "170", "Colombia", "Colombia", "Colômbia", "Colombie", "South America"),
    ("CRI", "CR", "188", "Costa Rica", "Costa Rica", "Costa Rica", "Costa Rica", "Central America"),
    ("CUB", "CU", "192", "Cuba", "Cuba", "Cuba", "Cuba", "Caribbean"),
    ("DMA", "DM", "212", "Dominica", "Dominica", "Dominica", "Dominique", "Caribbean"),
    ("DOM", "DO", "214", "Dominican Republic", "República Dominicana", "República Dominicana", "République dominicaine",
     "Caribbean"),
    ("ECU", "EC", "218", "Ecuador", "Ecuador", "Equador", "Équateur", "South America"),
    ("SLV", "SV", "222", "El Salvador", "El Salvador", "El Salvador", "El Salvador", "Central America"),
    ("GRD", "GD", "308", "Grenada", "Granada", "Granada", "Grenade", "Caribbean"),
    ("GTM", "GT", "320", "Guatemala", "Guatemala", "Guatemala", "Guatemala", "Central America"),
    ("GUY", "GY", "328", "Guyana", "Guyana", "Guiana", "Guyana", "South America"),
    ("HTI", "HT", "332", "Haiti", "Haití", "Haiti", "Haïti", "Caribbean"),
    ("HND", "HN", "340", "Honduras", "Honduras", "Honduras", "Honduras", "Central America"),
    ("JAM", "JM", "388", "Jamaica", "Jamaica", "Jamaica", "Jamaïque", "Caribbean"),
    ("MEX", "MX", "484", "Mexico", "México", "México", "Mexique", "Central America"),
    ("NIC", "NI", "558", "Nicaragua", "Nicaragua", "Nicarágua", "Nicaragua", "Central America"),
    ("PAN", "PA", "591", "Panama", "Panamá", "Panamá", "Panama", "Central America"),
    ("PRY", "PY", "600", "Paraguay", "Paraguay", "Paraguai", "Paraguay", "South America"),
    ("PER", "PE", "604", "Peru", "Perú", "Peru", "Pérou", "South America"),
    ("KNA", "KN", "659", "Saint Kitts and Nevis", "Saint Kitts y Nevis", "São Cristóvão e Névis", "Saint-Kitts-et-Nevis",
     "Caribbean"),
    ("LCA", "LC", "662", "Saint Lucia", "Santa Lucía", "Santa Lúcia", "Sainte-Lucie", "Caribbean"),
    ("VCT", "VC", "670", "Saint Vincent and the Grenadines", "San Vicente y las Granadinas", "São Vicente e Granadinas",
     "Saint-Vincent-et-les Grenadines", "Caribbean"),
    ("SUR", "SR", "740", "Suriname", "Suriname", "Suriname", "Suriname", "South America"),
    ("TTO", "TT", "780", "Trinidad and Tobago", "Trinidad y Tabago", "Trinidad e Tobago", "Trinité-et-Tobago", "Caribbean"),
    ("USA", "US", "840", "United States of America", "Estados Unidos de América", "Estados Unidos",
     "États-Unis d'Amérique", "North America"),
    ("URY", "UY", "858", "Uruguay", "Uruguay", "Uruguai", "Uruguay", "South America"),
    ("VEN", "VE", "862", "Venezuela (Bolivarian Republic of)", "Venezuela (República Bolivariana de)", "Venezuela",
     "Venezuela (République bolivarienne du)", "South America"),
]

SCHEMA = {
    "name": "oas_members",
    "title": "The 35 member states of the Organization of American States (OAS)",
    "description": "ISO 3166-1 codes, UN M49 code, names in the four OAS official languages and UN M49 subregion. "
    "Literal table in tools/refbuild/countries.py; see PROVENANCE.md.",
    "fields": [
        {"name": "iso3", "type": "string", "description": "ISO 3166-1 alpha-3 code.",
         "constraints": {"required": True, "unique": True, "pattern": "^[A-Z]{3}$", "minLength": 3, "maxLength": 3}},
        {"name": "iso2", "type": "string", "description": "ISO 3166-1 alpha-2 code.",
         "constraints": {"required": True, "unique": True, "pattern": "^[A-Z]{2}$", "minLength": 2, "maxLength": 2}},
        {"name": "m49", "type": "string", "description": "UN M49 numeric code, 3-digit zero-padded text (e.g. 032).",
         "constraints": {"required": True, "unique": True, "pattern": "^[0-9]{3}$", "minLength": 3, "maxLength": 3}},
        {"name": "name_en", "type": "string", "description": "English short name (UN M49).",
         "constraints": {"required": True, "unique": True}},
        {"name": "name_es", "type": "string", "description": "Spanish short name (UN M49).",
         "constraints": {"required": True, "unique": True}},
        {"name": "name_pt", "type": "string", "description": "Portuguese short name (common usage).",
         "constraints": {"required": True, "unique": True}},
        {"name": "name_fr", "type": "string", "description": "French short name (UN M49).",
         "constraints": {"required": True, "unique": True}},
        {"name": "subregion", "type": "string",
         "description": "UN M49 intermediate region / sub-region (Northern America shown as North America).",
         "constraints": {"required": True, "enum": SUBREGIONS}},
    ],
    "primaryKey": ["iso3"],
    "missingValues": [""],
}


def build() -> list[list[object]]:
    rows = [list(r) for r in sorted(OAS_MEMBERS)]
    if len(rows) != 35:
        raise RefBuildError(f"OAS member table has {len(rows)} rows, expected 35")
    for col in range(7):
        values = [r[col] for r in rows]
        if len(set(values)) != len(values):
            raise RefBuildError(f"OAS member table: duplicate values in column {HEADER[col]}")
    for r in rows:
        if r[7] not in SUBREGIONS:
            raise RefBuildError(f"OAS member table: bad subregion {r[7]!r} for {r[0]}")
    return rows


def iso3_set() -> set[str]:
    return {r[0] for r in OAS_MEMBERS}


def provenance(rows: list[list[object]], date: str) -> str:
    counts = {s: sum(1 for r in rows if r[7] == s) for s in SUBREGIONS}
    return "\n".join(
        [
            "# reference/countries - OAS member states",
            "",
            "Generated by `tools/refbuild` - do not edit by hand.",
            "",
            "## Files",
            f"- `oas_members.csv` ({len(rows)} rows; "
            + ", ".join(f"{s}: {n}" for s, n in counts.items())
            + "). Schema `oas_members.schema.json`. Codes are TEXT (`m49` keeps its leading zeros, e.g. `032`).",
            "",
            "## Sources",
            "No input file: the table is written as a literal in `tools/refbuild/countries.py`, from these public "
            "reference lists (background knowledge, not re-checked against a downloaded file):",
            "- Membership: OAS list of member states (the 35 independent states of the Americas that ratified the OAS "
            "Charter), https://www.oas.org/en/member_states/default.asp",
            "- Codes: ISO 3166-1 (alpha-3, alpha-2) and UN M49 (https://unstats.un.org/unsd/methodology/m49/); "
            "M49 numeric = ISO 3166-1 numeric.",
            "- `name_en`, `name_es`, `name_fr`: UN M49 short names in English, Spanish and French (`name_en` is "
            "identical to the `Country` column of the UNODC data-portal exports in `shared/data/real/unodc_cts`). "
            "Note UN Spanish spellings such as 'Trinidad y Tabago'.",
            "- `name_pt`: common Portuguese short names (the UN publishes no Portuguese names).",
            "- `subregion`: UN M49 intermediate region (Caribbean, Central America, South America) or sub-region "
            "(Northern America, shown as 'North America'). Under M49, Mexico is in Central America and Guyana and "
            "Suriname in South America; Belize is in Central America.",
            "- Licence: facts (codes and names); ISO 3166 / UN M49 are public reference lists.",
            "",
            "## Caveats for users",
            "- Membership status is political and changes: this is the list of the 35 states that ratified the Charter. "
            "Cuba is a member state but the government does not participate in the OAS; Nicaragua gave notice of "
            "withdrawal (effective November 2023) and Venezuela gave notice in 2017 (its status is disputed). They are "
            "kept because historical series need them. Check the current status before publishing a regional aggregate.",
            "- Join on `iso3`, never on names (World Bank and UNODC spell names differently).",
            "",
            build_section(date),
            "",
        ]
    )
