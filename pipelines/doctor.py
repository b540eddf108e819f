"""`hemistat doctor`: is everything hemistat needs present and valid? One (name, ok, detail) per check."""

from __future__ import annotations

import os

from pipelines.settings import Settings


def run_checks(settings: Settings) -> list[tuple[str, bool, str]]:
    out: list[tuple[str, bool, str]] = []

    def check(name, fn):
        try:
            detail = fn() or ""
            out.append((name, True, detail))
        except Exception as exc:  # noqa: BLE001 - doctor reports every failure, never crashes
            out.append((name, False, f"{type(exc).__name__}: {exc}"))

    from pipelines.harmonise import reference as ref

    check("reference/iccs/iccs.csv", lambda: f"{len(ref.iccs(settings.reference_dir))} codes")
    check("reference/countries/oas_members.csv", lambda: f"{len(ref.countries(settings.reference_dir))} states")
    check("reference/population/national.csv",
          lambda: f"{len(ref.population_national(settings.reference_dir))} rows")
    check("reference/population/subnational.csv",
          lambda: f"{len(ref.population_subnational(settings.reference_dir))} rows")

    def _schemas():
        from pipelines.refcheck import check_all_tables

        n = check_all_tables(settings.reference_dir)
        return f"{n} table(s) match their schema"

    check("reference tables against their schemas", _schemas)

    from pipelines.adapters.spec import load_all_specs

    specs = {}

    def _specs():
        specs.update(load_all_specs(settings.reference_dir))
        return ", ".join(sorted(specs))

    check("source specs (reference/sources/*.yaml)", _specs)

    def _xw(spec):
        def inner():
            x = ref.crosswalk(settings.reference_dir, spec.crosswalk)
            codes = set(ref.iccs(settings.reference_dir)["code"])
            bad = sorted(set(x["iccs_code"].dropna()) - codes)
            if bad:
                raise ValueError(f"ICCS codes not in reference/iccs: {', '.join(bad)}")
            if x["national_code"].duplicated().any():
                raise ValueError("duplicate national_code rows")
            return f"{len(x)} rows, {int(x['iccs_code'].isna().sum())} no_match"
        return inner

    for sid, spec in sorted(specs.items()):
        check(f"crosswalk {spec.crosswalk} for {sid}", _xw(spec))

    def _data():
        settings.ensure_dirs()
        if not os.access(settings.data_dir, os.W_OK):
            raise PermissionError(f"{settings.data_dir} is not writable")
        return str(settings.data_dir)

    check("data folder", _data)
    out.append(("real national files", True,
                str(settings.shared_dir) if settings.shared_dir.is_dir()
                else f"{settings.shared_dir} absent: `hemistat run` will use the synthetic sample"))
    return out
