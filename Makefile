# The two commands of the README: `make demo` and `make test`. Both install first.
#
# The interpreter: python3 when it is a supported one, else the newest supported one found
# (python3.X on PATH, else pyenv's build); `make test PYTHON=/path/to/python3.12` chooses.
SUPPORTED_PYTHONS := 3.11 3.12 3.13
PYTHON_VERSION := import sys; print("%d.%d" % sys.version_info[:2])
# A Python $(1) that runs, or nothing. Each candidate is run, not just looked up: a pyenv shim
# of a version that is not active is on PATH but exits 127.
find_python = $(shell for p in python$(1) $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$(1).*/bin/python$(1); do \
  [ "$$("$$p" -c '$(PYTHON_VERSION)' 2>/dev/null)" = "$(1)" ] && { command -v "$$p"; break; }; done)
ifndef PYTHON
PYTHON := $(shell command -v python3)
ifeq ($(filter $(SUPPORTED_PYTHONS),$(shell $(PYTHON) -c '$(PYTHON_VERSION)' 2>/dev/null)),)
PYTHON := $(lastword $(foreach v,$(SUPPORTED_PYTHONS),$(call find_python,$(v))))
endif
endif
VENV := .venv
BIN := $(VENV)/bin
# The interpreter's version and installation: the venv is made again when they change.
PYTHON_ID := import sys; print(sys.version.split()[0], sys.base_prefix)
# Reinstall whenever the pinned dependencies or the interpreter change.
STAMP := $(VENV)/.installed-$(shell { cat pyproject.toml; $(PYTHON) -c '$(PYTHON_ID)'; } 2>/dev/null | sha256sum | cut -c1-12)
PORT ?= 5000

.PHONY: install demo test lint unit browser bench clean test-pythons

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "no Python $(SUPPORTED_PYTHONS) found: make PYTHON=/path/to/python3.X"; exit 1; }
	@if [ "$$($(BIN)/python -c '$(PYTHON_ID)' 2>/dev/null)" != "$$($(PYTHON) -c '$(PYTHON_ID)')" ]; then \
	  echo "$(VENV): made with $(PYTHON) ($$($(PYTHON) --version))"; \
	  rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: install
	$(BIN)/mzledger demo demo-books
	$(BIN)/mzledger fava --books demo-books --port $(PORT)

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: install browser
	$(BIN)/pytest -n 2

# Browser tests drive Debian's Chromium (no browser download). Installed here when missing and
# apt-get can; otherwise those tests skip with a message (and fail under CI).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk) >/dev/null 2>&1 \
	  || echo "chromium could not be installed: the browser tests will skip"; }

test: lint unit

# The unit tests on every supported Python found, each in its own venv (.venv-3.12, ...); lint
# once, on the default one. A Python not found is skipped with a message; a failure on any fails.
test-pythons: lint browser
	@ran=; failed=; \
	$(foreach v,$(SUPPORTED_PYTHONS),p='$(call find_python,$(v))'; \
	if [ -z "$$p" ]; then echo "== Python $(v): not found, skipped"; else \
	  echo "== Python $(v): $$p in .venv-$(v)"; ran="$$ran $(v)"; \
	  $(MAKE) --no-print-directory unit PYTHON="$$p" VENV=.venv-$(v) || failed="$$failed $(v)"; \
	fi;) \
	if [ -n "$$failed" ]; then echo "== unit tests failed on Python$$failed (ran on$$ran)"; exit 1; fi; \
	if [ -z "$$ran" ]; then echo "== no supported Python found"; exit 1; fi; \
	echo "== unit tests passed on Python$$ran"

clean:
	rm -rf $(VENV) $(VENV)-3.* demo-books .mypy_cache .ruff_cache .pytest_cache .hypothesis

# The benchmark of the scale issue (README, "Benchmark"): full size by default. Smaller runs:
#   make bench BENCH_SETTLEMENTS=1000000 BENCH_INSTITUTIONS=200 BENCH_PERSONS=100000
# Generated data is kept in bench-out/data-<hash of the spec>/ and reused; BENCH_REGENERATE=1
# makes it again. MZLEDGER_BENCH_PG_URL= (empty) leaves PostgreSQL out.
BENCH_SETTLEMENTS ?= 10000000
BENCH_INSTITUTIONS ?= 2000
BENCH_PERSONS ?= 1000000
BENCH_MONTHS ?= 2022-12..2023-12
BENCH_OUT ?= bench-out
MZLEDGER_BENCH_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
bench: install
	BENCH_REGENERATE=$(BENCH_REGENERATE) $(BIN)/python -m bench \
	  --settlements $(BENCH_SETTLEMENTS) --institutions $(BENCH_INSTITUTIONS) \
	  --persons $(BENCH_PERSONS) --months $(BENCH_MONTHS) --out $(BENCH_OUT) \
	  --pg-url "$(MZLEDGER_BENCH_PG_URL)"
