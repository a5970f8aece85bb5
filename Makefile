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
