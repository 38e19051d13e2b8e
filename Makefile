# dlcourse: every target sets up .venv itself on a fresh machine.
#   make book    build the rendered book (executes every chapter)  -> book/_build/html/index.html
#   make test    run every test: package, notebooks (nbval), grading, browser, lint
#   make bench   print the benchmark table (speed and quality figures measured side by side)
# Python 3.11 is what the pinned versions in requirements/constraints.txt were tested with.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CONSTRAINTS := requirements/constraints.txt
JOBS   ?= 2
# Per-test timeout guard for notebooks (seconds); each chapter should take ~60 s.
NB_TIMEOUT ?= 600

.DEFAULT_GOAL := help
.PHONY: help venv book test test-fast bench lint format strip lock release clean distclean

help:
	@echo "make book | test | bench | lint | format | strip | release ASSIGNMENT=training | clean"

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24" 
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) -e ".[dev]"
	@# torchattacks: the peer the attack tests compare images with (PGD without random start
	@# must equal it). It declares torchvision and an old requests, which would replace our
	@# torch; it imports neither, so it goes in without its declared dependencies.
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) --no-deps torchattacks
	@# bubblewrap sandboxes student code when grading (src/dlcourse_grader/sandbox.py); best effort.
	@command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq bubblewrap >/dev/null 2>&1 || \
	    { apt-get update -qq && apt-get install -y -qq bubblewrap; } >/dev/null 2>&1; } || \
	  echo "WARNING: bwrap not found: grading will run student code WITHOUT a sandbox." \
	       "Install Debian's bubblewrap (as root: apt-get install bubblewrap)."; }
	@touch $(STAMP)

venv: $(STAMP)

# The executed-notebook cache is only valid for the package code it ran with: drop it when
# src/ changes (jupyter-cache hashes notebook code, not the modules the notebooks import).
book/_build/.src-stamp: $(shell find src -name '*.py') $(CONSTRAINTS)
	@rm -rf book/_build/.jupyter_cache
	@mkdir -p book/_build && touch $@

book: $(STAMP) book/_build/.src-stamp
	$(VENV)/bin/jupyter-book build book --warningiserror --keep-going
	@echo "The book is at file://$(CURDIR)/book/_build/html/index.html"

# Every test runs under pytest-timeout (pyproject: a generous default, tighter marks in tests);
# tests/test_doctests.py runs every docstring example of src/dlcourse; tests/test_mypy.py
# compares mypy's errors with tests/mypy-baseline.txt. The 15 slowest tests are listed at the
# end, and the suite's wall time goes to tests/artifacts/suite-time.json for `make bench`.
test: $(STAMP) book/_build/.src-stamp
	DLCOURSE_SUITE_TIME=tests/artifacts/suite-time.json \
	$(PY) -m pytest -n $(JOBS) --dist loadscope --durations=15 \
	    tests course/source --nbval-lax --nbval-current-env \
	    --nbval-cell-timeout=$(NB_TIMEOUT)

# Without notebooks, grading and browser: the package's unit tests only (seconds).
test-fast: $(STAMP)
	$(PY) -m pytest -n $(JOBS) tests -m "not slow and not browser and not grading"

# Benchmarks compare with peer libraries that the package itself never needs.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -c $(CONSTRAINTS) torch-geometric
	@touch $@

bench: $(BENCH_STAMP)
	$(PY) -m tests.benchmarks

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Remove outputs from every committed notebook (tests fail on committed outputs).
strip: $(STAMP)
	$(PY) -m tests.strip_outputs $$(git ls-files '*.ipynb')

# Re-pin every dependency to what is installed in .venv (after a deliberate upgrade).
lock: $(STAMP)
	@{ echo "# Exact versions tested together. Regenerate with: make lock"; \
	   $(PY) -m pip freeze --exclude-editable | grep -iv '^dlcourse' | sed 's/+cpu$$//'; } > $(CONSTRAINTS).new
	@mv $(CONSTRAINTS).new $(CONSTRAINTS)

ASSIGNMENT ?= training
release: $(STAMP)
	$(PY) -m autograder release $(ASSIGNMENT)

clean:
	rm -rf book/_build course/release course/autograded course/feedback course/gradebook.db \
	       course/grades.csv tests/artifacts .pytest_cache

distclean: clean
	rm -rf $(VENV)
