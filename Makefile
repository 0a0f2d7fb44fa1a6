# The README's two commands: `make demo` runs the main job on the embedded digits, `make test` runs
# every test. Each sets itself up on a fresh machine: a virtual environment in .venv (made if missing)
# with sslmem installed editable with its dev extras.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.sslmem-installed
# two notebooks at a time on two cores; each notebook's torch then uses one thread
NB_WORKERS ?= 2
DEMO_OUT ?= sslmem-run

.PHONY: demo test install export check-export readme check-readme docs bench reports clean clean-nbs

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/sslmem run --out $(DEMO_OUT)

test: $(STAMP) check-export check-readme
	OMP_NUM_THREADS=1 $(BIN)/nbdev-test --n-workers $(NB_WORKERS) --timing
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n $(NB_WORKERS) --durations=15 tests

export: $(STAMP)
	$(BIN)/nbdev-export

# the library is generated from nbs/: fail when an export would change it
check-export: $(STAMP)
	$(BIN)/nbdev-export
	@if [ -n "$$(git status --porcelain -- sslmem)" ]; then \
	  git status --short -- sslmem; \
	  echo "sslmem/ is out of step with nbs/: run nbdev-export and commit both"; exit 1; fi

readme: $(STAMP)
	$(BIN)/python tools/make_readme.py

check-readme: $(STAMP)
	$(BIN)/python tools/make_readme.py --check

# the rendered docs, without installing or downloading anything: where the quarto binary is on PATH, nbdev's
# Quarto site; elsewhere an offline HTML book (Sphinx, MyST-NB) from the same processed notebooks and sidebar.
# Both go to _docs/; the book ends by printing the path of its index page.
docs: $(STAMP)
	@if command -v quarto >/dev/null 2>&1; then $(BIN)/nbdev-docs; \
	else echo "quarto is not installed: building the offline book"; \
	  OMP_NUM_THREADS=1 $(BIN)/python tools/make_book.py --workers $(NB_WORKERS); fi

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# The reports (nbs/reports) run the experiments at scale: every cell, the slow ones too (`make test` skips
# those), one report at a time since they share run folders. From empty run folders (nbs/runs) this trains
# a few hundred encoders: several hours on a 2-core CPU (the removal report alone trains about 100); with the
# folders cached, minutes. `make reports SAVE=--save` writes the new outputs back into the notebooks. A training cell
# may run for hours, so the cells have no time limit here (`cell_timeout` in pyproject.toml holds for `make test`).
SAVE ?=
reports: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/nbdev-test nbs/reports --flags slow --n-workers 1 --timing --cell-timeout 0 $(SAVE)

# before committing notebooks: nbdev's clean, then drop live-widget outputs, which cannot be rendered
clean-nbs: $(STAMP)
	$(BIN)/nbdev-clean
	$(BIN)/python tools/strip_widgets.py

clean:
	rm -rf _proc _docs .pytest_cache
