"""The ledger of the Voluntary Fund for the Prevention of Violence and Crime (issue 16 item 5).

Data files in ``reference/fund/``:

* ``contributions.csv`` — contributor, country, date, amount, currency, the USD rate used and the USD equivalent,
  earmark and purpose, the source document and where in it (``source_locator``), ``sample`` and ``unverified``
  (fields the source does not confirm, ``;``-separated). The first real record is the Interior Ministry of
  Guatemala's US$ 50,000 (OAS MISPA-V report; see docs/CATALOGUE.md on its year).
* ``activities.csv`` — what the Fund finances: title, earmark, dates, budget (committed) and spent in USD, status
  and the Network outputs it produced (``outputs``: ``kind:id`` separated by ``;``, kinds forum, course,
  practice).

The Fund's own rules (FUN* in ``quality_rules/records/catalogue.yaml``, run by the quality engine): required
fields, no negative, zero or duplicate contribution, USD = amount × rate, known codes, dates in order, an earmark
that exists, spending never above what was received per earmark (commitments above it: a warning). A failing
file stops everything with messages naming file, row and field in the reader's language.

``report`` gives received, committed, spent and balance by year: contributions count in the year of their date,
an activity's budget and spending in the year it starts; the balance is what was received up to the end of the
year minus what was spent up to then. It is computed twice: ``scope = real`` (real records only) and
``scope = with_sample`` (sample activities included), so sample figures never mix silently with real ones.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.knowledge import record_rules

CONTRIBUTION_COLUMNS = ["contribution_id", "contributor", "contributor_type", "country_iso3", "date", "amount",
                        "currency", "usd_rate", "amount_usd", "earmark", "purpose", "source_document",
                        "source_locator", "sample", "unverified", "note"]
ACTIVITY_COLUMNS = ["activity_id", "title", "earmark", "start_date", "end_date", "budget_usd", "spent_usd", "status",
                    "outputs", "source_document", "sample", "note"]
REPORT_COLUMNS = ["scope", "year", "received_usd", "committed_usd", "spent_usd", "received_to_date_usd",
                  "spent_to_date_usd", "balance_usd", "uncommitted_usd"]


def fund_dir(settings) -> Path:
    return Path(settings.reference_dir) / "fund"


def _read(path: Path, display: str) -> pd.DataFrame:
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = df.apply(lambda s: s.str.strip()).replace({"": None})
    df["__file"] = display
    df["__line"] = list(range(2, len(df) + 2))
    return df


def _number(s: pd.Series) -> pd.Series:
    """Numbers as floats; text that is not a number stays text so the range rules name it."""
    def conv(v):
        if v is None:
            return None
        try:
            return float(str(v).replace(",", ""))
        except ValueError:
            return v
    return s.map(conv).astype("object")


def _bool(s: pd.Series) -> pd.Series:
    return s.map(lambda v: str(v).lower() in ("true", "1", "yes") if v is not None else False)


def read_contributions(settings, path: Path | None = None) -> pd.DataFrame:
    path = path or fund_dir(settings) / "contributions.csv"
    df = _read(path, _display(settings, path)).reindex(columns=CONTRIBUTION_COLUMNS + ["__file", "__line"])
    for c in ("amount", "usd_rate", "amount_usd"):
        df[c] = _number(df[c])
    df["sample"] = _bool(df["sample"])
    return df


def read_activities(settings, path: Path | None = None) -> pd.DataFrame:
    path = path or fund_dir(settings) / "activities.csv"
    df = _read(path, _display(settings, path)).reindex(columns=ACTIVITY_COLUMNS + ["__file", "__line"])
    for c in ("budget_usd", "spent_usd"):
        df[c] = _number(df[c])
    df["sample"] = _bool(df["sample"])
    return df


def _display(settings, path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(settings.reference_dir).resolve().parent))
    except ValueError:
        return Path(path).name


def check(settings, contributions: pd.DataFrame, activities: pd.DataFrame) -> list:
    """Every FUN* rule on both files (the results, for reports and tests)."""
    lists = record_rules.codelists(settings, contributions)
    return (record_rules.check_records(settings, "fund_contributions", contributions, lists=lists)
            + record_rules.check_records(settings, "fund_activities", activities, related=contributions, lists=lists))


def load(settings, lang: str = "en", *, contributions_path: Path | None = None,
         activities_path: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both files, checked; raises ``RecordError`` (messages in ``lang``) when an error rule fails."""
    con = read_contributions(settings, contributions_path)
    act = read_activities(settings, activities_path)
    record_rules.raise_for(check(settings, con, act), lang)
    return con, act


def report(contributions: pd.DataFrame, activities: pd.DataFrame) -> pd.DataFrame:
    """Received, committed, spent and balance by year, for the real records and with the sample ones."""
    out = []
    for scope, keep_sample in (("real", False), ("with_sample", True)):
        c = contributions if keep_sample else contributions[~contributions["sample"]]
        a = activities if keep_sample else activities[~activities["sample"]]
        cy = pd.to_datetime(c["date"]).dt.year
        ay = pd.to_datetime(a["start_date"]).dt.year
        years = sorted(set(cy.dropna().astype(int)) | set(ay.dropna().astype(int)))
        rec_cum = spent_cum = com_cum = 0.0
        for y in years:
            received = float(c.loc[cy == y, "amount_usd"].astype(float).sum())
            committed = float(a.loc[ay == y, "budget_usd"].astype(float).sum())
            spent = float(a.loc[ay == y, "spent_usd"].astype(float).sum())
            rec_cum += received
            spent_cum += spent
            com_cum += committed
            out.append({"scope": scope, "year": y, "received_usd": received, "committed_usd": committed,
                        "spent_usd": spent, "received_to_date_usd": rec_cum, "spent_to_date_usd": spent_cum,
                        "balance_usd": rec_cum - spent_cum, "uncommitted_usd": rec_cum - com_cum})
    df = pd.DataFrame(out, columns=REPORT_COLUMNS)
    df["year"] = df["year"].astype("int64")
    return df


def published(settings, lang: str = "en") -> dict[str, pd.DataFrame]:
    con, act = load(settings, lang)
    c = con.drop(columns=["__file", "__line"]).copy()
    c["date"] = pd.to_datetime(c["date"]).dt.date
    for col in ("amount", "usd_rate", "amount_usd"):
        c[col] = c[col].astype(float)
    c["unverified"] = c["unverified"].map(lambda v: [x for x in str(v).split(";") if x] if v else [])
    a = act.drop(columns=["__file", "__line"]).copy()
    for col in ("start_date", "end_date"):
        a[col] = pd.to_datetime(a[col]).dt.date.astype("object")
        a[col] = a[col].where(a[col].notna(), None)
    for col in ("budget_usd", "spent_usd"):
        a[col] = a[col].astype(float)
    a["outputs"] = a["outputs"].map(lambda v: [x for x in str(v).split(";") if x] if v else [])
    return {"fund_contributions": c, "fund_activities": a, "fund_report": report(con, act)}
