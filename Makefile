# The two commands of the README: `make demo` and `make test`. Both install first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Reinstall whenever the pinned dependencies change.
STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)
PORT ?= 5000

.PHONY: install demo test lint unit browser bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
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

unit: install browser
	$(BIN)/pytest -n 2

# Browser tests drive Debian's Chromium (no browser download). Installed here when missing and
# apt-get can; otherwise those tests skip with a message (and fail under CI).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk) >/dev/null 2>&1 \
	  || echo "chromium could not be installed: the browser tests will skip"; }

test: lint unit

clean:
	rm -rf $(VENV) demo-books .mypy_cache .ruff_cache .pytest_cache .hypothesis

BENCH_SETTLEMENTS ?= 200000
bench: install
	$(BIN)/python bench/bench.py --settlements $(BENCH_SETTLEMENTS) --out bench-out
