"""openai backend: N requests at concurrency C against the loopback server with latency L.

    python benchmarks/bench_openai_concurrency.py [--n 200 --concurrency 16 --latency 0.25]

Target: the clean run finishes within 1.2 x N*L/C (the time a perfect client would take). Then the
same with 30 % of attempts failing (429 with Retry-After, 500, dropped connections, timeouts): every
request must complete exactly once; prints attempts per request and the time against the ideal.
Requests go through make_generator (cache included, in a temporary folder).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from loopback_openai import fetch_stats, separate_process  # noqa: E402
from safety_compliance.llm import Request, make_generator  # noqa: E402
from safety_compliance.registry import ModelEntry  # noqa: E402


def run(n: int, concurrency: int, latency: float, fault_rate: float) -> None:
    requests = [Request(messages=({"role": "user", "content": f"request {i}"},), max_tokens=16) for i in range(n)]
    ideal = n * latency / concurrency
    with tempfile.TemporaryDirectory() as tmp, \
            separate_process(latency=latency, fault_rate=fault_rate, retry_after=0.1, hang=latency + 1.5,
                             seed=1) as url:
        entry = ModelEntry(name="loopback", model="loop", backend="openai", base_url=url, concurrency=concurrency)
        cfg = {"llm": {"cache": f"{tmp}/cache.sqlite", "usage_dir": tmp, "progress": False, "max_retries": 6,
                       "backoff_base": 0.05, "backoff_max": 1.0,
                       "request_timeout": latency + 1.0}}   # an injected timeout holds the call longer
        with make_generator(entry, cfg, stage="bench") as gen:
            # Warm-up (imports, connections) on other requests, so the timing is the steady state.
            gen.generate([Request(messages=({"role": "user", "content": f"warm-up {i}"},), max_tokens=4)
                          for i in range(concurrency)])
            start, cpu = time.perf_counter(), time.process_time()
            out = gen.generate(requests)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        stats = fetch_stats(url)
    ok = sum(c.ok for c in out)
    once = len(stats["served"]) == n + concurrency and set(stats["served"].values()) == {1}
    attempts = Counter(c.attempts for c in out)
    label = "clean" if fault_rate == 0 else f"{fault_rate:.0%} faults"
    print(f"[{label}] N={n} C={concurrency} L={latency:g}s: {seconds:.2f} s, ideal N*L/C = {ideal:.2f} s, "
          f"ratio {seconds / ideal:.2f} (target <= 1.2); client CPU {1000 * cpu / n:.1f} ms per request")
    print(f"[{label}] completed {ok}/{n}, each answered exactly once: {once}; "
          f"faults injected {stats['injected']}")
    print(f"[{label}] attempts per request: "
          + ", ".join(f"{k}: {v}" for k, v in sorted(attempts.items()))
          + f" (mean {sum(c.attempts for c in out) / n:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--fault-rate", type=float, default=0.3)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (server in its own process)")
    run(args.n, args.concurrency, args.latency, 0.0)
    run(args.n, args.concurrency, args.latency, args.fault_rate)
    print(f"load average {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
