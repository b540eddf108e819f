"""Deterministic SYNTHETIC sample of the national crime-statistics files hemistat ingests.

When the real files (normally ``/work/shared/data/real/``) are not available, ``hemistat run`` still has to
show the whole pipeline working.  This module writes a small, fully synthetic sample in *exactly* the same file
formats as the real national files (encodings, delimiters, line endings, header strings, category labels,
number formats and known quirks), so the same adapters, quality rules and harmonisation code run unchanged.

Nothing here reads the real files: every header string and category list is a literal below (category labels
copied from the public files; they are labels, not data).  All numbers are invented with a seeded pseudo-random
generator from synthetic populations -- **they are not official statistics** and must never be published as such.
``SYNTHETIC_README.md`` (and a ``PROVENANCE.md`` in every source folder) says so next to the files.

Files written (``out_dir/<source_id>/...``):

* ``mx_sesnsp/estatal.csv`` -- SESNSP "IDEFC_NM" state file: cp1252, CRLF, ``,``; wide months; 32 states x 98
  crime rows x 2021-2024; the last year's ``Diciembre`` is empty (not yet reported), not 0.
* ``ar_snic/snic-provincias.csv`` -- SNIC 2025 release layout: UTF-8 (no BOM), CRLF, ``,``; zero-padded
  ``provincia_id``; hierarchical codes with the real timing (``29_x`` in four provinces from 2016, ``14_x``,
  ``22_x``, ``28_x``, ``29_x`` everywhere from 2017, ``11_x``/``21_x`` from 2023); victim columns empty for
  property-type offences up to 2016 and ``0`` afterwards (as in the real file); rates ``.``-decimal without
  leading zero (``.52465624``).  Years 2016-2023.
* ``ar_snic/snic-pais.csv`` -- SNIC 2023 release layout: ``;`` delimiter, decimal comma without leading zero
  (``,72102064``), CRLF, the national file's own offence names (``Ley 23,737 ...``) and code order (``28_10``
  after ``28_1``); victim columns empty for property-type offences.  Years 2016-2022 (the national release lags
  the provincial one by a year, like the real pair); each value = sum of the provinces for that year/code.
* ``unodc_cts/data_cts_violent_and_sexual_crime.csv`` and ``data_cts_corruption_and_economic_crime.csv`` --
  UNODC data-portal export: UTF-8, LF, two preamble lines, header on line 3, long format with ``Counts`` and
  ``Rate per 100,000 population`` rows; 10 reporting units (8 OAS members, ``ESP`` and ``GBR_E_W``), 2018-2022,
  sparse like the real export.

Internal consistency (so the quality rules pass on this clean sample): SNIC national = sum of provinces; SNIC and
CTS parent categories >= sum of their children; victims = male + female + sex-unknown; every rate is the count
divided by the (synthetic) population the generator used, times 100,000.

Usage::

    from pipelines.samples.synthetic import generate_sample
    paths = generate_sample(Path("warehouse/data/synthetic"))      # {source_id: [paths]}

    python -m pipelines.samples.synthetic OUT_DIR [--seed N]

No Dagster, no network, no third-party imports; byte-identical output for a given seed; runs in well under 1 s.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import random
import sys
from pathlib import Path

__all__ = ["DEFAULT_SEED", "SOURCE_FILES", "generate_sample", "main"]

DEFAULT_SEED = 20261128

#: source_id -> data files written for it (in this order).
SOURCE_FILES: dict[str, tuple[str, ...]] = {
    "mx_sesnsp": ("estatal.csv",),
    "ar_snic": ("snic-provincias.csv", "snic-pais.csv"),
    "unodc_cts": ("data_cts_violent_and_sexual_crime.csv", "data_cts_corruption_and_economic_crime.csv"),
}

README_NAME = "SYNTHETIC_README.md"

# =====================================================================================================
# Mexico -- SESNSP, incidencia delictiva del fuero común, state level ("estatal.csv")
# =====================================================================================================

SESNSP_YEARS = (2021, 2022, 2023, 2024)  # last year: Diciembre left empty, like the real December release
SESNSP_ENCODING = "cp1252"
SESNSP_MONTHS = ("Enero", "Febrero", "Marzo", "Abril", "Mayo", "Junio", "Julio", "Agosto", "Septiembre",
                 "Octubre", "Noviembre", "Diciembre")
SESNSP_HEADER = ("Año", "Clave_Ent", "Entidad", "Bien jurídico afectado", "Tipo de delito",
                 "Subtipo de delito", "Modalidad") + SESNSP_MONTHS

# Clave_Ent (unpadded in the file) -> (Entidad exactly as in the real file, synthetic population in millions)
SESNSP_STATES: dict[int, tuple[str, float]] = {
    1: ("Aguascalientes", 1.43), 2: ("Baja California", 3.77), 3: ("Baja California Sur", 0.80),
    4: ("Campeche", 0.93), 5: ("Coahuila de Zaragoza", 3.15), 6: ("Colima", 0.73), 7: ("Chiapas", 5.54),
    8: ("Chihuahua", 3.74), 9: ("Ciudad de México", 9.21), 10: ("Durango", 1.83), 11: ("Guanajuato", 6.17),
    12: ("Guerrero", 3.54), 13: ("Hidalgo", 3.08), 14: ("Jalisco", 8.35), 15: ("México", 16.99),
    16: ("Michoacán de Ocampo", 4.75), 17: ("Morelos", 1.97), 18: ("Nayarit", 1.24), 19: ("Nuevo León", 5.78),
    20: ("Oaxaca", 4.13), 21: ("Puebla", 6.58), 22: ("Querétaro", 2.37), 23: ("Quintana Roo", 1.86),
    24: ("San Luis Potosí", 2.82), 25: ("Sinaloa", 3.03), 26: ("Sonora", 2.94), 27: ("Tabasco", 2.40),
    28: ("Tamaulipas", 3.53), 29: ("Tlaxcala", 1.34), 30: ("Veracruz de Ignacio de la Llave", 8.06),
    31: ("Yucatán", 2.32), 32: ("Zacatecas", 1.62),
}

# The 98 crime rows of the real file, in file order.  The last number is only a rough order of magnitude
# (mean count per state and month) used to scale the synthetic counts.
_SESNSP_CRIMES: tuple[tuple[str, str, str, str, float], ...] = (
    ('La vida y la Integridad corporal', 'Homicidio', 'Homicidio doloso', 'Con arma de fuego', 48.0),
    ('La vida y la Integridad corporal', 'Homicidio', 'Homicidio doloso', 'Con arma blanca', 5.9),
    ('La vida y la Integridad corporal', 'Homicidio', 'Homicidio doloso', 'Con otro elemento', 13.0),
    ('La vida y la Integridad corporal', 'Homicidio', 'Homicidio doloso', 'No especificado', 2.5),
    ('La vida y la Integridad corporal', 'Homicidio', 'Homicidio culposo', 'Con arma de fuego', 0.14),
    ('La vida y la Integridad corporal', 'Homicidio', 'Homicidio culposo', 'Con arma blanca', 0.017),
    ('La vida y la Integridad corporal', 'Homicidio', 'Homicidio culposo', 'En accidente de tránsito', 35.0),
    ('La vida y la Integridad corporal', 'Homicidio', 'Homicidio culposo', 'Con otro elemento', 4.8),
    ('La vida y la Integridad corporal', 'Homicidio', 'Homicidio culposo', 'No especificado', 2.5),
    ('La vida y la Integridad corporal', 'Lesiones', 'Lesiones dolosas', 'Con arma de fuego', 22.0),
    ('La vida y la Integridad corporal', 'Lesiones', 'Lesiones dolosas', 'Con arma blanca', 28.0),
    ('La vida y la Integridad corporal', 'Lesiones', 'Lesiones dolosas', 'Con otro elemento', 330.0),
    ('La vida y la Integridad corporal', 'Lesiones', 'Lesiones dolosas', 'No especificado', 42.0),
    ('La vida y la Integridad corporal', 'Lesiones', 'Lesiones culposas', 'Con arma de fuego', 0.37),
    ('La vida y la Integridad corporal', 'Lesiones', 'Lesiones culposas', 'Con arma blanca', 0.12),
    ('La vida y la Integridad corporal', 'Lesiones', 'Lesiones culposas', 'En accidente de tránsito', 93.0),
    ('La vida y la Integridad corporal', 'Lesiones', 'Lesiones culposas', 'Con otro elemento', 27.0),
    ('La vida y la Integridad corporal', 'Lesiones', 'Lesiones culposas', 'No especificado', 16.0),
    ('La vida y la Integridad corporal', 'Feminicidio', 'Feminicidio', 'Con arma de fuego', 0.56),
    ('La vida y la Integridad corporal', 'Feminicidio', 'Feminicidio', 'Con arma blanca', 0.55),
    ('La vida y la Integridad corporal', 'Feminicidio', 'Feminicidio', 'Con otro elemento', 1.1),
    ('La vida y la Integridad corporal', 'Feminicidio', 'Feminicidio', 'No especificado', 0.2),
    ('La vida y la Integridad corporal', 'Aborto', 'Aborto', 'Aborto', 2.0),
    ('La vida y la Integridad corporal', 'Otros delitos que atentan contra la vida y la integridad corporal', 'Otros delitos que atentan contra la vida y la integridad corporal', 'Otros delitos que atentan contra la vida y la integridad corporal', 34.0),
    ('Libertad personal', 'Secuestro', 'Secuestro', 'Secuestro extorsivo', 1.1),
    ('Libertad personal', 'Secuestro', 'Secuestro', 'Secuestro con calidad de rehén', 0.073),
    ('Libertad personal', 'Secuestro', 'Secuestro', 'Secuestro para causar daño', 0.07),
    ('Libertad personal', 'Secuestro', 'Secuestro', 'Secuestro exprés', 0.14),
    ('Libertad personal', 'Secuestro', 'Secuestro', 'Otro tipo de secuestros', 0.01),
    ('Libertad personal', 'Tráfico de menores', 'Tráfico de menores', 'Tráfico de menores', 0.047),
    ('Libertad personal', 'Rapto', 'Rapto', 'Rapto', 0.26),
    ('Libertad personal', 'Otros delitos que atentan contra la libertad personal', 'Otros delitos que atentan contra la libertad personal', 'Otros delitos que atentan contra la libertad personal', 65.0),
    ('La libertad y la seguridad sexual', 'Abuso sexual', 'Abuso sexual', 'Abuso sexual', 84.0),
    ('La libertad y la seguridad sexual', 'Acoso sexual', 'Acoso sexual', 'Acoso sexual', 28.0),
    ('La libertad y la seguridad sexual', 'Hostigamiento sexual', 'Hostigamiento sexual', 'Hostigamiento sexual', 7.2),
    ('La libertad y la seguridad sexual', 'Violación simple', 'Violación simple', 'Violación simple', 40.0),
    ('La libertad y la seguridad sexual', 'Violación equiparada', 'Violación equiparada', 'Violación equiparada', 18.0),
    ('La libertad y la seguridad sexual', 'Incesto', 'Incesto', 'Incesto', 0.03),
    ('La libertad y la seguridad sexual', 'Otros delitos que atentan contra la libertad y la seguridad sexual', 'Otros delitos que atentan contra la libertad y la seguridad sexual', 'Otros delitos que atentan contra la libertad y la seguridad sexual', 32.0),
    ('El patrimonio', 'Robo', 'Robo a casa habitación', 'Con violencia', 17.0),
    ('El patrimonio', 'Robo', 'Robo a casa habitación', 'Sin violencia', 140.0),
    ('El patrimonio', 'Robo', 'Robo de vehículo automotor', 'Robo de coche de 4 ruedas Con violencia', 100.0),
    ('El patrimonio', 'Robo', 'Robo de vehículo automotor', 'Robo de coche de 4 ruedas Sin violencia', 160.0),
    ('El patrimonio', 'Robo', 'Robo de vehículo automotor', 'Robo de motocicleta Con violencia', 25.0),
    ('El patrimonio', 'Robo', 'Robo de vehículo automotor', 'Robo de motocicleta Sin violencia', 72.0),
    ('El patrimonio', 'Robo', 'Robo de vehículo automotor', 'Robo de embarcaciones pequeñas y grandes Con violencia', 0.014),
    ('El patrimonio', 'Robo', 'Robo de vehículo automotor', 'Robo de embarcaciones pequeñas y grandes Sin violencia', 0.061),
    ('El patrimonio', 'Robo', 'Robo de autopartes', 'Con violencia', 1.5),
    ('El patrimonio', 'Robo', 'Robo de autopartes', 'Sin violencia', 55.0),
    ('El patrimonio', 'Robo', 'Robo a transportista', 'Con violencia', 20.0),
    ('El patrimonio', 'Robo', 'Robo a transportista', 'Sin violencia', 3.3),
    ('El patrimonio', 'Robo', 'Robo a transeúnte en vía pública', 'Con violencia', 130.0),
    ('El patrimonio', 'Robo', 'Robo a transeúnte en vía pública', 'Sin violencia', 42.0),
    ('El patrimonio', 'Robo', 'Robo a transeúnte en espacio abierto al público', 'Con violencia', 8.5),
    ('El patrimonio', 'Robo', 'Robo a transeúnte en espacio abierto al público', 'Sin violencia', 7.8),
    ('El patrimonio', 'Robo', 'Robo en transporte público individual', 'Con violencia', 4.7),
    ('El patrimonio', 'Robo', 'Robo en transporte público individual', 'Sin violencia', 2.3),
    ('El patrimonio', 'Robo', 'Robo en transporte público colectivo', 'Con violencia', 21.0),
    ('El patrimonio', 'Robo', 'Robo en transporte público colectivo', 'Sin violencia', 12.0),
    ('El patrimonio', 'Robo', 'Robo en transporte individual', 'Con violencia', 15.0),
    ('El patrimonio', 'Robo', 'Robo en transporte individual', 'Sin violencia', 22.0),
    ('El patrimonio', 'Robo', 'Robo a institución bancaria', 'Con violencia', 0.26),
    ('El patrimonio', 'Robo', 'Robo a institución bancaria', 'Sin violencia', 0.19),
    ('El patrimonio', 'Robo', 'Robo a negocio', 'Con violencia', 98.0),
    ('El patrimonio', 'Robo', 'Robo a negocio', 'Sin violencia', 120.0),
    ('El patrimonio', 'Robo', 'Robo de ganado', 'Con violencia', 0.33),
    ('El patrimonio', 'Robo', 'Robo de ganado', 'Sin violencia', 8.0),
    ('El patrimonio', 'Robo', 'Robo de maquinaria', 'Robo de herramienta industrial o agrícola Con violencia', 0.18),
    ('El patrimonio', 'Robo', 'Robo de maquinaria', 'Robo de herramienta industrial o agrícola Sin violencia', 1.0),
    ('El patrimonio', 'Robo', 'Robo de maquinaria', 'Robo de tractores Con violencia', 0.12),
    ('El patrimonio', 'Robo', 'Robo de maquinaria', 'Robo de tractores Sin violencia', 0.19),
    ('El patrimonio', 'Robo', 'Robo de maquinaria', 'Robo de cables, tubos y otros objetos destinados a servicios públicos Con violencia', 0.096),
    ('El patrimonio', 'Robo', 'Robo de maquinaria', 'Robo de cables, tubos y otros objetos destinados a servicios públicos Sin violencia', 4.0),
    ('El patrimonio', 'Robo', 'Otros robos', 'Con violencia', 78.0),
    ('El patrimonio', 'Robo', 'Otros robos', 'Sin violencia', 390.0),
    ('El patrimonio', 'Fraude', 'Fraude', 'Fraude', 270.0),
    ('El patrimonio', 'Abuso de confianza', 'Abuso de confianza', 'Abuso de confianza', 80.0),
    ('El patrimonio', 'Extorsión', 'Extorsión', 'Extorsión', 26.0),
    ('El patrimonio', 'Daño a la propiedad', 'Daño a la propiedad', 'Daño a la propiedad', 380.0),
    ('El patrimonio', 'Despojo', 'Despojo', 'Despojo', 82.0),
    ('El patrimonio', 'Otros delitos contra el patrimonio', 'Otros delitos contra el patrimonio', 'Otros delitos contra el patrimonio', 40.0),
    ('La familia', 'Violencia familiar', 'Violencia familiar', 'Violencia familiar', 700.0),
    ('La familia', 'Violencia de género en todas sus modalidades distinta a la violencia familiar', 'Violencia de género en todas sus modalidades distinta a la violencia familiar', 'Violencia de género en todas sus modalidades distinta a la violencia familiar', 14.0),
    ('La familia', 'Incumplimiento de obligaciones de asistencia familiar', 'Incumplimiento de obligaciones de asistencia familiar', 'Incumplimiento de obligaciones de asistencia familiar', 64.0),
    ('La familia', 'Otros delitos contra la familia', 'Otros delitos contra la familia', 'Otros delitos contra la familia', 37.0),
    ('La sociedad', 'Corrupción de menores', 'Corrupción de menores', 'Corrupción de menores', 7.3),
    ('La sociedad', 'Trata de personas', 'Trata de personas', 'Trata de personas', 1.9),
    ('La sociedad', 'Otros delitos contra la sociedad', 'Otros delitos contra la sociedad', 'Otros delitos contra la sociedad', 19.0),
    ('Otros bienes jurídicos afectados (del fuero común)', 'Narcomenudeo', 'Narcomenudeo', 'Narcomenudeo', 220.0),
    ('Otros bienes jurídicos afectados (del fuero común)', 'Amenazas', 'Amenazas', 'Amenazas', 340.0),
    ('Otros bienes jurídicos afectados (del fuero común)', 'Allanamiento de morada', 'Allanamiento de morada', 'Allanamiento de morada', 37.0),
    ('Otros bienes jurídicos afectados (del fuero común)', 'Evasión de presos', 'Evasión de presos', 'Evasión de presos', 0.26),
    ('Otros bienes jurídicos afectados (del fuero común)', 'Falsedad', 'Falsedad', 'Falsedad', 12.0),
    ('Otros bienes jurídicos afectados (del fuero común)', 'Falsificación', 'Falsificación', 'Falsificación', 39.0),
    ('Otros bienes jurídicos afectados (del fuero común)', 'Contra el medio ambiente', 'Contra el medio ambiente', 'Contra el medio ambiente', 5.9),
    ('Otros bienes jurídicos afectados (del fuero común)', 'Delitos cometidos por servidores públicos', 'Delitos cometidos por servidores públicos', 'Delitos cometidos por servidores públicos', 55.0),
    ('Otros bienes jurídicos afectados (del fuero común)', 'Electorales', 'Electorales', 'Electorales', 4.5),
    ('Otros bienes jurídicos afectados (del fuero común)', 'Otros delitos del Fuero Común', 'Otros delitos del Fuero Común', 'Otros delitos del Fuero Común', 530.0),
)

# =====================================================================================================
# Argentina -- SNIC (Sistema Nacional de Información Criminal)
# =====================================================================================================

SNIC_PROV_YEARS = tuple(range(2016, 2024))   # snic-provincias (2025 release layout)
SNIC_PAIS_YEARS = tuple(range(2016, 2023))   # snic-pais (2023 release layout: one year behind)
SNIC_PROV_HEADER = ("provincia_id", "provincia_nombre", "anio", "codigo_delito_snic_id",
                    "codigo_delito_snic_nombre", "cantidad_hechos", "cantidad_victimas", "cantidad_victimas_masc",
                    "cantidad_victimas_fem", "cantidad_victimas_sd", "tasa_hechos", "tasa_victimas",
                    "tasa_victimas_masc", "tasa_victimas_fem")
SNIC_PAIS_HEADER = SNIC_PROV_HEADER[2:]

# provincia_id (zero-padded text) -> (provincia_nombre exactly as in the real file, synthetic population, millions)
SNIC_PROVINCES: dict[str, tuple[str, float]] = {
    "02": ("Ciudad Autónoma de Buenos Aires", 3.12), "06": ("Buenos Aires", 17.52), "10": ("Catamarca", 0.43),
    "14": ("Córdoba", 3.84), "18": ("Corrientes", 1.21), "22": ("Chaco", 1.13), "26": ("Chubut", 0.59),
    "30": ("Entre Ríos", 1.43), "34": ("Formosa", 0.61), "38": ("Jujuy", 0.81), "42": ("La Pampa", 0.36),
    "46": ("La Rioja", 0.38), "50": ("Mendoza", 2.04), "54": ("Misiones", 1.28), "58": ("Neuquén", 0.71),
    "62": ("Río Negro", 0.75), "66": ("Salta", 1.44), "70": ("San Juan", 0.82), "74": ("San Luis", 0.54),
    "78": ("Santa Cruz", 0.34), "82": ("Santa Fe", 3.56), "86": ("Santiago del Estero", 1.06),
    "90": ("Tucumán", 1.73), "94": ("Tierra del Fuego, Antártida e Islas del Atlántico Sur", 0.19),
}

# Children codes by parent and the first year they appear (as in the real file).  In 2016 the 29_x children
# exist only for four provinces.
SNIC_CHILDREN: dict[str, tuple[int, tuple[str, ...]]] = {
    "11": (2023, tuple(f"11_{i}" for i in range(1, 6))),
    "14": (2017, tuple(f"14_{i}" for i in range(1, 4))),
    "21": (2023, tuple(f"21_{i}" for i in range(1, 8))),
    "22": (2017, tuple(f"22_{i}" for i in range(1, 8))),
    "28": (2017, tuple(f"28_{i}" for i in range(1, 11))),
    "29": (2017, tuple(f"29_{i}" for i in range(1, 9))),
}
SNIC_29_EARLY_PROVINCES = ("22", "42", "66", "86")  # 29_1..29_8 already in 2016 for these
SNIC_PARENTS = tuple(str(i) for i in range(1, 33))

# Every code of the real file.  Tuple = (name in snic-provincias, name in snic-pais or None when the code is not
# in the national release, rough national rate per 100,000, victims per fact, male share, female share of
# victims).  Victims per fact 0 => victims are not counted for the offence (property, drugs, ...): empty cells
# in snic-pais and in snic-provincias up to 2016, 0 in snic-provincias from 2017.
_SNIC_CODES: dict[str, tuple[str, str | None, float, float, float, float]] = {
    '1': ('Homicidios dolosos', 'Homicidios dolosos', 4.3, 1.03, 0.82, 0.18),
    '2': ('Homicidios dolosos en grado de tentativa', 'Homicidios dolosos en grado de tentativa', 3.2, 1.13, 0.65, 0.24),
    '3': ('Muertes en accidentes viales', 'Muertes en accidentes viales', 7.8, 1.11, 0.78, 0.22),
    '4': ('Homicidios culposos por otros hechos', 'Homicidios culposos por otros hechos', 1.4, 1.31, 0.56, 0.23),
    '5': ('Lesiones dolosas', 'Lesiones dolosas', 370.0, 1.05, 0.35, 0.54),
    '6': ('Lesiones culposas en Accidentes Viales', 'Lesiones culposas en Accidentes Viales', 190.0, 1.18, 0.56, 0.34),
    '7': ('Lesiones culposas por otros hechos', 'Lesiones culposas por otros hechos', 33.0, 1.02, 0.21, 0.2),
    '8': ('Otros delitos contra las personas', 'Otros delitos contra las personas', 100.0, 1.02, 0.31, 0.55),
    '9': ('Delitos contra el honor', 'Delitos contra el honor', 1.7, 1.03, 0.38, 0.52),
    '10': ('Abusos sexuales con acceso carnal (violaciones)', 'Abusos sexuales con acceso carnal (violaciones)', 14.0, 1.01, 0.09, 0.78),
    '11': ('Otros delitos contra la integridad sexual', 'Otros delitos contra la integridad sexual', 70.0, 1.09, 0.11, 0.73),
    '11_1': ('Tentativa de abuso sexual con acceso carnal', None, 0.78, 1.06, 0.13, 0.78),
    '11_2': ('Abuso sexual simple', None, 34.0, 1.08, 0.1, 0.71),
    '11_3': ('Abuso sexual agravado', None, 3.0, 1.08, 0.13, 0.81),
    '11_4': ('Ciberdelitos sexuales vinculados a menores', None, 3.0, 1.01, 0.05, 0.26),
    '11_5': ('Otros delitos contra la integridad sexual', None, 29.0, 1.12, 0.13, 0.8),
    '12': ('Delitos contra el estado civil', 'Delitos contra el estado civil', 0.41, 0.0, 0.0, 0.0),
    '13': ('Amenazas', 'Amenazas', 470.0, 0.0, 0.0, 0.0),
    '14': ('Otros delitos contra la libertad', 'Otros delitos contra la libertad', 33.0, 1.05, 0.27, 0.41),
    '14_1': ('Trata de personas simple', 'Trata de personas simple', 0.5, 1.93, 0.19, 0.46),
    '14_2': ('Trata de personas agravado', 'Trata de personas agravado', 0.083, 1.47, 0.34, 0.12),
    '14_3': ('Otros delitos contra la libertad', 'Otros delitos contra la libertad n,c,p', 33.0, 1.03, 0.28, 0.41),
    '15': ('Robos (excluye los agravados por el resultado de lesiones y/o muertes)', 'Robos (excluye los agravados por el resultado de lesiones y/o muertes)', 990.0, 0.0, 0.0, 0.0),
    '16': ('Tentativas de robo (excluye las agravadas por el res. de lesiones y/o muerte)', 'Tentativas de robo (excluye las agravadas por el res, de lesiones y/o muerte)', 71.0, 0.0, 0.0, 0.0),
    '17': ('Robos agravados por el resultado de lesiones y/o muertes', 'Robos agravados por el resultado de lesiones y/o muertes ', 10.0, 0.0, 0.0, 0.0),
    '18': ('Tentativas de robo agravado por el resultado de lesiones y/o muertes', 'Tentativas de robo agravado por el resultado de lesiones y/o muertes', 3.2, 0.0, 0.0, 0.0),
    '19': ('Hurtos', 'Hurtos', 800.0, 0.0, 0.0, 0.0),
    '20': ('Tentativas de hurto', 'Tentativas de hurto', 37.0, 0.0, 0.0, 0.0),
    '21': ('Otros delitos contra la propiedad', 'Otros delitos contra la propiedad', 460.0, 0.0, 0.0, 0.0),
    '21_1': ('Extorsiones', None, 3.9, 0.0, 0.0, 0.0),
    '21_2': ('Secuestros extorsivos', None, 0.23, 0.0, 0.0, 0.0),
    '21_3': ('Estafas y defraudaciones (no incluye virtuales) y usura', None, 130.0, 0.0, 0.0, 0.0),
    '21_4': ('Estafas y defraudaciones asistidas virtualmente', None, 55.0, 0.0, 0.0, 0.0),
    '21_5': ('Daños (no incluye informáticos)', None, 150.0, 0.0, 0.0, 0.0),
    '21_6': ('Acceso ilegal a sistemas informáticos y daños informáticos', None, 0.69, 0.0, 0.0, 0.0),
    '21_7': ('Otros delitos contra la propiedad', None, 120.0, 0.0, 0.0, 0.0),
    '22': ('Delitos contra la seguridad pública', 'Delitos contra la seguridad pública', 74.0, 0.0, 0.0, 0.0),
    '22_1': ('Fabricación adquisición transferencia y tenencia de explosivos y otros materiales peligrosos', 'Fabricación adquisición transferencia y tenencia de explosivos y otros materiales peligrosos', 0.15, 0.0, 0.0, 0.0),
    '22_2': ('Tenencia ilegal de armas de fuego', 'Tenencia ilegal de armas de fuego', 5.4, 0.0, 0.0, 0.0),
    '22_3': ('Portación ilegal de armas de fuego', 'Portación ilegal de armas de fuego', 2.8, 0.0, 0.0, 0.0),
    '22_4': ('Acopio y fabricación ilegal de armas piezas y municiones', 'Acopio y fabricación ilegal de armas piezas y municiones', 0.18, 0.0, 0.0, 0.0),
    '22_5': ('Entrega y comercialización ilegal de armas de fuego', 'Entrega y comercialización ilegal de armas de fuego', 0.14, 0.0, 0.0, 0.0),
    '22_6': ('Omisión adulteración y supresión de marcaje', 'Omisión adulteración y supresión de marcaje', 0.3, 0.0, 0.0, 0.0),
    '22_7': ('Otros delitos contra la seguridad pública', 'Otros delitos contra la seguridad pública', 65.0, 0.0, 0.0, 0.0),
    '23': ('Delitos contra el orden público', 'Delitos contra el orden público', 7.9, 0.0, 0.0, 0.0),
    '24': ('Delitos contra la seguridad de la nación', 'Delitos contra la seguridad de la nación', 0.028, 0.0, 0.0, 0.0),
    '25': ('Delitos contra los poderes públicos y el orden constitucional', 'Delitos contra los poderes públicos y el orden constitucional', 0.28, 0.0, 0.0, 0.0),
    '26': ('Delitos contra la administración pública', 'Delitos contra la administración pública', 93.0, 0.0, 0.0, 0.0),
    '27': ('Delitos contra la fe pública', 'Delitos contra la fe pública', 25.0, 0.0, 0.0, 0.0),
    '28': ('Ley 23.737 (estupefacientes)', 'Ley 23,737 (estupefacientes)', 160.0, 0.0, 0.0, 0.0),
    '28_1': ('Siembra y producción de estupefacientes', 'Siembra y producción de estupefacientes', 2.4, 0.0, 0.0, 0.0),
    '28_2': ('Comercialización y entrega de estupefacientes', 'Comercialización y entrega de estupefacientes', 15.0, 0.0, 0.0, 0.0),
    '28_3': ('Tenencia o entrega atenuada de estupefacientes', 'Tenencia o entrega atenuada de estupefacientes', 1.8, 0.0, 0.0, 0.0),
    '28_4': ('Desvío de Importación de estupefacientes', 'Desvío de Importación de estupefacientes', 0.01, 0.0, 0.0, 0.0),
    '28_5': ('Organización y financiación de estupefacientes', 'Organización y financiación de estupefacientes', 0.29, 0.0, 0.0, 0.0),
    '28_6': ('Tenencia simple de estupefacientes', 'Tenencia simple de estupefacientes', 22.0, 0.0, 0.0, 0.0),
    '28_7': ('Tenencia simple atenuada para uso personal de estupefacientes', 'Tenencia simple atenuada para uso personal de estupefacientes', 100.0, 0.0, 0.0, 0.0),
    '28_8': ('Confabulación de estupefacientes', 'Confabulación de estupefacientes', 0.33, 0.0, 0.0, 0.0),
    '28_9': ('Contrabando de estupefacientes', 'Contrabando de estupefacientes', 1.1, 0.0, 0.0, 0.0),
    '28_10': ('Otros delitos previstos en la ley 23.737', 'Otros delitos previstos en la Ley 23,737', 16.0, 0.0, 0.0, 0.0),
    '29': ('Delitos previstos en otras leyes', 'Otros delitos previstos en leyes especiales', 140.0, 0.0, 0.0, 0.0),
    '29_1': ('Ley de residuos peligrosos', 'Ley de residuos peligrosos', 0.093, 0.0, 0.0, 0.0),
    '29_2': ('Ley de fauna', 'Ley de fauna', 3.4, 0.0, 0.0, 0.0),
    '29_3': ('Delitos migratorios', 'Delitos migratorios', 6.2, 0.0, 0.0, 0.0),
    '29_4': ('Obstrucción del código aduanero', 'Obstrucción del código aduanero', 0.21, 0.0, 0.0, 0.0),
    '29_5': ('Contrabando Simple', 'Contrabando simple', 39.0, 0.0, 0.0, 0.0),
    '29_6': ('Contrabando Agravado', 'Contrabando agravado', 0.97, 0.0, 0.0, 0.0),
    '29_7': ('Contrabando de elementos nucleares agresivos químicos armas y municiones', 'Contrabando de elementos nucleares agresivos químicos armas y municiones', 0.015, 0.0, 0.0, 0.0),
    '29_8': ('Otros delitos previstos en leyes especiales', 'Otros delitos previstos en leyes especiales n,c,p', 89.0, 0.0, 0.0, 0.0),
    '30': ('Contravenciones', 'Contravenciones', 170.0, 0.0, 0.0, 0.0),
    '31': ('Suicidios (consumados)', 'Suicidios (consumados)', 9.1, 1.0, 0.78, 0.21),
    '32': ('Delitos contra el orden económico y financiero', 'Delitos contra el orden económico y financiero', 0.7, 0.0, 0.0, 0.0),
}

# =====================================================================================================
# UNODC -- Crime Trends Survey data-portal exports
# =====================================================================================================

CTS_YEARS = (2018, 2019, 2020, 2021, 2022)
CTS_PREAMBLE = "UNODC,unodc_ddds@un.org,,,,,,,,,,,"
CTS_RELEASE_DATE = "01/01/2025"  # line 2, dd/mm/yyyy (synthetic release date)
CTS_HEADER = ("Iso3_code", "Country", "Region", "Subregion", "Indicator", "Dimension", "Category", "Sex", "Age",
              "Year", "Unit of measurement", "VALUE", "Source")
CTS_UNITS = ("Counts", "Rate per 100,000 population")

# Iso3_code -> (Country, Region, Subregion as in the real export, synthetic 2020 population in millions)
CTS_COUNTRIES: dict[str, tuple[str, str, str, float]] = {
    "ARG": ("Argentina", "Americas", "Latin America and the Caribbean", 45.4),
    "BRA": ("Brazil", "Americas", "Latin America and the Caribbean", 213.2),
    "CAN": ("Canada", "Americas", "Northern America", 38.0),
    "CHL": ("Chile", "Americas", "Latin America and the Caribbean", 19.3),
    "COL": ("Colombia", "Americas", "Latin America and the Caribbean", 50.9),
    "CRI": ("Costa Rica", "Americas", "Latin America and the Caribbean", 5.1),
    "ESP": ("Spain", "Europe", "Southern Europe", 47.4),
    "GBR_E_W": ("United Kingdom (England and Wales)", "Europe", "Northern Europe", 59.7),
    "MEX": ("Mexico", "Americas", "Latin America and the Caribbean", 126.0),
    "USA": ("United States of America", "Americas", "Northern America", 331.5),
}
CTS_FULL_REPORTERS = ("ESP", "MEX")                          # report every category every year
CTS_VICTIM_REPORTERS = ("CAN", "CHL", "COL", "ESP", "MEX")    # report victims by relationship to perpetrator
CTS_SOURCES = {"BRA": "CTS/DATASUS", "COL": "CTS/MoI", "GBR_E_W": "CTS/NSO"}  # default "CTS"

# (Indicator, Dimension, Category, Sex, Age) of the real exports, in file order.
_CTS_VIOLENT: tuple[tuple[str, str, str, str, str], ...] = (
    ('Violent offences', 'by type of offence', 'Serious assault', 'Total', 'Total'),
    ('Violent offences', 'by type of offence', 'Kidnapping', 'Total', 'Total'),
    ('Violent offences', 'by type of offence', 'Sexual violence', 'Total', 'Total'),
    ('Violent offences', 'by type of offence', 'Sexual violence: Rape', 'Total', 'Total'),
    ('Violent offences', 'by type of offence', 'Sexual violence: Sexual assault', 'Total', 'Total'),
    ('Violent offences', 'by type of offence', 'Sexual violence: Other acts of sexual violence', 'Total', 'Total'),
    ('Violent offences', 'by type of offence', 'Sexual Exploitation', 'Total', 'Total'),
    ('Victims of serious assault', 'by relationship to perpetrator', 'Intimate partner or family member', 'Male', 'Total'),
    ('Victims of serious assault', 'by relationship to perpetrator', 'Intimate partner or family member', 'Female', 'Total'),
    ('Victims of serious assault', 'by relationship to perpetrator', 'Other Perpetrator known to the victim', 'Male', 'Total'),
    ('Victims of serious assault', 'by relationship to perpetrator', 'Other Perpetrator known to the victim', 'Female', 'Total'),
    ('Victims of serious assault', 'by relationship to perpetrator', 'Perpetrator unknown to the victim', 'Male', 'Total'),
    ('Victims of serious assault', 'by relationship to perpetrator', 'Perpetrator unknown to the victim', 'Female', 'Total'),
    ('Victims of serious assault', 'by relationship to perpetrator', 'Relationship to perpetrator is not known', 'Male', 'Total'),
    ('Victims of serious assault', 'by relationship to perpetrator', 'Relationship to perpetrator is not known', 'Female', 'Total'),
    ('Victims of sexual violence', 'by relationship to perpetrator', 'Intimate partner or family member', 'Male', 'Total'),
    ('Victims of sexual violence', 'by relationship to perpetrator', 'Intimate partner or family member', 'Female', 'Total'),
    ('Victims of sexual violence', 'by relationship to perpetrator', 'Other Perpetrator known to the victim', 'Male', 'Total'),
    ('Victims of sexual violence', 'by relationship to perpetrator', 'Other Perpetrator known to the victim', 'Female', 'Total'),
    ('Victims of sexual violence', 'by relationship to perpetrator', 'Perpetrator unknown to the victim', 'Male', 'Total'),
    ('Victims of sexual violence', 'by relationship to perpetrator', 'Perpetrator unknown to the victim', 'Female', 'Total'),
    ('Victims of sexual violence', 'by relationship to perpetrator', 'Relationship to perpetrator is not known', 'Male', 'Total'),
    ('Victims of sexual violence', 'by relationship to perpetrator', 'Relationship to perpetrator is not known', 'Female', 'Total'),
    ('Violent offences', 'by type of offence', 'Acts intended to induce fear or emotional distress', 'Total', 'Total'),
    ('Violent offences', 'by type of offence', 'Acts intended to induce fear or emotional distress: Cyber-related', 'Total', 'Total'),
)
_CTS_ECONOMIC: tuple[tuple[str, str, str, str, str], ...] = (
    ('Offences', 'by type of offence', 'Corruption', 'Total', 'Total'),
    ('Offences', 'by type of offence', 'Corruption: Bribery', 'Total', 'Total'),
    ('Offences', 'by type of offence', 'Corruption: Other acts of corruption', 'Total', 'Total'),
    ('Offences', 'by type of offence', 'Smuggling of migrants', 'Total', 'Total'),
    ('Offences', 'by type of offence', 'Burglary', 'Total', 'Total'),
    ('Offences', 'by type of offence', 'Theft', 'Total', 'Total'),
    ('Offences', 'by type of offence', 'Theft: of a motorized vehicle', 'Total', 'Total'),
    ('Offences', 'by type of offence', 'Fraud', 'Total', 'Total'),
    ('Offences', 'by type of offence', 'Fraud: Cyber-related (Cy)', 'Total', 'Total'),
    ('Offences', 'by type of offence', 'Money laundering', 'Total', 'Total'),
    ('Offences', 'by type of offence', 'Unlawful access to a computer system', 'Total', 'Total'),
    ('Offences', 'by type of offence', 'Unlawful interference with a computer system or computer data', 'Total', 'Total'),
    ('Offences', 'by type of offence', 'Unlawful interception or access of computer data', 'Total', 'Total'),
    ('Acts against the environment', 'by type of offence', 'Acts that cause environmental pollution or degradation', 'Total', 'Total'),
    ('Acts against the environment', 'by type of offence', 'Acts involving the movement of dumping of waste', 'Total', 'Total'),
    ('Acts against the environment', 'by type of offence', 'Trade or possession of protected or prohibited species of faune and flora', 'Total', 'Total'),
    ('Acts against the environment', 'by type of offence', 'Acts that result in the depletion of degradation of natural resources', 'Total', 'Total'),
)

# Rough rates per 100,000 used to scale the synthetic counts (offence categories only).
_CTS_BASE_RATE: dict[str, float] = {
    "Serious assault": 110.0, "Kidnapping": 2.0, "Sexual violence: Rape": 20.0,
    "Sexual violence: Sexual assault": 30.0, "Sexual violence: Other acts of sexual violence": 8.0,
    "Sexual Exploitation": 3.0, "Acts intended to induce fear or emotional distress: Cyber-related": 6.0,
    "Acts intended to induce fear or emotional distress": 150.0,
    "Corruption: Bribery": 4.0, "Corruption: Other acts of corruption": 5.0, "Smuggling of migrants": 1.0,
    "Burglary": 300.0, "Theft: of a motorized vehicle": 150.0, "Theft": 1100.0, "Fraud: Cyber-related (Cy)": 80.0,
    "Fraud": 250.0, "Money laundering": 2.0, "Unlawful access to a computer system": 5.0,
    "Unlawful interference with a computer system or computer data": 3.0,
    "Unlawful interception or access of computer data": 1.0,
    "Acts that cause environmental pollution or degradation": 3.0,
    "Acts involving the movement of dumping of waste": 1.0,
    "Trade or possession of protected or prohibited species of faune and flora": 2.0,
    "Acts that result in the depletion of degradation of natural resources": 2.0,
}
# parent category -> children (parent = sum of children + a small remainder)
_CTS_CHILDREN: dict[str, tuple[str, ...]] = {
    "Sexual violence": ("Sexual violence: Rape", "Sexual violence: Sexual assault",
                        "Sexual violence: Other acts of sexual violence"),
    "Acts intended to induce fear or emotional distress": (
        "Acts intended to induce fear or emotional distress: Cyber-related",),
    "Corruption": ("Corruption: Bribery", "Corruption: Other acts of corruption"),
    "Theft": ("Theft: of a motorized vehicle",),
    "Fraud": ("Fraud: Cyber-related (Cy)",),
}
_CTS_RELATIONSHIPS = ("Intimate partner or family member", "Other Perpetrator known to the victim",
                      "Perpetrator unknown to the victim", "Relationship to perpetrator is not known")


# =====================================================================================================
# deterministic pseudo-random helpers (stdlib only; stable across platforms and Python versions)
# =====================================================================================================


class _Rng:
    """Seeded generator built only on ``random.Random.random()`` (whose stream Python keeps stable)."""

    def __init__(self, seed: int, stream: str) -> None:
        # str seeds are hashed with SHA-512 (seed version 2): independent of PYTHONHASHSEED.
        self._r = random.Random(f"hemistat-synthetic:{int(seed)}:{stream}")

    def random(self) -> float:
        return self._r.random()

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self._r.random()

    def chance(self, p: float) -> bool:
        return self._r.random() < p

    def normal(self) -> float:
        u1 = 1.0 - self._r.random()  # (0, 1]
        u2 = self._r.random()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)

    def lognormal(self, sigma: float) -> float:
        return math.exp(sigma * self.normal())

    def poisson(self, lam: float) -> int:
        if lam <= 0.0:
            return 0
        if lam < 20.0:  # Knuth
            limit, k, p = math.exp(-lam), 0, 1.0
            while True:
                p *= self._r.random()
                if p <= limit:
                    return k
                k += 1
        return max(0, math.floor(lam + math.sqrt(lam) * self.normal() + 0.5))


def _csv_text(rows: list[list[str]] | list[tuple[str, ...]], *, delimiter: str = ",", lineterminator: str) -> str:
    buf = io.StringIO(newline="")
    csv.writer(buf, delimiter=delimiter, lineterminator=lineterminator).writerows(rows)
    return buf.getvalue()


def _fmt_rate_snic(x: float) -> str:
    """SNIC-provincias rate: ``.`` decimal, 8 significant digits, no leading zero (``.52465624``)."""
    if x == 0:
        return "0"
    s = f"{x:.8g}"
    if "e" in s:  # not reachable at the scales used here; keep plain notation anyway
        s = f"{x:.12f}".rstrip("0").rstrip(".")
    return s[1:] if s.startswith("0.") else s


def _fmt_rate_pais(x: float) -> str:
    """SNIC-pais rate: decimal comma, leading zero dropped (``,72102064``)."""
    return _fmt_rate_snic(x).replace(".", ",")


def _fmt_cts(x: float) -> str:
    """UNODC VALUE: integers as integers, rates with up to 15 significant digits."""
    if x == 0:
        return "0"
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.15g}"


# =====================================================================================================
# generators -- each returns the exact bytes of one file
# =====================================================================================================


def _sesnsp_estatal(seed: int) -> tuple[bytes, int]:
    rng = _Rng(seed, "mx_sesnsp")
    # state weight ~ population**0.8 (keeps the biggest states from dominating), normalised to mean 1
    weight_sum = sum(p ** 0.8 for _, p in SESNSP_STATES.values())
    weight = {k: len(SESNSP_STATES) * p ** 0.8 / weight_sum for k, (_, p) in SESNSP_STATES.items()}
    state_mult = {k: rng.lognormal(0.2) for k in SESNSP_STATES}
    cell_mult = {(k, i): rng.lognormal(0.25) for k in SESNSP_STATES for i in range(len(_SESNSP_CRIMES))}
    growth = [rng.uniform(-0.06, 0.06) for _ in _SESNSP_CRIMES]
    season = [1.0 + 0.08 * math.sin(2.0 * math.pi * (m - 3) / 12.0) for m in range(12)]
    last_year = SESNSP_YEARS[-1]

    rows: list[tuple[str, ...]] = [SESNSP_HEADER]
    for year in SESNSP_YEARS:
        for clave, (entidad, _pop) in SESNSP_STATES.items():
            for i, (bien, tipo, subtipo, modalidad, mean) in enumerate(_SESNSP_CRIMES):
                lam = (mean * weight[clave] * state_mult[clave] * cell_mult[(clave, i)]
                       * (1.0 + growth[i]) ** (year - 2022))
                months = []
                for m in range(12):
                    if year == last_year and m == 11:
                        months.append("")  # December of the last year not yet reported: empty, not 0
                    else:
                        months.append(str(rng.poisson(lam * season[m])))
                rows.append((str(year), str(clave), entidad, bien, tipo, subtipo, modalidad, *months))
    text = _csv_text(rows, lineterminator="\r\n")
    return text.encode(SESNSP_ENCODING), len(rows) - 1


def _snic_codes(prov_id: str, year: int) -> list[str]:
    codes: list[str] = []
    for parent in SNIC_PARENTS:
        codes.append(parent)
        if parent in SNIC_CHILDREN:
            first, children = SNIC_CHILDREN[parent]
            early = parent == "29" and year == 2016 and prov_id in SNIC_29_EARLY_PROVINCES
            if year >= first or early:
                codes.extend(children)
    return codes


def _snic_pais_order(codes: set[str]) -> list[str]:
    """National file order: parents numerically, children sorted as text (``28_1, 28_10, 28_2``)."""
    out: list[str] = []
    for parent in SNIC_PARENTS:
        if parent in codes:
            out.append(parent)
            out.extend(sorted(c for c in codes if c.split("_")[0] == parent and "_" in c))
    return out


def _snic(seed: int) -> tuple[bytes, bytes, int, int]:
    rng = _Rng(seed, "ar_snic")
    growth = 0.009
    male_share = {p: rng.uniform(0.475, 0.495) for p in SNIC_PROVINCES}
    prov_mult = {p: rng.lognormal(0.2) for p in SNIC_PROVINCES}
    cell_mult = {(p, c): rng.lognormal(0.3) for p in SNIC_PROVINCES for c in _SNIC_CODES}
    trend = {c: rng.uniform(-0.05, 0.05) for c in _SNIC_CODES}

    def pops(prov: str, year: int) -> tuple[int, int, int]:
        total = math.floor(SNIC_PROVINCES[prov][1] * 1e6 * (1.0 + growth) ** (year - 2022) + 0.5)
        male = math.floor(total * male_share[prov] + 0.5)
        return total, male, total - male

    def victims_split(code: str, hechos: int) -> list[int]:
        vr, ms, fs = _SNIC_CODES[code][3:6]
        v = hechos + (rng.poisson(hechos * (vr - 1.0)) if vr > 1.0 else 0)
        share_m = min(1.0, ms * rng.uniform(0.9, 1.1))
        share_f = min(1.0 - share_m, fs * rng.uniform(0.9, 1.1))
        m = math.floor(v * share_m + 0.5)
        f = min(v - m, math.floor(v * share_f + 0.5))
        return [v, m, f, v - m - f]

    national: dict[tuple[int, str], list[int]] = {}
    national_pop: dict[int, list[int]] = {}
    prov_rows: list[tuple[str, ...]] = [SNIC_PROV_HEADER]
    for prov, (prov_name, _) in SNIC_PROVINCES.items():
        for year in SNIC_PROV_YEARS:
            pop, male, female = pops(prov, year)
            npop = national_pop.setdefault(year, [0, 0, 0])
            npop[0] += pop
            npop[1] += male
            npop[2] += female
            codes = _snic_codes(prov, year)
            present = set(codes)
            values: dict[str, list[int]] = {}  # code -> [hechos, v, m, f, sd]
            # leaves first, then parents = sum of their children + a small remainder
            for code in codes:
                is_parent_with_children = code in SNIC_CHILDREN and SNIC_CHILDREN[code][1][0] in present
                if is_parent_with_children:
                    continue
                rate = _SNIC_CODES[code][2]
                lam = (rate * pop / 1e5 * prov_mult[prov] * cell_mult[(prov, code)]
                       * (1.0 + trend[code]) ** (year - 2022))
                h = rng.poisson(lam)
                values[code] = [h, *victims_split(code, h)] if _SNIC_CODES[code][3] > 0 else [h, 0, 0, 0, 0]
            for code in codes:
                if code in values:
                    continue
                kids = [values[c] for c in SNIC_CHILDREN[code][1]]
                summed = [sum(col) for col in zip(*kids)]
                rem_h = rng.poisson(0.01 * summed[0] + 0.5)
                if _SNIC_CODES[code][3] > 0:
                    rem = victims_split(code, rem_h)
                    values[code] = [summed[0] + rem_h] + [a + b for a, b in zip(summed[1:], rem)]
                else:
                    values[code] = [summed[0] + rem_h, 0, 0, 0, 0]
            for code in codes:
                h, v, m, f, sd = values[code]
                acc = national.setdefault((year, code), [0, 0, 0, 0, 0])
                for j, x in enumerate((h, v, m, f, sd)):
                    acc[j] += x
                name = _SNIC_CODES[code][0]
                if _SNIC_CODES[code][3] > 0:
                    vic = [str(v), str(m), str(f), str(sd)]
                    vic_rates = [_fmt_rate_snic(v / pop * 1e5), _fmt_rate_snic(m / male * 1e5),
                                 _fmt_rate_snic(f / female * 1e5)]
                elif year <= 2016:  # victims not counted: empty cells (2016 and earlier releases)
                    vic, vic_rates = ["", "", "", ""], ["", "", ""]
                else:  # from 2017 the provincial file writes 0 instead
                    vic, vic_rates = ["0", "0", "0", "0"], ["0", "0", "0"]
                prov_rows.append((prov, prov_name, str(year), code, name, str(h), *vic,
                                  _fmt_rate_snic(h / pop * 1e5), *vic_rates))

    pais_rows: list[tuple[str, ...]] = [SNIC_PAIS_HEADER]
    for year in SNIC_PAIS_YEARS:
        pop, male, female = national_pop[year]
        for code in _snic_pais_order({c for (y, c) in national if y == year}):
            h, v, m, f, sd = national[(year, code)]
            name = _SNIC_CODES[code][1]
            assert name is not None, code
            if _SNIC_CODES[code][3] > 0:
                vic = [str(v), str(m), str(f), str(sd)]
                vic_rates = [_fmt_rate_pais(v / pop * 1e5), _fmt_rate_pais(m / male * 1e5),
                             _fmt_rate_pais(f / female * 1e5)]
            else:
                vic, vic_rates = ["", "", "", ""], ["", "", ""]
            pais_rows.append((str(year), code, name, str(h), *vic, _fmt_rate_pais(h / pop * 1e5), *vic_rates))

    prov_bytes = _csv_text(prov_rows, lineterminator="\r\n").encode("utf-8")
    pais_bytes = _csv_text(pais_rows, delimiter=";", lineterminator="\r\n").encode("utf-8")
    return prov_bytes, pais_bytes, len(prov_rows) - 1, len(pais_rows) - 1


def _cts(seed: int) -> tuple[bytes, bytes, int, int]:
    rng = _Rng(seed, "unodc_cts")
    isos = sorted(CTS_COUNTRIES)
    pop: dict[tuple[str, int], tuple[int, int, int]] = {}
    for iso in isos:
        g = rng.uniform(0.0, 0.012)
        for year in CTS_YEARS:
            total = math.floor(CTS_COUNTRIES[iso][3] * 1e6 * (1.0 + g) ** (year - 2020) + 0.5)
            male = math.floor(total * rng.uniform(0.485, 0.495) + 0.5)
            pop[(iso, year)] = (total, male, total - male)

    # offence counts (every country, every year; only "reported" cells are written)
    offence_cats = [c[2] for c in _CTS_VIOLENT + _CTS_ECONOMIC if c[1] == "by type of offence"]
    counts: dict[tuple[str, str, str, int], int] = {}  # (iso, category, sex, year) -> count
    for iso in isos:
        for cat in offence_cats:
            if cat in _CTS_CHILDREN:
                continue
            mult, g = rng.lognormal(0.5), rng.uniform(-0.08, 0.08)
            for year in CTS_YEARS:
                lam = _CTS_BASE_RATE[cat] * pop[(iso, year)][0] / 1e5 * mult * (1.0 + g) ** (year - 2020)
                counts[(iso, cat, "Total", year)] = rng.poisson(lam)
        for parent, children in _CTS_CHILDREN.items():
            mult = rng.lognormal(0.5)
            for year in CTS_YEARS:
                summed = sum(counts[(iso, c, "Total", year)] for c in children)
                own = _CTS_BASE_RATE.get(parent)
                lam = own * pop[(iso, year)][0] / 1e5 * mult if own else 0.02 * summed
                counts[(iso, parent, "Total", year)] = summed + rng.poisson(lam)
        # victims by relationship to perpetrator, derived from the offence counts
        for indicator, base_cat, male_share, rel_weights in (
            ("Victims of serious assault", "Serious assault", 0.62, (0.25, 0.20, 0.35, 0.20)),
            ("Victims of sexual violence", "Sexual violence", 0.12, (0.35, 0.30, 0.15, 0.20)),
        ):
            for year in CTS_YEARS:
                total_v = counts[(iso, base_cat, "Total", year)] * rng.uniform(0.6, 0.9)
                for sex, sshare in (("Male", male_share), ("Female", 1.0 - male_share)):
                    for rel, w in zip(_CTS_RELATIONSHIPS, rel_weights):
                        counts[(iso, f"{indicator}|{rel}", sex, year)] = rng.poisson(total_v * sshare * w)

    # which cells are reported (the real export is sparse)
    reported: dict[tuple[str, str, str, int], bool] = {}
    for iso in isos:
        full = iso in CTS_FULL_REPORTERS
        for combo in _CTS_VIOLENT + _CTS_ECONOMIC:
            indicator, dimension, cat, sex, _age = combo
            is_victim = dimension == "by relationship to perpetrator"
            if is_victim:
                series = iso in CTS_VICTIM_REPORTERS and (full or rng.chance(0.85))
            else:
                series = full or rng.chance(0.8)
            for year in CTS_YEARS:
                reported[(iso, indicator, cat, sex, year)] = series and (full or not rng.chance(0.08))

    def key(iso: str, combo: tuple[str, str, str, str, str], year: int) -> tuple[str, str, str, int]:
        indicator, dimension, cat, sex, _ = combo
        if dimension == "by relationship to perpetrator":
            return (iso, f"{indicator}|{cat}", sex, year)
        return (iso, cat, sex, year)

    def build(combos: tuple[tuple[str, str, str, str, str], ...]) -> tuple[bytes, int]:
        rows: list[tuple[str, ...]] = [CTS_HEADER]
        for unit in CTS_UNITS:
            for combo in combos:
                indicator, dimension, cat, sex, age = combo
                for year in CTS_YEARS:
                    for iso in isos:
                        if not reported[(iso, indicator, cat, sex, year)]:
                            continue
                        n = counts[key(iso, combo, year)]
                        total, male, female = pop[(iso, year)]
                        denom = {"Total": total, "Male": male, "Female": female}[sex]
                        value = _fmt_cts(n) if unit == "Counts" else _fmt_cts(n / denom * 1e5)
                        country, region, subregion, _ = CTS_COUNTRIES[iso]
                        rows.append((iso, country, region, subregion, indicator, dimension, cat, sex, age,
                                     str(year), unit, value, CTS_SOURCES.get(iso, "CTS")))
        preamble = f"{CTS_PREAMBLE}\n{CTS_RELEASE_DATE},,,,,,,,,,,,\n"
        return (preamble + _csv_text(rows, lineterminator="\n")).encode("utf-8"), len(rows) - 1

    violent, n_violent = build(_CTS_VIOLENT)
    economic, n_economic = build(_CTS_ECONOMIC)
    return violent, economic, n_violent, n_economic


# =====================================================================================================
# public API
# =====================================================================================================

_LABEL = ("SYNTHETIC DATA generated by hemistat (pipelines/samples/synthetic.py). NOT official statistics: every number "
          "is invented by a seeded pseudo-random generator.")

_PROVENANCE = {
    "mx_sesnsp": "imitates the layout of SESNSP \"Incidencia delictiva del fuero común\" state file (IDEFC_NM, "
                 "`estatal.csv`): cp1252, CRLF, `,`, wide months, last year's `Diciembre` empty.",
    "ar_snic": "imitates the layout of SNIC `snic-provincias.csv` (UTF-8, CRLF, `,`, rates `.52465624`) and "
               "`snic-pais.csv` (`;`, decimal comma `,72102064`). National = sum of provinces.",
    "unodc_cts": "imitates the layout of UNODC data-portal CTS exports (UTF-8, LF, two preamble lines, header on "
                 "line 3, long format with Counts and Rate per 100,000 population).",
}


def _readme(seed: int, counts: dict[str, list[tuple[str, int]]]) -> str:
    lines = [
        "# SYNTHETIC sample -- not official statistics",
        "",
        f"{_LABEL}",
        "",
        "These files were generated by the hemistat project's own code (`python -m pipelines.samples.synthetic OUT_DIR`,",
        f"seed {seed}) so that the pipeline can be demonstrated and tested on a machine without the real national",
        "files. They reproduce the *formats* of the real files exactly (encodings, delimiters, line endings, headers,",
        "category labels, number formats, known quirks) but **all values are synthetic**: the numbers say nothing",
        "about the real countries, states and provinces whose names they carry and must never be cited, published",
        "or compared with official figures as if they were data.",
        "",
        "Output is deterministic: the same seed always gives byte-identical files.",
        "",
        "| source | file | data rows |",
        "|---|---|---|",
    ]
    for source, files in counts.items():
        for name, n in files:
            lines.append(f"| {source} | `{name}` | {n} |")
    lines += [
        "",
        "Internal consistency built in: SNIC national rows = sum of the provinces; parent offence codes >= sum of",
        "their children (SNIC and UNODC); victims = male + female + sex not determined; every rate = count /",
        "synthetic population x 100,000.",
        "",
    ]
    return "\n".join(lines)


def _provenance(source: str, seed: int) -> str:
    return (f"# {source} -- SYNTHETIC\n\n{_LABEL}\n\nGenerator: `pipelines/samples/synthetic.py`, seed {seed}. "
            f"This folder {_PROVENANCE[source]}\nSee `../{README_NAME}`.\n")


def generate_sample(out_dir: Path, seed: int = DEFAULT_SEED) -> dict[str, list[Path]]:
    """Write the synthetic sample under ``out_dir/<source_id>/`` and return ``{source_id: [data file paths]}``.

    Also writes ``out_dir/SYNTHETIC_README.md`` and a ``PROVENANCE.md`` in each source folder saying the data
    are synthetic.  Existing files with the same names are overwritten; nothing else in ``out_dir`` is touched.
    """
    out_dir = Path(out_dir)
    seed = int(seed)
    estatal, n_estatal = _sesnsp_estatal(seed)
    provincias, pais, n_prov, n_pais = _snic(seed)
    violent, economic, n_violent, n_economic = _cts(seed)
    contents: dict[str, list[tuple[str, bytes, int]]] = {
        "mx_sesnsp": [("estatal.csv", estatal, n_estatal)],
        "ar_snic": [("snic-provincias.csv", provincias, n_prov), ("snic-pais.csv", pais, n_pais)],
        "unodc_cts": [("data_cts_violent_and_sexual_crime.csv", violent, n_violent),
                      ("data_cts_corruption_and_economic_crime.csv", economic, n_economic)],
    }
    written: dict[str, list[Path]] = {}
    for source, files in contents.items():
        folder = out_dir / source
        folder.mkdir(parents=True, exist_ok=True)
        written[source] = []
        for name, data, _ in files:
            path = folder / name
            path.write_bytes(data)
            written[source].append(path)
        (folder / "PROVENANCE.md").write_bytes(_provenance(source, seed).encode("utf-8"))
    summary = {s: [(name, n) for name, _, n in files] for s, files in contents.items()}
    (out_dir / README_NAME).write_bytes(_readme(seed, summary).encode("utf-8"))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.samples.synthetic",
                                     description="Write hemistat's deterministic SYNTHETIC sample "
                                                 "(not official statistics).")
    parser.add_argument("out_dir", type=Path, help="folder to write <source_id>/ sub-folders into")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    args = parser.parse_args(argv)
    written = generate_sample(args.out_dir, seed=args.seed)
    for source, paths in written.items():
        for path in paths:
            print(f"{source}\t{path}\t{path.stat().st_size} bytes")
    print(f"SYNTHETIC sample (seed {args.seed}) written to {args.out_dir}; see {args.out_dir / README_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
