"""Jobs that each ask a vLLM model: every job its own server (keep-alive 0) against a kept one.

    python benchmarks/bench_vllm_reuse.py                      # 4 jobs x 8 requests, keep-alive 0 vs 120
    python benchmarks/bench_vllm_reuse.py --jobs 6 --keep-alive 300

A job is what a Snakemake job is: a process of its own that makes a generator for the registry
entry `smollm2-135m-instruct-vllm` (no call cache), asks 8 short requests (16 new tokens, greedy)
and exits. The jobs run one after the other, first with `llm.vllm_keep_alive: 0` (each starts and
stops its own server), then with the keep-alive (the first job starts a server, the others ask it).
The kept arm starts from an empty record folder (its own TMPDIR), so it pays for one start, and its
server is stopped at the end. Printed: each job's seconds, each arm's total, and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOPICS = ["rivers", "bread", "chess", "tides", "bees", "bridges", "comets", "maps"]


def job(model: str, keep_alive: float, requests: int, log_dir: str) -> None:
    """One job: a generator, `requests` short greedy requests, the generator closed."""
    from safety_compliance.llm import Request, make_generator
    from safety_compliance.registry import get_model, load_registry

    cfg = {"llm": {"cache": "none", "usage_dir": "none", "progress": False, "vllm_log_dir": log_dir,
                   "vllm_keep_alive": keep_alive}}
    asks = [Request(messages=({"role": "user", "content": f"Say one thing about {TOPICS[i % len(TOPICS)]}."},),
                    max_tokens=16) for i in range(requests)]
    with make_generator(get_model(load_registry(ROOT / "config" / "models.yaml"), model), cfg, stage="bench") as gen:
        done = gen.generate(asks)
    failed = [c.error for c in done if c.error]
    if failed:
        raise SystemExit(f"{len(failed)} request(s) failed, e.g. {failed[0]}")


def arm(args, keep_alive: float, tmpdir: str) -> list[float]:
    """Seconds of each job, run one after the other as separate processes."""
    env = {**os.environ, "TMPDIR": tmpdir,
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)}
    seconds = []
    for _ in range(args.jobs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--job", str(keep_alive), "--model", args.model,
                        "--requests", str(args.requests), "--log-dir", args.log_dir], cwd=ROOT, env=env, check=True)
        seconds.append(time.perf_counter() - t0)
    return seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--requests", type=int, default=8, help="requests per job")
    ap.add_argument("--keep-alive", type=float, default=120.0, help="seconds, for the kept arm")
    ap.add_argument("--model", default="smollm2-135m-instruct-vllm")
    ap.add_argument("--log-dir", default="results/logs/vllm")
    ap.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    ap.add_argument("--job", type=float, default=None, help=argparse.SUPPRESS)   # internal: be one job
    args = ap.parse_args(argv)
    if args.job is not None:
        job(args.model, args.job, args.requests, args.log_dir)
        return 0

    from safety_compliance.llm.vllm_pool import state_root, stop_all_kept

    with tempfile.TemporaryDirectory(prefix="bench-vllm-reuse-") as tmpdir:
        own = arm(args, 0.0, tmpdir)
        try:
            kept = arm(args, args.keep_alive, tmpdir)
        finally:
            stopped = stop_all_kept(state_root(tmpdir))
    # A shared machine slows both arms; the load average says how busy it was.
    print(f"{args.jobs} jobs x {args.requests} requests (16 new tokens, greedy), one after the other; at "
          f"{time.strftime('%Y-%m-%d %H:%M:%S')}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'keep-alive':<12}" + "".join(f"{f'job {i + 1} s':>10}" for i in range(args.jobs)) + f"{'total s':>10}")
    for name, seconds in ((0, own), (args.keep_alive, kept)):
        print(f"{name:<12g}" + "".join(f"{s:>10.1f}" for s in seconds) + f"{sum(seconds):>10.1f}")
    print(f"ratio (keep-alive 0 / keep-alive {args.keep_alive:g}): {sum(own) / sum(kept):.2f}x "
          f"({stopped} kept server stopped at the end)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"own": own, "kept": kept, "keep_alive": args.keep_alive}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
