# Every target sets up what it needs: the virtual environment, the requirements, the data.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
FASHION := data/FashionMNIST/raw/train-images-idx3-ubyte
export PYTHONHASHSEED := 0

.PHONY: book test bench data install clean

book: $(INSTALLED) $(FASHION)
	rm -rf _build/html
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going

test: $(INSTALLED) $(FASHION)
	$(PY) -m pytest

bench: $(INSTALLED) $(FASHION)
	$(PY) benchmarks/throughput.py

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
