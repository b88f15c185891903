"""The hf backend's per-row draw: torch.multinomial against the inverse-CDF draw it now uses.

    python benchmarks/bench_sampler.py                 # SmolLM2's vocabulary, 2,000 draws each
    python benchmarks/bench_sampler.py --vocab 151936  # Qwen3's

Both arms draw one token from the same softmax over `--vocab` logits, one thread, as a demo job does
(OMP_NUM_THREADS=1). The inverse-CDF arm is `_RowSampler._pick` itself; the baseline is the call it
replaced. Printed: microseconds per draw of each and the ratio. A decoding step draws once per row,
so at the demo's batch of 12 the saving is twelve times the difference per step.
"""

from __future__ import annotations

import argparse
import time

import torch

from safety_compliance.llm.hf import _RowSampler
from safety_compliance.llm.types import Request


def per_draw(draw, draws: int) -> float:
    draw()                                   # warm-up
    start = time.perf_counter()
    for _ in range(draws):
        draw()
    return (time.perf_counter() - start) / draws * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=int, default=49152)
    parser.add_argument("--draws", type=int, default=2000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    logits = torch.randn(args.vocab, generator=torch.Generator().manual_seed(0))
    request = Request(messages=[], temperature=0.7)
    generator = torch.Generator().manual_seed(1)

    def multinomial():
        probs = torch.softmax(logits / request.temperature, dim=-1)
        return int(torch.multinomial(probs, 1, generator=generator))

    baseline = per_draw(multinomial, args.draws)
    ours = per_draw(lambda: _RowSampler._pick(logits, request, generator), args.draws)
    print(f"vocabulary {args.vocab}, {args.draws} draws each, 1 thread")
    print(f"torch.multinomial  {baseline:8.1f} us per draw")
    print(f"inverse CDF        {ours:8.1f} us per draw")
    print(f"ratio              {baseline / ours:8.2f} x faster")


if __name__ == "__main__":
    main()
