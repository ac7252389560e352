# Entry points (see README): `make plan` sets up and plans a stack offline; `make test` sets up
# everything and runs the test suite; `make lint` runs ruff and the type checker. Installs come from
# uv.lock (`uv sync --frozen`), so every machine gets exactly the locked versions.
VENV   ?= .venv
STACK  ?= aws-dev
PYTHON ?= python3
# The SDK extra `make plan` installs: the cloud named in the stack file (STACK is a stack name such
# as aws-dev or payments-aws-dev, or a path); override with CLOUD=aws|azure|gcp|all.
STACK_FILE := $(if $(wildcard $(STACK)),$(STACK),stacks/Pulumi.$(STACK).yaml)
CLOUD  ?= $(or $(shell sed -n -E "s/^[[:space:]]+cloud:[[:space:]]*[\"']?(aws|azure|gcp)[\"']?[[:space:]]*(\#.*)?\$$/\1/p" $(STACK_FILE) 2>/dev/null | head -n 1),all)

# uv from PATH, else a pinned copy in a bootstrap venv (PyPI is the only index it needs).
UV_VERSION ?= 0.13.9
UV_BOOTSTRAP := .uv-bootstrap
UV ?= $(or $(shell command -v uv 2>/dev/null),$(UV_BOOTSTRAP)/bin/uv)
UV_DEP := $(filter $(UV_BOOTSTRAP)/bin/uv,$(UV))   # built only when it is the bootstrap copy
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON ?= $(PYTHON)
SYNC := $(UV) sync --frozen --quiet
ALL_EXTRAS := --extra aws --extra azure --extra gcp --extra dev
LINTED := infra policies mlops_workload benchmarks tests __main__.py

.PHONY: plan test lint format docs lock-check check setup clean

$(UV_BOOTSTRAP)/bin/uv:
	$(PYTHON) -m venv $(UV_BOOTSTRAP)
	$(UV_BOOTSTRAP)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Everything locked, nothing else (what `.ci/run` tests).
setup: | $(UV_DEP)
	$(SYNC) $(ALL_EXTRAS)

# --inexact keeps what `make test` installed; the cloud's SDK comes at its locked version.
plan: | $(UV_DEP)
	$(SYNC) --inexact $(if $(filter all,$(CLOUD)),$(ALL_EXTRAS),--extra $(CLOUD))
	$(VENV)/bin/mlops plan $(STACK)

# pytest exits 5 when a selection (PYTEST_ADDOPTS="-k ...") matches no test: reported, not a failure.
test: setup
	$(VENV)/bin/python -m pytest -q || { status=$$?; [ $$status -eq 5 ] && echo "pytest: no tests collected"; } || exit $$status

lint: setup
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/pyright --pythonpath $(VENV)/bin/python

format: setup
	$(VENV)/bin/ruff check --fix $(LINTED)
	$(VENV)/bin/ruff format $(LINTED)

# The architecture diagrams in docs/ and README.md, regenerated from the prod reference stacks.
docs: setup
	$(VENV)/bin/python -m infra.graph docs

# uv.lock still matches pyproject.toml (after editing dependencies: `uv lock`, then commit uv.lock).
lock-check: | $(UV_DEP)
	$(UV) lock --check --quiet

check: setup
	$(VENV)/bin/mlops validate --all
	$(VENV)/bin/mlops check --all

clean:
	rm -rf $(VENV) $(UV_BOOTSTRAP) .pytest_cache .hypothesis .ruff_cache
