"""Build the committed reference tables under ``reference/`` from the real source files.

Run ``python -m tools.refbuild [--shared DIR] [--out DIR]``. The build reads the read-only
source files in the shared folder (default ``<repo>/../shared/data/real``, overridable with the
environment variable ``HEMISTAT_SHARED_DIR`` or ``--shared``) and (re)writes:

* ``reference/iccs/``        iccs.csv, iccs_notes.csv, iccs.schema.json, iccs_notes.schema.json, PROVENANCE.md
* ``reference/countries/``   oas_members.csv, oas_members.schema.json, PROVENANCE.md
* ``reference/population/``  national.csv, subnational.csv (+ .schema.json each), PROVENANCE.md

The output is deterministic: re-running on the same inputs reproduces the files byte-for-byte
(PROVENANCE.md keeps its build date when nothing else in it changed).

This package never imports Dagster and builds no SQL.
"""

from tools.refbuild.common import RefBuildError

__all__ = ["RefBuildError"]
