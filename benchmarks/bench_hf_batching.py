"""hf backend: batched generation (batch 16) against one request at a time, tokens/s on the CPU.

    python benchmarks/bench_hf_batching.py [--model resources/models/smollm2-135m-instruct]

Prints both throughputs and their ratio (target: batched >= 5x), measured in one run, with the
machine's load average, since a shared machine slows both arms. On a machine with more runnable
processes than cores, pass --threads 1: two OpenMP threads that keep losing their core to other
processes make every step several times slower.
"""

from __future__ import annotations

import argparse
import os
import time

from safety_compliance.llm import Request, make_backend
from safety_compliance.registry import ModelEntry

TOPICS = ["data protection", "a bakery", "the ocean", "mountains", "a library", "trains", "a garden", "music",
          "winter", "a market", "bridges", "the moon", "a river", "robots", "a museum", "the desert"]


def throughput(entry: ModelEntry, requests: list[Request]) -> tuple[float, int, float]:
    backend = make_backend(entry, {})
    backend.run(requests[:1], lambda done: None)           # warm-up: first-call costs are not throughput
    tokens = 0

    def count(done):
        nonlocal tokens
        tokens += sum(c.completion_tokens for _, c in done)

    start = time.perf_counter()
    backend.run(requests, count)
    seconds = time.perf_counter() - start
    return tokens / seconds, tokens, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resources/models/smollm2-135m-instruct")
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice); 1 is faster on an oversubscribed machine")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    requests = [Request(messages=({"role": "user", "content": f"Write a long story about {TOPICS[i % len(TOPICS)]}."},),
                        max_tokens=args.max_tokens) for i in range(args.requests)]
    load_before = os.getloadavg()[0]
    one_rate, one_tokens, one_s = throughput(ModelEntry(name="one", model=args.model, batch_size=1), requests)
    batch_rate, batch_tokens, batch_s = throughput(ModelEntry(name="batch", model=args.model,
                                                              batch_size=args.batch), requests)
    print(f"model {args.model}, {args.requests} requests x {args.max_tokens} tokens, CPU threads "
          f"{__import__('torch').get_num_threads()}, load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    print(f"one at a time : {one_tokens} tokens in {one_s:.1f} s = {one_rate:.1f} tokens/s")
    print(f"batch of {args.batch:<4} : {batch_tokens} tokens in {batch_s:.1f} s = {batch_rate:.1f} tokens/s")
    print(f"ratio batched / one-at-a-time = {batch_rate / one_rate:.2f}x (target >= 5x)")


if __name__ == "__main__":
    main()
