"""The real accepted submissions harmonised in one run and in parts of whole countries (engine.harmonise,
``part_cells``): the same tables. The hand-made cases are in test_parts.py (fast tier)."""

from pipelines.adapters import load_all_specs
from pipelines.harmonise import harmonise
from tests.harmonise.test_parts import assert_same_tables


def test_real_files_in_parts(real_warehouse):
    """The real accepted submissions (SNIC, SESNSP, CTS across the hemisphere, …) harmonised in one run and
    in parts of whole countries, the larger ones (SESNSP, SNIC) in parts of whole years: the same tables."""
    from pipelines.storage.catalog import accepted_submissions

    s = real_warehouse
    accepted = accepted_submissions(s)
    specs = load_all_specs(s.reference_dir, strict=False)
    one = harmonise(accepted, specs, s.reference_dir, part_cells=10 ** 12)
    split = harmonise(accepted, specs, s.reference_dir, part_cells=150_000)
    assert one.stats["parts"] == 1 and split.stats["parts"] >= 3, split.stats
    assert one.stats["parts_by_year"] == 0 and split.stats["parts_by_year"] >= 2, split.stats
    assert_same_tables(one, split)
