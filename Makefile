# Every target sets up what it needs: the virtual environment, the requirements, the data.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
FASHION := data/FashionMNIST/raw/train-images-idx3-ubyte
export PYTHONHASHSEED := 0

NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval-sanitize.cfg

.PHONY: book test verify bench run data install clean

book: $(INSTALLED) $(FASHION)
	rm -rf _build/html
	$(VENV)/bin/jupyter-book build . --warningiserror --keep-going

LINTED := lthlib tests benchmarks book/conftest.py

test: $(INSTALLED) $(FASHION)
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(PY) -m pytest tests $(wildcard book/*.ipynb) $(NBVAL)

# Every committed record re-trains to its stored curves (make test verifies a sample).
verify: $(INSTALLED) $(FASHION)
	LTHLIB_VERIFY_ALL=1 $(PY) -m pytest tests/test_committed_store.py

bench: $(INSTALLED) $(FASHION)
	$(PY) benchmarks/throughput.py

# make run CHAPTER=lottery-ticket PARAMS='-p dataset mnist -p trials 5'
# Executes book/CHAPTER.ipynb into runs/CHAPTER.ipynb (new results in runs/results) and renders runs/_build/html.
run: $(INSTALLED) $(FASHION)
	$(PY) -m lthlib chapter $(CHAPTER) $(PARAMS)

install: $(INSTALLED)

data: $(FASHION)

$(INSTALLED): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

$(FASHION): | $(INSTALLED)
	$(PY) -m lthlib data fashion-mnist

clean:
	rm -rf _build runs
