# caltac-inbox developer entry points. From a fresh clone:
#   make demo   install into .venv, ingest samples/ into out/demo.db, show what is coming
#   make test   install test dependencies (and Dovecot and Chromium when root), run make lint and the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CLI := $(BIN)/caltac-inbox
DEMO_DB := out/demo.db
DEMO_URL := sqlite:///$(CURDIR)/$(DEMO_DB)
# A day the samples cover: the 2020 transition downtime (August 14-20) is ahead of it.
DEMO_AS_OF ?= 2020-08-01
# The shared material (labelled corpus, seeds, tools/score.py): ../shared beside the
# repository, or SHARED=DIR / CALTAC_SHARED=DIR. `make eval` needs it; tests skip without it.
SHARED ?= $(or $(CALTAC_SHARED),../shared)

.PHONY: demo test test-deps lint eval eval-split bench bench-detail venv install clean
# the browser the web timeline's test drives (Debian's package chromium)
CHROMIUM ?= /usr/bin/chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

venv: $(BIN)/python

# The developer install has every optional extra; users choose (README, "Installing").
install: venv
	$(BIN)/python -m pip install -q -e '.[postgres,web]'

demo: install
	@mkdir -p out
	@echo "== ingest samples/ into $(DEMO_DB)"
	$(CLI) --db $(DEMO_URL) ingest --authserv-id mx.district.k12.ca.us samples/*.eml
	@echo "== upcoming as of $(DEMO_AS_OF)"
	$(CLI) --db $(DEMO_URL) upcoming --as-of $(DEMO_AS_OF)
	@if $(CLI) export-ics --help >/dev/null 2>&1; then \
		$(CLI) --db $(DEMO_URL) export-ics -o out/demo.ics && echo "== wrote out/demo.ics"; \
	else \
		echo "note: this version has no export-ics command; skipping out/demo.ics"; \
	fi

# Courier-IMAP for tests/system/test_imap_courier.py, extracted from its Debian packages (never
# installed: installing courier-imap removes dovecot-imapd). Without apt-get that test skips.
COURIER := $(VENV)/courier
COURIER_PACKAGES := courier-imap courier-base courier-authlib libcourier-unicode4 libidn12 libgamin0

$(COURIER)/usr/bin/imapd:
	@mkdir -p $(COURIER)/debs
	@if command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 \
		&& (cd $(COURIER)/debs && apt-get download $(COURIER_PACKAGES) >/dev/null 2>&1); then \
		for deb in $(COURIER)/debs/*.deb; do dpkg-deb -x $$deb $(COURIER); done; \
	else \
		echo "note: could not download Courier-IMAP with apt-get; the Courier test will skip"; \
	fi

# Test extras and Dovecot (as root): the test suite and the bench's no-op poll need both.
test-deps: venv
	$(BIN)/python -m pip install -q -e '.[test,postgres,web]'
	@if { ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; } || ! command -v openssl >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y dovecot-imapd openssl; \
		else \
			echo "note: dovecot or openssl is not installed and we are not root: the IMAP server tests will skip"; \
		fi; \
	fi
# Types (mypy, configured in pyproject.toml), lint (ruff, likewise) and complexity: no function
# over cyclomatic complexity 20 (radon rank D or worse). make test runs it first.
MAX_COMPLEXITY_RANK := D
lint: test-deps
	$(BIN)/mypy
	$(BIN)/ruff check caltac_inbox
	@over="$$($(BIN)/radon cc -n $(MAX_COMPLEXITY_RANK) -s caltac_inbox)"; \
	if [ -n "$$over" ]; then echo "functions over cyclomatic complexity 20 (split them):"; echo "$$over"; exit 1; fi; \
	echo "radon: no function over complexity 20"

# pytest-xdist workers for make test: one per CPU (each has its own Dovecot, ports and databases)
TEST_WORKERS ?= auto
test: test-deps lint
	@# Debian's Chromium for tests/system/test_web_browser.py, driven by Playwright's Python package
	@# (which downloads no browser of its own: the test passes this executable).
	@if [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
		else \
			echo "note: $(CHROMIUM) is not installed and we are not root: the browser test will skip"; \
		fi; \
	fi
	@$(MAKE) --no-print-directory $(COURIER)/usr/bin/imapd
	CALTAC_SHARED=$(abspath $(SHARED)) $(BIN)/python -m pytest -q -m "slow or not slow" -p xdist -n $(TEST_WORKERS)

# Extraction quality against the labelled corpus (filled in by the classification work).
eval: install
	@test -f $(SHARED)/corpus/labels.jsonl || { echo "make eval: no labelled corpus at $(SHARED)/corpus" \
		"(expected ../shared beside the repository); run make eval SHARED=DIR or set CALTAC_SHARED=DIR" >&2; exit 2; }
	@mkdir -p out
	@echo "== dev corpus ($(SHARED)/corpus)"
	@$(CLI) extract $(SHARED)/corpus --json > out/corpus.jsonl || true
	@$(PYTHON) $(SHARED)/tools/score.py $(SHARED)/corpus/labels.jsonl out/corpus.jsonl
	@echo "== samples/"
	@$(CLI) extract samples --json > out/samples.jsonl || true
	@$(PYTHON) $(SHARED)/tools/score.py samples/expected.jsonl out/samples.jsonl

# The same scores on fixed parts of the corpus (all, the 28 newest notices, halves A and B):
# develop on one half, read the other at first sight (bench/eval_split.py).
eval-split: install
	@$(BIN)/python bench/eval_split.py --shared $(SHARED)

# The targets as ratios to floors of the same run (bench/suite.py, under 5 minutes), on the
# wheel installed in its own venv as users install it; fails on a FAIL or a ratio 15 % worse
# than bench/results.json of the last run. BENCH_ARGS=--small while working on the bench.
# `make bench-detail`: the older, longer table (bench/run.py) and the adversarial inputs.
BENCH_ARGS ?=
BENCH_VENV := build/bench-venv
bench: venv
	@rm -rf build/bench-wheel
	@$(BIN)/python -m pip wheel -q --no-deps -w build/bench-wheel .
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	@$(BENCH_VENV)/bin/python -m pip install -q "$$(ls build/bench-wheel/caltac_inbox-*.whl)[postgres,web]"
	@$(BENCH_VENV)/bin/python -m pip install -q --force-reinstall --no-deps build/bench-wheel/caltac_inbox-*.whl
	@env -u PYTHONDONTWRITEBYTECODE $(BENCH_VENV)/bin/python bench/suite.py $(BENCH_ARGS)

bench-detail: test-deps
	@$(BIN)/python bench/run.py $(BENCH_ARGS)
	@echo "== adversarial inputs: parse + classify time and peak memory by size (must grow linearly)"
	@$(BIN)/python bench/adversarial.py

clean:
	rm -rf out .pytest_cache
