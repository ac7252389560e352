# Two entry points (see README): `make plan` sets up and plans a reference stack offline;
# `make test` sets up everything and runs the test suite. Both create the venv on first use.
VENV   ?= .venv
STACK  ?= aws-dev
# The SDK extra a stack needs: reference stacks are <cloud>-<env>; override CLOUD for team stacks.
CLOUD  ?= $(firstword $(subst -, ,$(STACK)))
PYTHON ?= python3

.PHONY: plan test check setup clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip

$(VENV)/.extras-%: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -e '.[$*]'
	touch $@

setup: $(VENV)/.extras-all,dev

plan: $(VENV)/.extras-$(CLOUD)
	$(VENV)/bin/mlops plan $(STACK)

test: $(VENV)/.extras-all,dev
	$(VENV)/bin/python -m pytest -q

check: $(VENV)/.extras-all,dev
	$(VENV)/bin/mlops validate --all
	$(VENV)/bin/mlops check --all

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
