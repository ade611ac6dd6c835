# calcm: the two commands a fresh clone needs are `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
VPY     := $(VENV)/bin/python
CALCM   := $(VENV)/bin/calcm
STAMP   := $(VENV)/.setup-stamp

.PHONY: setup demo test test-bench bench clean

setup: $(STAMP) node_modules/.package-lock.json

# Re-run only when the Python dependencies change (idempotent).
$(STAMP): pyproject.toml
	test -x $(VPY) || $(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# npm ci installs exactly the lock; anvil's binary ships in its platform package.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

demo: setup
	$(CALCM) demo

# Two workers (the 2-core CI machine); whole files per worker, so module fixtures build once.
test: setup
	$(VPY) -m pytest -q -m "not bench" -n 2 --dist loadfile --durations=25

# The heavy end-to-end checks `make test` leaves out to stay within the CI time limit.
test-bench: setup
	$(VPY) -m pytest -q -m bench --durations=10

# Performance targets are benchmarks, never timed tests (figures: bench/README.md).
bench: setup
	$(CALCM) bench book --json
	$(CALCM) bench risk --accounts 10000 --instruments 64 --scenarios 1000 --json
	$(CALCM) bench prove --configs small --backend both --json
	$(CALCM) bench gas --json
	$(CALCM) bench keeper --json
	$(CALCM) bench model --all-parts --json
	$(CALCM) bench fx --accounts 10000 --json
	$(CALCM) bench keeper --kills 20 --blocks 100 --json
	test ! -f ../shared/data/prices/daily_close.csv || $(CALCM) backtest --prices ../shared/data/prices/daily_close.csv --start 2021-07-01 --end 2023-12-30 --random-books 1000 --no-margin --json
	test ! -f ../shared/data/prices/daily_close.csv || $(CALCM) cascade ablation --accounts 10000 --json
	test ! -f ../shared/data/prices/daily_close.csv || $(CALCM) risk apc --frontier --json

clean:
	rm -rf build out .pytest_cache .hypothesis
