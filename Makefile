# Every target sets up what it needs: the virtual environment, the requirements, the data.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
FASHION := data/FashionMNIST/raw/train-images-idx3-ubyte
export PYTHONHASHSEED := 0

CHAPTERS := $(basename $(notdir $(wildcard book/*.ipynb)))
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval-sanitize.cfg

.PHONY: book test bench run data install clean

book: $(INSTALLED) $(FASHION)
	rm -rf _build/html
	$(VENV)/bin/jupyter-book build . --warningiserror --keep-going

test: $(INSTALLED) $(FASHION)
	$(PY) -m pytest tests $(wildcard book/*.ipynb) $(NBVAL)

bench: $(INSTALLED) $(FASHION)
	$(PY) benchmarks/throughput.py

# make run CHAPTER=lottery-ticket PARAMS='-p dataset mnist -p trials 5'
run: $(INSTALLED) $(FASHION)
	@test -n "$(CHAPTER)" -a -f "book/$(CHAPTER).ipynb" || \
		{ echo "make run: CHAPTER='$(CHAPTER)' is not a chapter; valid: $(CHAPTERS)"; exit 2; }
	mkdir -p runs
	cd book && ../$(VENV)/bin/papermill $(CHAPTER).ipynb ../runs/$(CHAPTER).ipynb --kernel python3 \
		-p allow_train True -p store $(CURDIR)/runs/results $(PARAMS)
	@echo "executed notebook: runs/$(CHAPTER).ipynb; new results: runs/results"

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
