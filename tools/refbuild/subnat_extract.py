"""Extract compact subnational population tables from public GitHub snapshots (run by hand, rarely).

``python -m tools.refbuild.subnat_extract --mirrors DIR [bra] [col] [cri]``

Some official subnational population files are too large to commit (IBGE: seven ~0.8 MB .xls
workbooks; INEC Costa Rica: a 2.7 MB workbook by district, age and sex; DANE via epiCo: a 1.7 MB R
data file). This script reads them from local snapshots of the public repositories that mirror them
(``DIR/<owner>+<name>/repo``, a bare git directory as produced by the project's ``fetch`` tool, or any
clone), pinned to the commit and blob listed in ``MIRRORS`` below, and writes one small CSV per
country to ``reference/population/sources/<iso3>/``. ``python -m tools.refbuild`` then builds
``subnational.csv`` from those committed extracts (it never needs the snapshots).

The extract keeps the figures exactly as published (no interpolation, no rounding): each row says
from which file, sheet and row (or which columns were summed) it comes. Every input blob is checked
against its recorded git blob id and sha256 before it is read; a different file stops the script.

Reading .xls and .rds needs two packages that are NOT project dependencies (they are needed only
here): ``xlrd`` (2.0.1) and ``rdata`` (0.11+). Run e.g.::

    uv run --with xlrd==2.0.1 --with rdata python -m tools.refbuild.subnat_extract --mirrors /work/.mirror

Chile needs no extract: the INE regional file is small and committed verbatim.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tools.refbuild.common import REPO_ROOT, RefBuildError, csv_bytes, write_if_changed

SOURCES_DIR = REPO_ROOT / "reference" / "population" / "sources"


@dataclass(frozen=True)
class MirrorFile:
    repo: str  # owner/name on GitHub
    commit: str
    path: str
    blob: str  # git blob id
    sha256: str

    @property
    def url(self) -> str:
        return f"https://github.com/{self.repo}/blob/{self.commit}/{self.path}"


# --------------------------------------------------------------------------------------------
# Pinned inputs
# --------------------------------------------------------------------------------------------
BR_REPO, BR_COMMIT = "lsbastos/popBR_mun", "d52c26266882c5acf5abee0c90cc9783cb716048"
BR_YEARS = range(2015, 2022)
BR_FILES = {  # year -> (git blob id, sha256)
    2015: ("34d745726a020e67730a80d8e2187e5157bf2b04", "a480ddacc061165f22b4d87525b688e7b01568ed88db1e4568560e09dcbf8a35"),
    2016: ("2651aa3083ebf789c4d7ba6fa41cd03ff23439f8", "6baafe3e2d10cea88bd4c6525983f338c79d424c2f4f29dd7ceaae9c55be603f"),
    2017: ("836f47f50a6bd406886b5816f6e6058ab1292b80", "5e255774eda5436c627728783ec1726d5c62a4a28e2780b85e550d17c77cd34f"),
    2018: ("690744e04ab9d9a1f0addd33bdeae34cb5b6d2e7", "a319229b008109e6a0b7582ee9171cc314cf2c52500c9bc5060277040594b720"),
    2019: ("49ae34e015b1750e42ac766e2e2787aeac8705f3", "6417c8263fc90b65994ab5df526f1b2c586c4d399d034ace886c8307984b71ae"),
    2020: ("e3434b986cec32390bcd68209599b9303712b4ef", "efaf527f7c3e88e7b86e6bd039b5072d151edb62ab0d4d7ccc664f89b409d4a1"),
    2021: ("f19d5ba8f51e6bca5505974331a2a99664752319", "6800abbd5b97fa8fb978bfaa5afa34f800b70ef0c9ac01ea3c3b95325d771736"),
}
CO_REPO, CO_COMMIT = "epiverse-trace/epiCo", "39a45ef43cb7ea40a6261d5a3ba01299e933efaf"
CR_REPO, CR_COMMIT = "zavalat/gestion", "c8222b7bd806944ad9a7379bbbb693309460be8d"


def br_files() -> list[tuple[int, MirrorFile]]:
    return [(y, MirrorFile(BR_REPO, BR_COMMIT, f"brute/estimativa_dou_{y}.xls", *BR_FILES[y])) for y in BR_YEARS]


CO_POP = MirrorFile(CO_REPO, CO_COMMIT, "inst/extdata/population_projection_col_2.rds",
                    "787da365879e4f5742e1c7cfd05a6d494104e36e",
                    "46ae1e761e9de380fd39eaee928a8e981a657a0ad58fca3d14dfa6893fde6472")
CO_DEP = MirrorFile(CO_REPO, CO_COMMIT, "inst/extdata/population_projection_col_1.rds",
                    "56fb6c0d2c339ee9dfe939a026775580f5a67494",
                    "2ca358dc0e5c270a1b3e1b7a29743edd5db2f29f308fc098c2d02695e3ff698e")
CO_NAT = MirrorFile(CO_REPO, CO_COMMIT, "inst/extdata/population_projection_col_0.rds",
                    "ebd93dc0bb0efcd74d1aa83f6c94ba5ad11f933d",
                    "39a3fb937ea3207326e9c78d1c03b4781dceb46c2714e9f50a333b8464b06c30")
CO_DIVIPOLA = MirrorFile(CO_REPO, CO_COMMIT, "inst/extdata/divipola_table.rda",
                         "2f572b43303587971d4296ac72c8bf824c53df02",
                         "59ec55fd5af3bfc042fda83493e5f584396aa9265959813838ab61f4d18890b3")
CR_POP = MirrorFile(CR_REPO, CR_COMMIT, "repoblacev2011-2025-03.xlsx", "8d5a01aa724aff2df216a4fc544f2a1ad5243b04",
                    "4a5f1be8623d32151a18d9eeec5ebffa2ff97a40965b875927f372df36b881f9")

# extract files (relative to SOURCES_DIR) and their headers
BR_OUT = "bra/ibge_estimativas_uf_2015_2021.csv"
BR_HEADER = ["uf_name", "year", "population", "cell_text", "source_path"]
CO_OUT = "col/dane_municipios_2012_2024_epico.csv"
CO_HEADER = ["dpmp", "municipio", "departamento", "year", "population"]
CR_OUT = "cri/inec_provincias_2011_2025.csv"
CR_HEADER = ["province_name", "year", "population", "sheet", "row"]


# --------------------------------------------------------------------------------------------
# Reading pinned blobs
# --------------------------------------------------------------------------------------------
def _git_dir(mirrors: Path, repo: str) -> Path:
    base = mirrors / repo.replace("/", "+")
    for cand in (base / "repo", base):
        if (cand / "HEAD").is_file() or (cand / ".git").exists():
            return cand
    raise RefBuildError(f"snapshot of {repo} not found under {mirrors} (expected {base}/repo)")


def read_blob(mirrors: Path, f: MirrorFile) -> bytes:
    gd = _git_dir(mirrors, f.repo)
    blob = subprocess.run(["git", "--git-dir", str(gd), "rev-parse", f"{f.commit}:{f.path}"],
                          capture_output=True, text=True)
    if blob.returncode != 0:
        raise RefBuildError(f"{f.repo}@{f.commit[:12]}:{f.path} not found: {blob.stderr.strip()}")
    if f.blob and blob.stdout.strip() != f.blob:
        raise RefBuildError(f"{f.repo}:{f.path} is blob {blob.stdout.strip()}, expected {f.blob}")
    data = subprocess.run(["git", "--git-dir", str(gd), "cat-file", "blob", blob.stdout.strip()],
                          capture_output=True, check=True).stdout
    digest = hashlib.sha256(data).hexdigest()
    if f.sha256 and digest != f.sha256:
        raise RefBuildError(f"{f.repo}:{f.path} has sha256 {digest}, expected {f.sha256}")
    return data


# --------------------------------------------------------------------------------------------
# Brazil: IBGE "Estimativas da população residente ... 1º de julho", sheet 'BRASIL E UFs'
# --------------------------------------------------------------------------------------------
# A cell is a number, or text with a footnote mark for states whose estimate was adjusted for a
# boundary change: '3.204.028 (*)', '9.345.173(**)', '3.273.227(1)'.
_BR_TEXT = re.compile(r"^([0-9]{1,3}(?:\.[0-9]{3})+)\s*\((?:\*{1,3}|[0-9])\)$")


def br_cell(value: object, where: str) -> int:
    if isinstance(value, float) and value.is_integer() and value > 0:
        return int(value)
    if isinstance(value, str):
        m = _BR_TEXT.match(value.strip())
        if m:
            return int(m.group(1).replace(".", ""))
    raise RefBuildError(f"{where}: unexpected population cell {value!r}")


def extract_br(mirrors: Path) -> tuple[list[list[object]], list[str]]:
    import xlrd  # noqa: PLC0415 - extract-only dependency

    rows: list[list[object]] = []
    facts: list[str] = []
    for year, f in br_files():
        book = xlrd.open_workbook(file_contents=read_blob(mirrors, f))
        sh = book.sheet_by_name("BRASIL E UFs")
        title = " ".join(str(v) for v in sh.row_values(0) + sh.row_values(1) if v)
        if f"1º DE JULHO DE {year}" not in title.upper():
            raise RefBuildError(f"{f.path}: title does not name 1 July {year}: {title!r}")
        brasil, ufs = None, 0
        for r in range(sh.nrows):
            vals = [v for v in sh.row_values(r) if v != ""]
            if len(vals) != 2 or not isinstance(vals[0], str):
                continue
            name, cell = vals[0].strip(), vals[1]
            if name in ("BRASIL E UNIDADES DA FEDERAÇÃO",) or name.startswith("Região"):
                continue
            pop = br_cell(cell, f"{f.path} row {r + 1}")
            if name == "Brasil":
                brasil = pop
                continue
            rows.append([name, year, pop, cell if isinstance(cell, str) else "", f.path])
            ufs += pop
        if brasil is None:
            raise RefBuildError(f"{f.path}: no 'Brasil' row")
        facts.append(f"{year}: 27 UFs sum to {ufs}, 'Brasil' row {brasil} (difference {ufs - brasil:+d})")
    return rows, facts


# --------------------------------------------------------------------------------------------
# Colombia: DANE projections by municipality, age and sex, as packaged by epiCo (R)
# --------------------------------------------------------------------------------------------
def _r_object(data: bytes, suffix: str):
    """One data frame from an R .rds (serialised object) or .rda (workspace with one object) file."""
    import rdata  # noqa: PLC0415 - extract-only dependency

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"obj{suffix}"
        path.write_bytes(data)
        obj = rdata.read_rds(path) if suffix == ".rds" else rdata.read_rda(path)
    if isinstance(obj, dict):
        (obj,) = obj.values()
    return obj


def _rds(f: MirrorFile, mirrors: Path):
    return _r_object(read_blob(mirrors, f), Path(f.path).suffix)


def _age_sex_total(df, where: str):
    cols = [c for c in df.columns if re.fullmatch(r"(hombres|mujeres)_[0-9]+", str(c))]
    if len(cols) < 100 or df[cols].isna().any().any():
        raise RefBuildError(f"{where}: expected complete hombres_*/mujeres_* age columns, got {len(cols)}")
    tot = df[cols].sum(axis=1)
    if ((tot % 1) != 0).any() or (tot < 0).any():
        raise RefBuildError(f"{where}: non-integer or negative totals")
    return tot.astype("int64"), len(cols)


def extract_co(mirrors: Path) -> tuple[list[list[object]], list[str]]:
    mun, dep, nat, div = (_rds(f, mirrors) for f in (CO_POP, CO_DEP, CO_NAT, CO_DIVIPOLA))
    mun = mun.assign(t=_age_sex_total(mun, CO_POP.path)[0], year=mun["ano"].astype(int))
    ncols = _age_sex_total(mun, CO_POP.path)[1]
    dep = dep.assign(t=_age_sex_total(dep, CO_DEP.path)[0], year=dep["ano"].astype(int))
    nat = nat.assign(t=_age_sex_total(nat, CO_NAT.path)[0], year=nat["ano"].astype(int))
    if not mun["dpmp"].astype(str).str.fullmatch(r"[0-9]{5}").all():
        raise RefBuildError(f"{CO_POP.path}: dpmp is not a 5-digit code everywhere")
    if mun.duplicated(["dpmp", "year"]).any():
        raise RefBuildError(f"{CO_POP.path}: duplicate (dpmp, year)")
    # municipalities must add up to the departments and to the country in every year
    by_dep = mun.assign(dp=mun["dpmp"].str[:2]).groupby(["dp", "year"])["t"].sum()
    dep_t = dep.set_index(["dp", "year"])["t"]
    by_nat = mun.groupby("year")["t"].sum()
    nat_t = nat.set_index("year")["t"]
    if not (by_dep.sort_index().equals(dep_t.sort_index()) and by_nat.sort_index().equals(nat_t.sort_index())):
        raise RefBuildError("epiCo: municipal totals do not add up to the departmental/national files")
    names = {str(r.COD_MPIO): (str(r.NOM_MPIO), str(r.NOM_DPTO)) for r in div.itertuples()}  # COD_MPIO: 5 digits
    dep_names = {str(r.COD_DPTO): str(r.NOM_DPTO) for r in div.itertuples()}
    rows = []
    unnamed = set()
    zero = mun[mun["t"] == 0]
    mun = mun[mun["t"] > 0]
    for r in mun.sort_values(["dpmp", "year"]).itertuples():
        mname, dname = names.get(r.dpmp, ("", dep_names.get(r.dpmp[:2], "")))
        if not mname:
            unnamed.add(r.dpmp)
        rows.append([r.dpmp, mname, dname, r.year, int(r.t)])
    years = sorted(mun["year"].unique())
    facts = [
        f"{mun['dpmp'].nunique()} municipalities x {len(years)} years ({years[0]}-{years[-1]}); total = sum of "
        f"{ncols} age-sex columns (hombres_0..85, mujeres_0..85)",
        "municipalities add up exactly to epiCo's departmental (population_projection_col_1) and national "
        "(population_projection_col_0) files in every year",
        "national totals: " + ", ".join(f"{y} {int(nat_t[y])}" for y in years),
    ]
    if len(zero):
        facts.append("rows with population 0 left out (no rate can be computed): "
                     + ", ".join(f"{d} {y}" for d, y in zip(zero["dpmp"], zero["year"])))
    if unnamed:
        facts.append(f"codes without a name in epiCo's divipola_table: {sorted(unnamed)} (name left empty)")
    return rows, facts


# --------------------------------------------------------------------------------------------
# Costa Rica: INEC "Población total proyectada al 30 de junio ... según provincia, cantón, distrito y sexo"
# --------------------------------------------------------------------------------------------
CR_PROVINCES = ["San José", "Alajuela", "Cartago", "Heredia", "Guanacaste", "Puntarenas", "Limón"]


def _cr_section(rows: list[tuple], start: int, stop: int, where: str) -> list[tuple[str, int, int]]:
    """Province rows between ``start`` (the section's total row) and ``stop``: the first row named
    after each province, in the official order, after the previous province's row."""
    out, i = [], start
    for prov in CR_PROVINCES:
        i = next((j for j in range(i + 1, stop) if rows[j][1] == prov), None)
        if i is None:
            raise RefBuildError(f"{where}: province {prov!r} not found")
        val = rows[i][2]
        nxt = rows[i + 1][2]
        if not isinstance(val, int) or not isinstance(nxt, int) or val <= nxt:
            raise RefBuildError(f"{where} row {i + 1}: {prov!r} total {val!r} is not larger than its first canton {nxt!r}")
        out.append((prov, val, i + 1))
    if sum(v for _, v, _ in out) != rows[start][2]:
        raise RefBuildError(f"{where}: the 7 provinces do not add up to the section total {rows[start][2]}")
    return out


def extract_cr(mirrors: Path) -> tuple[list[list[object]], list[str]]:
    import openpyxl  # noqa: PLC0415

    wb = openpyxl.load_workbook(io.BytesIO(read_blob(mirrors, CR_POP)), read_only=True, data_only=True)
    out: list[list[object]] = []
    facts: list[str] = []
    for sheet in wb.sheetnames:
        year = int(sheet)
        rows = [tuple(r[:4]) + (None,) * (4 - len(r[:4])) for r in wb[sheet].iter_rows(values_only=True)]
        title = " ".join(str(v) for r in rows[:6] for v in r if v)
        if "30 de junio" not in title or str(year) not in title:
            raise RefBuildError(f"{CR_POP.path} sheet {sheet}: unexpected title {title!r}")
        idx = {name: next(i for i, r in enumerate(rows) if r[1] == name) for name in ("Costa Rica", "Hombres", "Mujeres")}
        where = f"{CR_POP.path} sheet {sheet}"
        total = _cr_section(rows, idx["Costa Rica"], idx["Hombres"], where)
        men = _cr_section(rows, idx["Hombres"], idx["Mujeres"], where + " (Hombres)")
        women = _cr_section(rows, idx["Mujeres"], len(rows), where + " (Mujeres)")
        for (p, t, r), (_, h, _), (_, m, _) in zip(total, men, women):
            if t != h + m:
                raise RefBuildError(f"{where}: {p} total {t} != men {h} + women {m}")
            out.append([p, year, t, sheet, r])
        facts.append(f"{year}: Costa Rica {rows[idx['Costa Rica']][2]}")
    facts.insert(0, "in every sheet the 7 province rows add up to the 'Costa Rica' row and equal Hombres + Mujeres")
    return out, facts


# --------------------------------------------------------------------------------------------
EXTRACTORS = {"bra": (extract_br, BR_OUT, BR_HEADER), "col": (extract_co, CO_OUT, CO_HEADER),
              "cri": (extract_cr, CR_OUT, CR_HEADER)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.refbuild.subnat_extract", description=__doc__.split("\n")[0])
    p.add_argument("--mirrors", type=Path, required=True, help="folder with <owner>+<name>/repo git snapshots")
    p.add_argument("countries", nargs="*", help=f"any of {sorted(EXTRACTORS)} (default: all)")
    args = p.parse_args(argv)
    unknown = set(args.countries) - set(EXTRACTORS)
    if unknown:
        p.error(f"unknown countries {sorted(unknown)}; choose from {sorted(EXTRACTORS)}")
    args.countries = args.countries or sorted(EXTRACTORS)
    try:
        for c in args.countries:
            fn, rel, header = EXTRACTORS[c]
            rows, facts = fn(args.mirrors)
            changed = write_if_changed(SOURCES_DIR / rel, csv_bytes(header, rows))
            print(f"{'written  ' if changed else 'unchanged'} {SOURCES_DIR / rel} ({len(rows)} rows)")
            for f in facts:
                print(f"  {f}")
    except RefBuildError as exc:
        print(f"subnat_extract: FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
