"""Fixtures of the site's fast tests: a small synthetic warehouse (tests/site/synthetic.py) in a private data
folder, with the existing views only or with the publication views too."""

from __future__ import annotations

import pytest

from tests.site.synthetic import make_warehouse


@pytest.fixture
def fallback_wh(data_env):
    make_warehouse(data_env.data_dir, data_env.reference_dir, publication=False)
    return data_env


@pytest.fixture
def publication_wh(data_env):
    make_warehouse(data_env.data_dir, data_env.reference_dir, publication=True)
    return data_env
