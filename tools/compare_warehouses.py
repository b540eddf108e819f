"""Compare the published tables of two hemistat warehouses (before / after a restructure).

    .venv/bin/python tools/compare_warehouses.py A/hemistat.duckdb B/hemistat.duckdb

Every table and view of schema ``published`` (and ``reference``) is compared as a multiset of rows, after
leaving out what differs by construction between two runs: submission ids (the received date is in them),
release ids, timestamps and paths. Columns present in only one warehouse (a new column) are named and left
out. A column whose type changed (DOUBLE -> BIGINT) is compared by value and the change is named. Exit 0 when
identical, 1 with a per-table summary otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

from pipelines.storage.release import connect

# columns that name a run rather than a value: left out of the comparison
VOLATILE = {"submission_id", "old_submission_id", "new_submission_id", "release_id", "received_at", "published_at",
            "report_path", "status_detail", "indicator_id", "file_name", "validated_path", "detail", "submissions",
            "uploaded_by", "superseded_by", "sha256"}


def relations(con) -> list[tuple[str, str]]:
    return [(s, n) for s, n in con.execute(
        "select schema_name, view_name from duckdb_views() where schema_name in ('published', 'reference') "
        "and not internal union select schema_name, table_name from duckdb_tables() "
        "where schema_name in ('published', 'reference') order by 1, 2").fetchall()]


def columns(con, schema: str, name: str) -> list[str]:
    return [r[0] for r in con.execute(f'describe "{schema}"."{name}"').fetchall()]


def types(con, schema: str, name: str) -> dict[str, str]:
    return {r[0]: r[1] for r in con.execute(f'describe "{schema}"."{name}"').fetchall()}


NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL")


def _numeric(t: str) -> bool:
    return t.upper().startswith(NUMERIC)


def fingerprint(con, schema: str, name: str, keep: list[str], as_double: set[str] = frozenset(),
                as_text: set[str] = frozenset()) -> tuple[int, str]:
    """Row count and an order-independent hash of the rows over ``keep`` (identifiers from DESCRIBE). Columns
    whose type differs between the two warehouses are compared by value: numbers as DOUBLE, others as text."""
    if not keep:
        return con.execute(f'select count(*), \'\' from "{schema}"."{name}"').fetchone()
    sel = ", ".join(f'cast("{c}" as double) as "{c}"' if c in as_double else
                    f'cast("{c}" as varchar) as "{c}"' if c in as_text else f'"{c}"' for c in keep)
    cols = ", ".join(f'"{c}"' for c in keep)
    n, h = con.execute(f'select count(*), coalesce(bit_xor(hash(row({cols}))), 0)::varchar '
                       f'from (select {sel} from "{schema}"."{name}")').fetchone()
    return n, h


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a")
    ap.add_argument("b")
    args = ap.parse_args(argv)
    ca, cb = connect(Path(args.a)), connect(Path(args.b))
    ra, rb = set(relations(ca)), set(relations(cb))
    differ = 0
    for s, n in sorted(ra | rb):
        if (s, n) not in ra or (s, n) not in rb:
            print(f"{s}.{n}: only in {'A' if (s, n) in ra else 'B'}")
            differ += 1
            continue
        try:
            cols_a, cols_b = columns(ca, s, n), columns(cb, s, n)
            keep = [c for c in cols_a if c in cols_b and c not in VOLATILE]
            ta, tb = types(ca, s, n), types(cb, s, n)
            changed = {c: (ta[c], tb[c]) for c in keep if ta[c] != tb[c]}
            as_double = {c for c, (x, y) in changed.items() if _numeric(x) and _numeric(y)}
            as_text = set(changed) - as_double
            fa = fingerprint(ca, s, n, keep, as_double, as_text)
            fb = fingerprint(cb, s, n, keep, as_double, as_text)
        except duckdb.Error as exc:   # a view over files that are not there any more
            print(f"{s}.{n}: not comparable ({str(exc).splitlines()[0]})")
            differ += 1
            continue
        same = fa == fb
        differ += not same
        extra = sorted(set(cols_a) ^ set(cols_b))
        print(f"{s}.{n}: {'same' if same else 'DIFFERENT'} ({fa[0]:,} vs {fb[0]:,} rows, {len(keep)} columns "
              f"compared{'; only in one: ' + ', '.join(extra) if extra else ''}"
              f"{'; type changed: ' + ', '.join(f'{c} {x} -> {y}' for c, (x, y) in changed.items()) if changed else ''})")
    print("identical" if not differ else f"{differ} relation(s) differ")
    return 0 if not differ else 1


if __name__ == "__main__":
    sys.exit(main())
