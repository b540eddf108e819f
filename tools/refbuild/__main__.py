"""``python -m tools.refbuild [--shared DIR] [--out DIR]`` - rebuild the reference tables."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.refbuild.common import SHARED_ENV, RefBuildError, default_out_dir, default_shared_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.refbuild",
        description="Build reference/ (ICCS code list, OAS members, population denominators) from the real source files.",
    )
    parser.add_argument(
        "--shared",
        type=Path,
        default=None,
        help=f"folder with the real source files (default: ${SHARED_ENV} or <repo>/../shared/data/real)",
    )
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: <repo>/reference)")
    args = parser.parse_args(argv)
    shared = args.shared or default_shared_dir()
    out = args.out or default_out_dir()

    from tools.refbuild.build import build_all

    try:
        report = build_all(shared, out)
    except RefBuildError as exc:
        print(f"refbuild: FAILED: {exc}", file=sys.stderr)
        return 1
    for rel in report.written:
        print(f"written   {out / rel}" + (f"  ({report.rows[rel]} rows)" if rel in report.rows else ""))
    for rel in report.unchanged:
        print(f"unchanged {out / rel}" + (f"  ({report.rows[rel]} rows)" if rel in report.rows else ""))
    for w in report.warnings:
        print(f"WARNING: {w}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
