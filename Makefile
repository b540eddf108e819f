# hemistat — the two set-up commands are `make run` and `make test`.
# Each bootstraps .venv from uv.lock (exact, locked versions) with nothing but Python 3.11.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
export UV_PYTHON_DOWNLOADS := never
export UV_COMPILE_BYTECODE := 1
export DAGSTER_TELEMETRY_DISABLED := 1

.PHONY: run test test-fast test-deploy bench bench-republish bench-60 ui serve doctor screenshots clean env

env: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || $(PY) -m pip install --quiet --user uv==$(UV_VERSION) 2>/dev/null || $(PY) -m pip install --quiet uv==$(UV_VERSION)
	@UV=$$(command -v uv || echo $$($(PY) -m site --user-base)/bin/uv); \
	  $$UV sync --frozen --extra dev --python $(PY) --quiet
	@touch $@

run: env
	$(BIN)/hemistat run --acknowledge-warnings --reason "make run: demonstration build of the bundled inputs"

# every tier: fast, real (the files in ../shared), browser
test: env
	$(BIN)/pytest

# the fast tier only (synthetic or hand-made inputs; under two minutes on two cores): run it on every change
test-fast: env
	$(BIN)/pytest -m fast

# the deployment tier: the postgres profile on a private PostgreSQL, the multiprocess executor, S3 (moto)
test-deploy: env
	$(BIN)/pytest -m deploy

# the whole pipeline at 1 M and 12 M standard rows beside the floor and a pandas script, views, a backfill;
# then the portal. Misses are reported ("MISSED by x"), never abort; results in warehouse/data/bench/
bench: env
	$(BIN)/python -m tools.bench --scales 1,12 --chart docs/bench/pipeline.svg
	$(BIN)/python -m tools.bench_portal

# a publication after one new file on the 12 M warehouse: with the part cache, and with every part computed
bench-republish: env
	$(BIN)/python -m tools.bench --scales 12 --backfill 0 --kinds pipeline,republish

# the memory run: 60 M standard rows (peak memory target < 4 GiB)
bench-60: env
	$(BIN)/python -m tools.bench --scales 60 --backfill 0 --kinds pipeline

ui: env
	$(BIN)/hemistat ui

serve: env
	$(BIN)/hemistat serve

doctor: env
	$(BIN)/hemistat doctor

# refresh docs/screenshots/ (the browser test takes them on every run, in a temporary folder otherwise)
screenshots: env
	HEMISTAT_REFRESH_SCREENSHOTS=1 $(BIN)/pytest -q tests/service/test_portal_browser.py tests/site/test_site_browser.py

clean:
	rm -rf warehouse/data $(VENV)
