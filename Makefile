# The two commands that do everything on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
TEST_WORKERS ?= 4
SCENARIO_WORKERS ?= 4
SCENARIO_ARGS ?=

.PHONY: bench venv deps system-packages binaries node-tools localenv localenv-down test scenarios unit lint typecheck demo clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# Debian packages the local environment and the browser tests need (root, as on CI and the dev machines);
# a Java runtime for the Allure commandline, unless the machine already has one.
SYSTEM_PACKAGES := prometheus prometheus-alertmanager chromium
system-packages:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done; \
	  command -v java >/dev/null || echo default-jre-headless); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# Builds kube-apiserver, kube-controller-manager, kubectl, etcd and helm once per machine (cached by version).
binaries:
	scripts/build-binaries

# The Allure commandline (renders allure-results to HTML; runs on the machine's Java).
node-tools: node_modules/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

deps: venv system-packages binaries node-tools

localenv: deps
	scripts/localenv up

localenv-down:
	scripts/localenv down

lint: venv
	$(VENV)/bin/ruff check rollcheck plugins checks scripts tests examples bench conftest.py
	$(VENV)/bin/ruff format --check rollcheck plugins checks scripts tests examples bench conftest.py

typecheck: venv
	$(VENV)/bin/mypy

# Every test, including those on the local environment (started here, or reused if it is up).
# Most tests wait on the cluster rather than compute, so they run on TEST_WORKERS xdist workers; the tests that
# restart shared components (`disruptive`) or bound wall-clock times (`timing`) then run alone. The scenario
# corpus runs as its own session: its scenarios mostly wait, so they run side by side.
test: deps lint typecheck localenv
	$(PY) -m pytest --ignore=tests/scenarios -m "not disruptive and not timing" -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)
	$(PY) -m pytest --ignore=tests/scenarios -m "disruptive or timing" $(PYTEST_ARGS)
	$(PY) -m pytest tests/scenarios -n $(SCENARIO_WORKERS) $(SCENARIO_ARGS)

# Good releases under noise and bad releases, each judged by `rollcheck run --watch` on the local environment;
# prints the table (also in build/scenarios/) and exits 0 only if every scenario met its expectation.
scenarios: deps localenv
	$(PY) -m pytest tests/scenarios -n $(SCENARIO_WORKERS) $(SCENARIO_ARGS)

# Quick loop without the local environment.
unit: venv
	$(PY) -m pytest -m "not localenv" $(PYTEST_ARGS)

# The main job: a good release, a bad one, and rollcheck rolling it back (reports in demo-report/).
demo: deps localenv
	source .localenv/env.sh && PYTHONPATH=scripts $(PY) scripts/demo.py

# rollcheck against kubectl and bare pytest on the local environment: one table, medians with min and max.
bench: deps localenv
	PYTHONPATH=scripts:tests:bench $(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .localenv rollcheck-report demo-report build *.egg-info node_modules
