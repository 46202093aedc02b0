# Working on the template. `make bake` then `make test` is all a fresh machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BUILD := build

.PHONY: bake test bench lock clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --requirement requirements.txt
	touch $@

bake: $(VENV)/.installed ## generate the default site into build/, validated by the hooks
	rm -rf $(BUILD)
	$(BIN)/cookiecutter . --no-input --output-dir $(BUILD)

test: $(VENV)/.installed ## the template's test suite, in parallel
	$(BIN)/pytest

bench: $(VENV)/.installed ## the benchmarks under benchmarks/ (serve.py uses wrk when installed)
	$(BIN)/python benchmarks/bake.py
	$(BIN)/python benchmarks/serve.py

lock: $(VENV)/.installed ## re-pin requirements.txt from requirements.in
	$(BIN)/uv pip compile --quiet --custom-compile-command "make lock" requirements.in -o requirements.txt

clean:
	rm -rf $(BUILD) $(VENV)
