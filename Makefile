# e3d-lab. The README's two commands: `make reproduce` (regenerate every notebook, figure and table) and
# `make test` (unit tests + every notebook at smoke scale). Both create/update .venv/ as needed; `make html` renders
# the committed notebooks as a static site under build/html/ that reads offline.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
RUN_NB := $(PY) -m e3dlib.notebooks
LIB := $(shell find e3dlib -name "*.py")
# Where pip looks for torch. Empty: PyPI, whose Linux wheel bundles CUDA (several GB of nvidia-* packages).
# CPU-only machines, on a fresh .venv/: make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=

SOURCES := $(sort $(wildcard notebooks/[0-9][0-9]_*.py))
RENDERED := $(SOURCES:.py=.ipynb)
SMOKE := $(patsubst notebooks/%.py,build/smoke/%.ipynb,$(SOURCES))

.PHONY: setup mathjax test unit lint smoke reproduce html browser lab bench clean
.DELETE_ON_ERROR:

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install -q -e '.[test,html]'
	@rm -f $(VENV)/.installed-* && touch $@

# MathJax 2.7.9's files for make html and its browser test, from PyPI's jupyter-server-mathjax. --no-deps: its
# Jupyter server extension (unused here) needs jupyter_server, whose ~20 dependencies add 0.9 s to every import of
# nbformat (papermill, jupytext). Kept out of setup so that environment.yml can give exactly what setup gives.
MATHJAX := $(VENV)/.mathjax-0.2.6
mathjax: $(MATHJAX)
$(MATHJAX): $(STAMP)
	$(PY) -m pip install -q --no-deps jupyter-server-mathjax==0.2.6
	@touch $@

# make test installs Chromium first (browser) and then lets no browser test skip for want of it.
test: export E3D_REQUIRE_CHROMIUM = 1
test: lint unit smoke

lint: setup
	$(PY) -m ruff check .

unit: setup $(MATHJAX) $(if $(filter test,$(MAKECMDGOALS)),browser)
	$(PY) -m pytest -q

# Debian's chromium and chromium-driver for tests/test_html.py (headless, driven over WebDriver's HTTP API).
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium chromium-driver; \
	else echo "make browser: chromium or chromedriver missing; as root: apt-get install chromium chromium-driver" >&2; \
	  exit 2; fi

# The committed notebooks as static pages with local MathJax: build/html/index.html (a few seconds).
html: setup $(MATHJAX)
	$(PY) -m e3dlib.site --out build/html

# Every notebook at scale="smoke", executed into build/smoke/ (ignored); committed outputs are untouched.
smoke: $(SMOKE)
build/smoke/%.ipynb: notebooks/%.py $(STAMP) $(LIB)
	$(RUN_NB) $< --scale smoke --out $@ --figures build/smoke/figures

# The rendered notebooks (committed) and figures/ at scale="proxy". Each notebook is independent: 03, 04 and 07
# share the motion benchmark they generate under data/generated/proxy/motion (whichever runs first writes it),
# 06 generates its own benchmarks there; trained runs are cached in runs/NN/proxy and re-used by later runs.
# FRESH=1 retrains everything: the trained notebooks (those with a runs_dir parameter) get an empty runs_dir under
# build/fresh/ instead of their committed result rows in data/results/ (hours per notebook on 2 cores).
reproduce: $(RENDERED)
notebooks/%.ipynb: notebooks/%.py $(STAMP) $(LIB)
	$(RUN_NB) $< --scale proxy --out $@ --figures figures \
	  $(if $(and $(FRESH),$(shell grep -l '^runs_dir' $<)),-p runs_dir=build/fresh/$*)

lab: setup
	$(PY) -m pip install -q -e '.[lab]'
	$(VENV)/bin/jupyter lab notebooks/

bench: setup
	$(PY) benchmarks/score_speed.py
	$(PY) benchmarks/search_speed.py
	$(PY) benchmarks/train_speed.py
	$(PY) benchmarks/data_speed.py
	$(PY) benchmarks/latency.py

clean:
	rm -rf build .pytest_cache .hypothesis .ruff_cache
