#!/usr/bin/env bash
# What `make test` runs once set up: the unit and end-to-end tests, then every notebook under nbval
# with its default parameters (config/config.yaml under the config/test.yaml sizes), in pipeline
# order, so each reads what the one before wrote. `--fast` (make test-fast): the unit tests alone.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
# One BLAS thread per process: tests start Snakemake and SLURM jobs beside the pytest process, and
# torch's spinning threads slow down many times over when processes outnumber the 2 cores.
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=1
if [ "${1:-}" = "--fast" ]; then
  shift
  exec python -m pytest -p no:cacheprovider tests -m "not slow" --timeout=600 "$@"
fi
python -m pytest -p no:cacheprovider tests notebooks --nbval-lax --timeout=1800 --durations=25 "$@"
