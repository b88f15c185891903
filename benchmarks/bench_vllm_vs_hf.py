"""Throughput of the vLLM server against the hf backend, on the same requests, in one run.

    python benchmarks/bench_vllm_vs_hf.py                       # 64 requests x 128 new tokens, greedy
    python benchmarks/bench_vllm_vs_hf.py --hf-batch 16 --hf-batch 64

Both backends get the same 64 chat requests (distinct prompts that ask for long answers), greedy,
128 new tokens at most, with no cache. The hf backend generates in batches of `--hf-batch`; the
vLLM server (registry entry `smollm2-135m-instruct-vllm`, from `make vllm-env`) gets all requests
at once and batches them itself. Printed per backend: completion tokens, seconds, tokens/s, and
the ratio vLLM / hf; first for generation alone, then with the model load (hf) or the server start
(vLLM) included.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from safety_compliance.llm import Request, make_backend
from safety_compliance.llm.hf import load_model
from safety_compliance.registry import get_model, load_registry

TOPICS = ["the water cycle", "how vaccines work", "the history of the printing press", "photosynthesis",
          "the causes of the French Revolution", "how a bicycle stays upright", "plate tectonics",
          "the life of honeybees", "how compilers work", "the Roman road network", "ocean tides",
          "the invention of the telephone", "how batteries store energy", "the migration of birds",
          "the rules of chess", "how bread rises"]
STYLES = ["Explain {} to a curious twelve-year-old, step by step.", "Write a detailed essay about {}.",
          "Describe {} in depth, with examples.", "Give a long, thorough overview of {}."]


def requests(n: int, max_tokens: int) -> list[Request]:
    prompts = [style.format(topic) for style in STYLES for topic in TOPICS]
    return [Request(messages=({"role": "user", "content": prompts[i % len(prompts)]},), max_tokens=max_tokens)
            for i in range(n)]


def drive(backend, batch: list[Request]) -> tuple[int, float]:
    """(completion tokens, seconds) for one pass of `batch` through a bare backend."""
    tokens = 0
    failed: list[str] = []

    def on_results(done):
        nonlocal tokens
        for _, completion in done:
            tokens += completion.completion_tokens
            if completion.error:
                failed.append(completion.error)

    t0 = time.perf_counter()
    backend.run(batch, on_results)
    seconds = time.perf_counter() - t0
    if failed:
        raise RuntimeError(f"{len(failed)} request(s) failed, e.g. {failed[0]}")
    return tokens, seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=64)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--hf-batch", type=int, action="append", help="hf batch size (repeatable; default 64)")
    ap.add_argument("--hf-model", default="smollm2-135m-instruct")
    ap.add_argument("--vllm-model", default="smollm2-135m-instruct-vllm")
    ap.add_argument("--vllm-env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment for the server (e.g. VLLM_CPU_NUM_OF_RESERVED_CPU=0)")
    ap.add_argument("--models-file", default="config/models.yaml")
    ap.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    args = ap.parse_args(argv)

    registry = load_registry(args.models_file)
    batch = requests(args.requests, args.max_tokens)
    cfg = {"llm": {"progress": False, "vllm_log_dir": "results/logs/vllm"}}
    rows = []
    for size in args.hf_batch or [64]:
        load_model.cache_clear()   # each arm pays its own model load
        t0 = time.perf_counter()
        hf = make_backend(replace(get_model(registry, args.hf_model), batch_size=size), cfg)
        hf.load()
        load = time.perf_counter() - t0
        tokens, seconds = drive(hf, batch)
        rows.append({"backend": f"hf (batch {size})", "tokens": tokens, "seconds": seconds, "setup_s": load})
        del hf

    entry = get_model(registry, args.vllm_model)
    env = dict(kv.split("=", 1) for kv in args.vllm_env)
    entry = replace(entry, options={**entry.options, "env": {**entry.options.get("env", {}), **env}})
    served = make_backend(entry, cfg)
    try:
        t0 = time.perf_counter()
        served.where = served.server.start()
        start = time.perf_counter() - t0
        tokens, seconds = drive(served, batch)
    finally:
        served.close()
    rows.append({"backend": "vllm server", "tokens": tokens, "seconds": seconds, "setup_s": start})

    base = max((r for r in rows if r["backend"].startswith("hf")), key=lambda r: r["tokens"] / r["seconds"])
    # A shared machine slows both arms; the load average says how busy it was.
    print(f"{args.requests} requests x {args.max_tokens} new tokens, greedy; at {time.strftime('%Y-%m-%d %H:%M:%S')}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'backend':<16}{'tokens':>8}{'gen s':>9}{'tok/s':>9}{'ratio':>8}{'setup s':>10}"
          f"{'tok/s incl.':>13}{'ratio':>8}")
    for r in rows:
        r["tok_s"] = r["tokens"] / r["seconds"]
        r["tok_s_with_setup"] = r["tokens"] / (r["seconds"] + r["setup_s"])
        r["ratio"] = r["tok_s"] / (base["tokens"] / base["seconds"])
        r["ratio_with_setup"] = r["tok_s_with_setup"] / (base["tokens"] / (base["seconds"] + base["setup_s"]))
        print(f"{r['backend']:<16}{r['tokens']:>8}{r['seconds']:>9.1f}{r['tok_s']:>9.1f}{r['ratio']:>8.2f}"
              f"{r['setup_s']:>10.1f}{r['tok_s_with_setup']:>13.1f}{r['ratio_with_setup']:>8.2f}")
    print(f"ratios against {base['backend']}; 'setup' is the model load (hf) or the server start to healthy (vLLM)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
