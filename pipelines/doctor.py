"""`hemistat doctor`: is everything hemistat needs present and valid? One (name, ok, detail) per check.

With ``files=[(source_id, path), ...]`` (``hemistat doctor --file PATH --source S``) it also reads each
file with its source spec (nothing stored) and lists the national codes the source's crosswalk does not
map yet, each with the ICCS codes that best fit it by the ICCS definitions (``pipelines.onboarding``).

Every failure ends with the section of docs/ONBOARDING.md that fixes it (``pipelines/docs_ref.py``)."""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.docs_ref import see, section_for_check, section_for_problem
from pipelines.settings import Settings


def _with_section(name: str, detail: str) -> str:
    """``detail`` ending with the guide's section for check ``name`` (unless it names one already)."""
    if "docs/ONBOARDING.md#" in detail:
        return detail
    return f"{detail} ({see(section_for_check(name))})"


def run_checks(settings: Settings, files: list[tuple[str, Path]] | None = None) -> list[tuple[str, bool, str]]:
    out: list[tuple[str, bool, str]] = []

    def check(name, fn):
        try:
            detail = fn() or ""
            out.append((name, True, detail))
        except Exception as exc:  # noqa: BLE001 - doctor reports every failure, never crashes
            out.append((name, False, _with_section(name, f"{type(exc).__name__}: {exc}")))

    from pipelines.harmonise import reference as ref

    check("reference/iccs/iccs.csv", lambda: f"{len(ref.iccs(settings.reference_dir))} codes")
    check("reference/countries/oas_members.csv", lambda: f"{len(ref.countries(settings.reference_dir))} states")
    check("reference/population/national.csv",
          lambda: f"{len(ref.population_national(settings.reference_dir))} rows")
    check("reference/population/subnational.csv",
          lambda: f"{len(ref.population_subnational(settings.reference_dir))} rows")

    def _schemas():
        from pipelines.contracts.table_schema import check_all_tables

        n = check_all_tables(settings.reference_dir)
        return f"{n} table(s) match their schema"

    check("reference tables against their schemas", _schemas)

    from pipelines.specs import check_all_specs

    specs = {}

    def _specs():
        # every spec is read and every problem of every spec reported (the same messages as at load)
        good, errors = check_all_specs(settings.reference_dir)
        specs.update(good)
        if errors:
            raise ValueError("\n  - " + "\n  - ".join(errors))
        return ", ".join(sorted(specs))

    check("source specs (reference/sources/*.yaml)", _specs)

    def _xw(name):
        def inner():
            from pipelines.harmonise.crosswalk_check import check_form, crosswalk_path, read_rows
            from pipelines.specs.crosswalk import iccs_code_set, row_errors

            problems = check_form(settings.reference_dir, name)
            if not problems:   # the rows as the loader checks them (CrosswalkRow)
                problems = row_errors(crosswalk_path(settings.reference_dir, name),
                                      read_rows(settings.reference_dir, name), iccs_code_set(settings.reference_dir))
            if problems:
                more = f"; … and {len(problems) - 10} more" if len(problems) > 10 else ""
                raise ValueError("; ".join(problems[:10]) + more)
            x = ref.crosswalk(settings.reference_dir, name)
            return f"{len(x)} rows, {int(x['iccs_code'].isna().sum())} no_match"
        return inner

    served = set()
    for sid, spec in sorted(specs.items()):
        served.add(spec.crosswalk)
        check(f"crosswalk {spec.crosswalk} for {sid}", _xw(spec.crosswalk))
    for p in sorted((settings.reference_dir / "crosswalks").glob("*.csv")):
        if p.stem not in served:      # no spec loaded for it (a broken spec): the file is still checked
            check(f"crosswalk {p.stem}", _xw(p.stem))

    def _rules():
        from pipelines.quality.rules import load_rules

        if not specs:
            return "not checked: no source spec loads"
        n = len(load_rules(settings.rules_dir, None, reference_dir=settings.reference_dir))
        return f"{n} rules"

    check("quality rules (quality_rules/*.yaml)", _rules)

    def _data():
        settings.ensure_dirs()
        if not os.access(settings.data_dir, os.W_OK):
            raise PermissionError(f"{settings.data_dir} is not writable")
        return str(settings.data_dir)

    check("data folder", _data)
    for source_id, path in files or []:
        out.append(_file_codes(settings, source_id, Path(path)))
    out.append(("real national files", True,
                str(settings.shared_dir) if settings.shared_dir.is_dir()
                else f"{settings.shared_dir} absent: `hemistat run` will use the synthetic sample"))
    return out


def _file_codes(settings: Settings, source_id: str, path: Path) -> tuple[str, bool, str]:
    """Every national code of ``path`` has a crosswalk row? If not, list them with ICCS suggestions."""
    from pipelines.adapters import SubmissionError, load_spec
    from pipelines.onboarding.unmapped import format_unmapped, unmapped_codes

    name = f"national codes of {path.name} ({source_id})"
    try:
        spec = load_spec(source_id, settings.reference_dir)
        df = unmapped_codes(settings, source_id, path)
    except SubmissionError as exc:
        shown = "\n".join(f"  - {p} ({see(section_for_problem(p))})" for p in exc.problems[:20])
        more = f"\n  … and {len(exc.problems) - 20} more" if len(exc.problems) > 20 else ""
        return name, False, f"the file cannot be read with the spec: {len(exc.problems)} problem(s)\n{shown}{more}"
    except KeyError as exc:
        msg = str(exc.args[0] if exc.args else exc)
        return name, False, msg if "docs/ONBOARDING.md#" in msg else f"{msg} ({see('source-spec')})"
    except Exception as exc:  # noqa: BLE001 - doctor reports every failure, never crashes
        return name, False, _with_section(name, f"{type(exc).__name__}: {exc}")
    if df.empty:
        return name, True, f"every national code is in reference/crosswalks/{spec.crosswalk}.csv"
    return name, False, format_unmapped(df, crosswalk=spec.crosswalk)
