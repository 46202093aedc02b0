# Working on the template. `make bake` then `make test` is all a fresh machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHECKOV := $(VENV)/checkov
PROJECT := {{cookiecutter.domain_slug}}
BUILD := build
# --universal: one lock for every Python 3.11 and later (markers where versions differ): a site's
# image and CI run its python_version, a workstation its own python3 (see the site's Makefile).
COMPILE = $(CURDIR)/$(BIN)/uv pip compile --quiet --generate-hashes --universal --python-version 3.11 \
	--custom-compile-command "make lock" $(ARGS)

.PHONY: bake lint test bench lock clean acceptance

# The deploy tool editable from src/, without dependencies: they are in requirements.txt, locked.
$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --requirement requirements.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation --editable .
	touch $@

# checkov pins boto3 exactly: as in a site, its own venv, from the site's lock (tests/test_stacks.py).
$(CHECKOV)/.installed: $(PROJECT)/requirements-checkov.txt | $(VENV)/.installed
	$(BIN)/uv venv --quiet --clear --python $(PYTHON) $(CHECKOV)
	$(BIN)/uv pip install --quiet --require-hashes --python $(CHECKOV)/bin/python --requirement $<
	touch $@

bake: $(VENV)/.installed ## generate the default site into build/, validated by the hooks
	rm -rf $(BUILD)
	$(BIN)/cookiecutter $(CURDIR) --no-input --output-dir $(BUILD)

# Named, not `.`: the site's pyproject.toml is a template ruff cannot read.
PY_SOURCES := hooks src tests benchmarks acceptance

lint: $(VENV)/.installed ## ruff on the template's own Python: hooks, tool, tests, benchmarks, acceptance
	$(BIN)/ruff check $(PY_SOURCES)
	$(BIN)/ruff format --check $(PY_SOURCES)

# The tool's tests run in a generated site: every test in the default one, then the tests marked
# `answers` in each site of other answers (tests/tool/site_under_test.py).
test: lint $(VENV)/.installed $(CHECKOV)/.installed ## ruff, then the template's and the tool's tests, in parallel
	$(BIN)/pytest
	for site in external-dns joining; do \
		FLASK_FARGATE_TEST_SITE=$$site $(BIN)/pytest tests/tool || exit; done

bench: $(VENV)/.installed ## the benchmarks under benchmarks/ (serve.py uses wrk when installed)
	$(BIN)/python benchmarks/bake.py
	$(BIN)/python benchmarks/serve.py

# Sites baked, deployed, checked and destroyed on the AWS account FLASK_FARGATE_ACCEPTANCE_ACCOUNT
# names (acceptance/README.md); STANDIN=1 runs it against the stand-in instead, offline.
acceptance: $(VENV)/.installed ## bake, deploy, check and destroy sites on AWS (STANDIN=1: the stand-in; ARGS="--scenarios ...")
	$(BIN)/python -m acceptance $(if $(STANDIN),--standin) $(ARGS)

# The site's locks first: requirements.in includes the site's requirements-dev.txt.
lock: $(VENV)/.installed ## re-pin the site's requirements*.txt, then requirements.txt (ARGS="--upgrade-package boto3")
	cd $(PROJECT) && for name in requirements requirements-dev requirements-checkov; do \
		$(COMPILE) $$name.in -o $$name.txt || exit; done
	$(COMPILE) requirements.in -o requirements.txt

clean:
	rm -rf $(BUILD) $(VENV)
