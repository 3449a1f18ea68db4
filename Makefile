# Everything creates and uses .venv by itself: `make demo` and `make test` on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint bench clean venv chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# Bytecode now, as pip compiles an installed package (Python may not cache it itself).
	$(BIN)/python -m compileall -q src/mfq
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/mfq demo --out examples/sample-export.ndjson.gz

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy

# worksteal: each worker starts on one half of the tests in order (a file's and a folder's
# fixtures built by one worker, mostly) and takes from the other's queue when idle.
test: lint chromium
	$(BIN)/python -m pytest -n 2 --dist worksteal -q

# The HTML report's browser test needs Chromium: installed here when missing, as root with
# apt; otherwise that one test skips and says why. This step never fails the build.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { echo "installing chromium for the HTML report test ..."; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; }; }; } || \
	echo "note: chromium is not installed; the HTML report's browser test will be skipped"

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/query.py --mode both
	$(BIN)/python bench/analysis.py
	$(BIN)/python bench/report.py
	$(BIN)/python bench/ingest_otlp.py --events 200000

clean:
	rm -rf $(VENV) .mfq .mfq-demo build dist .pytest_cache .mypy_cache .ruff_cache
