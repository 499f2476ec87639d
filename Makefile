# repro — reproduce deep-learning papers with a verdict.
#   make reproduce-double-descent SCALE=quick    CPU minutes, no download
#   make reproduce-double-descent                the paper's setup (GPU, real datasets under $REPRO_DATA)
#   make reproduce-simplicity-bias               the paper-scale synthetic study, on a CPU
#   make test                                    the test suite (creates .venv on first use)

SCALE ?= paper
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
ARGS ?=
# make test: pytest processes (pytest-xdist); each gets whole test files, so a module's trained study is shared
# by its tests, in collection order (tests/papers/ first: the quick studies, the longest, start first). Each quick
# study trains on 2 processes of its own; on a machine with many cores raise it.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

.PHONY: install test test-fast lint list bench bench-gpu gpu-wheels data clean-results reproduce-% report-%

# The environment: created when missing, reinstalled when pyproject.toml changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch and torchvision pinned together (pyproject.toml); a lone torchvision fails to import.
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

test: $(STAMP) data
	$(PYTEST)

test-fast: $(STAMP) data  ## everything but the tests that train whole quick studies
	$(PYTEST) -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check repro tests

list: $(STAMP)
	$(BIN)/repro list

bench: $(STAMP)
	$(BIN)/repro bench $(ARGS)

# On a machine with a GPU: the whole GPU check (benches + the double-descent gpu study) into OUT, installing from
# .whl/ what the machine lacks. TINY=1 tries it end to end in seconds (e.g. on a CPU first).
bench-gpu:
	OUT=$(OUT) TINY=$(TINY) PYTHON=$(or $(GPU_PYTHON),python) bash repro/bench/gpu_check.sh

# Here (with a package registry): the wheels and the Fashion-MNIST .deb a GPU machine without one needs, into .whl/.
GPU_WHEELS := jsonargparse[signatures] rich matplotlib filelock
gpu-wheels: $(STAMP)
	@mkdir -p .whl
	$(BIN)/python -m pip download --quiet --dest .whl --only-binary=:all: $(GPU_WHEELS)
	@rm -f .whl/numpy-*.whl .whl/pillow-*.whl .whl/packaging-*.whl .whl/typing_extensions-*.whl  # the GPU machine has them
	cd .whl && apt-get download dataset-fashion-mnist
	@du -sh .whl

# make reproduce-double-descent [SCALE=quick|paper|gpu] [ARGS="--workers 4"]
reproduce-%: $(STAMP)
	$(BIN)/repro reproduce $(subst -,_,$*) --scale $(SCALE) $(ARGS)

# Redraw a report from cached results without training.
report-%: $(STAMP)
	$(BIN)/repro report $(subst -,_,$*) --scale $(SCALE) $(ARGS)

# Real Fashion-MNIST images with no download from its host and no root: Debian's dataset-fashion-mnist package,
# fetched with `apt-get download` and unpacked into data/fashion-mnist/ (a no-op when the files are already
# there, e.g. from the system-wide package). Paper-scale datasets download into $$REPRO_DATA on first use.
data: $(STAMP)
	$(BIN)/repro data fashion_mnist

clean-results:
	rm -rf results
