"""Issue 14, item 4: `--country` may not contradict the spec, nor name a non-member: the submission is refused
before anything is stored (an Argentine file submitted as Mexico's was listed and downloaded by Mexico's office)."""

from __future__ import annotations

import pytest

from pipelines import pipeline
from pipelines.samples.synthetic import generate_sample
from pipelines.storage import submissions as subs


@pytest.mark.parametrize("country,msg", [("MEX", "contradicts source ar_snic, which is ARG's"),
                                         ("ZZZ", "contradicts source ar_snic")])
def test_a_country_contradicting_the_spec_is_refused(data_env, tmp_path, country, msg):
    f = generate_sample(tmp_path / "s")["ar_snic"][0]
    with pytest.raises(ValueError, match=msg):
        pipeline.submit(data_env, f, "ar_snic", country_iso3=country)
    assert subs.list_submission_ids(data_env.landing_dir) == []          # nothing stored
    man, _ = pipeline.submit(data_env, f, "ar_snic", country_iso3="arg")  # its own country: fine
    assert man.country_iso3 == "ARG"


def test_a_multi_country_source_takes_only_member_states(data_env, tmp_path):
    f = generate_sample(tmp_path / "s")["unodc_cts"][0]
    with pytest.raises(ValueError, match="not the ISO3 code of an OAS member state"):
        pipeline.submit(data_env, f, "unodc_cts", country_iso3="ESP")
    assert pipeline.submit(data_env, f, "unodc_cts", country_iso3="CHL")[0].country_iso3 == "CHL"
