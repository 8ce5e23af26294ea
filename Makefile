# Every target sets up what it needs: the virtual environment, the requirements, the data.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
FASHION := data/FashionMNIST/raw/train-images-idx3-ubyte
MNIST := data/MNIST/raw/train-images-idx3-ubyte
DATA := $(FASHION) $(MNIST)
export PYTHONHASHSEED := 0

NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval-sanitize.cfg

.PHONY: book site test smoke verify bench run notebooks data install browser clean

book: $(INSTALLED) $(DATA)
	rm -rf _build/html
	$(VENV)/bin/jupyter-book build . --warningiserror --keep-going

# The same site, rendered from the chapters' committed outputs instead of executing them: make test's nbval run
# executes every chapter and compares its outputs with those, so executing them for the site too would only repeat it.
SITE_CONFIG := _config-committed-outputs.yml
site: $(INSTALLED) $(DATA)
	rm -rf _build/html
	$(PY) -c "import yaml; c = yaml.safe_load(open('_config.yml')); c['execute']['execute_notebooks'] = 'off'; \
	  yaml.safe_dump(c, open('$(SITE_CONFIG)', 'w'))"
	$(VENV)/bin/jupyter-book build . --config $(SITE_CONFIG) --warningiserror --keep-going

LINTED := lthlib tests benchmarks book/conftest.py book/_ext

# The tests include a browser check of the site just built (tests/test_site.py).
test: $(INSTALLED) $(DATA) browser site
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(PY) -m pytest tests $(wildcard book/*.ipynb) $(NBVAL) --durations=20

# LTHLIB_FULL=1 runs in full a test that make test samples.
# Every chapter's smoke run on every dataset it has a path for (make test runs a sample).
smoke: $(INSTALLED) $(DATA)
	LTHLIB_FULL=1 $(PY) -m pytest tests/test_chapters.py -k smoke_scale

# Every committed record re-trains to its stored curves (make test verifies a sample).
verify: $(INSTALLED) $(DATA)
	LTHLIB_FULL=1 $(PY) -m pytest tests/test_committed_store.py

bench: $(INSTALLED) $(DATA)
	$(PY) benchmarks/throughput.py

# make run CHAPTER=lottery-ticket PARAMS='-p dataset mnist -p trials 5'
# Executes book/CHAPTER.ipynb into runs/CHAPTER.ipynb (new results in runs/results) and renders runs/_build/html.
run: $(INSTALLED) $(DATA)
	$(PY) -m lthlib chapter $(CHAPTER) $(PARAMS)

# Re-executes every chapter (or those named: make notebooks CHAPTERS='deconstructing supermasks') in place against
# the committed store: the outputs nbval compares.
notebooks: $(INSTALLED) $(DATA)
	$(PY) -c "from lthlib.cli import chapter_run; chapter_run.refresh('$(CHAPTERS)'.split())"

install: $(INSTALLED)

# Debian's chromium and its driver, which the browser test drives; installed when root with apt-get.
browser:
	@command -v chromedriver >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends chromium chromium-driver; \
	  else \
	    echo "chromium and chromium-driver are missing and need root and apt-get: the browser test will be skipped"; \
	  fi; }

data: $(DATA)

$(INSTALLED): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

$(FASHION): | $(INSTALLED)
	$(PY) -m lthlib data fashion-mnist

$(MNIST): | $(INSTALLED)
	$(PY) -m lthlib data mnist

clean:
	rm -rf _build runs $(SITE_CONFIG)
