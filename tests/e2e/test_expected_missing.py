"""What is expected and missing per source, country and period (issue 13 item 7): from the source's declared
cadence, a period due and not delivered is listed ("ARG 2021: not received"), in ``hemistat status --expected``
and in the ``source_freshness`` asset's metadata."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from typer.testing import CliRunner

from pipelines import pipeline
from pipelines.cli import app
from pipelines.monitor.punctuality import expected_deliveries
from tests.conftest import REPO

HEADER = (REPO / "reference" / "templates" / "hemistat_template.csv").read_text(encoding="utf-8").splitlines()[0]


def _deliver(settings, tmp: Path, iso3: str, years: list[int]) -> str:
    p = tmp / f"plantilla_{iso3}.csv"
    p.write_text("\n".join([HEADER] + [f"{iso3},,,{y},,0101,Homicidio intencional,offences,_T,_T,{100 + y % 10},A,"
                                       for y in years]) + "\n", encoding="utf-8")
    man, _ = pipeline.submit(settings, p, "iccs_template", country_iso3=iso3)
    pipeline.ingest(settings, man.submission_id)
    pipeline.validate(settings, man.submission_id)
    return man.submission_id


def test_a_gap_and_the_years_since_are_missing(data_env, tmp_path, monkeypatch):
    s = data_env
    _deliver(s, tmp_path, "ARG", [2019, 2020, 2022])
    _deliver(s, tmp_path, "URY", [2022, 2023])
    now = datetime(2025, 3, 1, tzinfo=timezone.utc)   # 2023 is due in 2024; 2024 is not due yet
    rows = expected_deliveries(s, now=now)
    got = {(r["country_iso3"], r["period"]): r["status"] for r in rows}
    assert got == {("ARG", "2019"): "received", ("ARG", "2020"): "received", ("ARG", "2021"): "missing",
                   ("ARG", "2022"): "received", ("ARG", "2023"): "missing",
                   ("URY", "2022"): "received", ("URY", "2023"): "received"}
    miss = next(r for r in rows if (r["country_iso3"], r["period"]) == ("ARG", "2021"))
    assert miss["source_id"] == "iccs_template" and miss["due"] < "2023-01-01" and miss["days_overdue"] > 700
    # the command line lists what is missing, filtered by country
    res = CliRunner().invoke(app, ["status", "--expected", "--country", "ARG"])
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.output.splitlines() if "not received" in ln]
    assert any("ARG" in ln and "2021" in ln for ln in lines)
    assert not any("URY" in ln for ln in res.output.splitlines())
    res = CliRunner().invoke(app, ["status", "--expected", "--json", "--country", "URY"])
    js = [json.loads(ln) for ln in res.output.splitlines()]
    assert js and all(r["country_iso3"] == "URY" for r in js)
    assert {r["period"] for r in js if r["status"] == "received"} == {"2022", "2023"}
    assert "2024" in {r["period"] for r in js if r["status"] == "missing"}   # today is after 2024's due date
