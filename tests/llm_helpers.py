"""Small helpers shared by the LLM layer's tests."""

from __future__ import annotations

from pathlib import Path

from safety_compliance.llm import Request


def llm_cfg(tmp: Path, **extra) -> dict:
    return {"llm": {"cache": str(tmp / "cache" / "llm.sqlite"), "usage_dir": str(tmp / "usage"),
                    "max_constraint_retries": 2, "progress": False, **extra}}


def ask(text: str, **kw) -> Request:
    return Request(messages=({"role": "user", "content": text},), **kw)


def mini_stage(model: str, cache: str, out: str, n: int, pause: float = 0.0) -> int:
    """A stage in miniature: n sampled requests to a model folder through make_generator, written as a
    sorted JSONL; each batch waits `pause` seconds first so a test can kill it mid-run. Returns the
    number of calls that reached the model."""
    import time

    from safety_compliance.jsonl import write_jsonl
    from safety_compliance.llm import make_generator
    from safety_compliance.registry import ModelEntry

    cfg = {"llm": {"cache": cache, "usage_dir": cache + ".usage", "progress": False}}
    with make_generator(ModelEntry(name="tiny", model=model, batch_size=2), cfg, stage="resume") as gen:
        slow = gen.backend._generate_batch
        gen.backend._generate_batch = lambda batch: (time.sleep(pause), slow(batch))[1]
        done = gen.generate([ask(f"case {i}", max_tokens=8, temperature=1.0, seed=i) for i in range(n)])
    write_jsonl(out, [{"id": f"{i:03d}", "text": c.text, "finish": c.finish_reason, "tokens": c.completion_tokens}
                      for i, c in enumerate(done)])
    return gen.stats.model_calls
