"""The LLM layer: one protocol (`Generator.generate(requests) -> completions`) over every backend.

    from safety_compliance.llm import make_generator, Request
    with make_generator(get_model(registry, "smollm2-135m-instruct"), cfg, stage="synthesize") as gen:
        completions = gen.generate([Request(messages=[{"role": "user", "content": "Hi"}], max_tokens=32)])
"""

from __future__ import annotations

from ..registry import ModelEntry
from .cache import CallCache, cache_path_from_config
from .client import CachedGenerator
from .types import Completion, Constraint, Generator, Request

__all__ = ["CachedGenerator", "Completion", "Constraint", "Generator", "Request", "make_backend", "make_generator"]


def make_backend(entry: ModelEntry, cfg: dict, cache: CallCache | None = None):
    """The bare backend for a registry entry (no cache, no usage): for benchmarks and tests."""
    llm = cfg.get("llm") or {}
    if entry.backend == "hf":
        from .hf import HFBackend

        return HFBackend(entry, cache)
    if entry.backend == "openai":
        from .openai_compat import OpenAIBackend

        return OpenAIBackend(entry, llm)
    if entry.backend == "vllm":
        from .vllm_backend import VLLMBackend

        return VLLMBackend(entry, llm, cache)
    raise ValueError(f"model '{entry.name}' has backend '{entry.backend}', which does not generate text "
                     "(representation models are probes; see safety_compliance.evaluate)")


def make_generator(entry: ModelEntry, cfg: dict, *, stage: str,
                   constraint_retries: int | None = None) -> CachedGenerator:
    """A `Generator` for the registry entry, behind the call cache `llm.cache`.

    Every final answer is stored the moment it exists, so a rerun or a resumed run makes no call
    whose answer is stored. Token counts (and an estimated cost where the entry has prices) are merged
    into `{llm.usage_dir}/{stage}.json` at the end of each `generate` call. Use the generator as a
    context manager (or call `close()`) to release the cache file and the backend.
    `constraint_retries` overrides `llm.max_constraint_retries` for a stage that retries on its own.
    An empty `llm.cache` or `llm.usage_dir` (None, "", "none") writes no cache or no usage file.
    """
    llm = cfg.get("llm") or {}
    path = cache_path_from_config(cfg)
    cache = CallCache(path) if path else None
    try:
        backend = make_backend(entry, cfg, cache)
    except BaseException:
        if cache is not None:
            cache.close()
        raise
    usage_dir = llm.get("usage_dir", "results/usage")
    usage_dir = None if not usage_dir or str(usage_dir).lower() == "none" else usage_dir
    return CachedGenerator(backend, stage=stage, cache=cache, usage_dir=usage_dir,
                           max_constraint_retries=int(llm.get("max_constraint_retries", 2)
                                                      if constraint_retries is None else constraint_retries),
                           prices=(entry.price_per_m_input, entry.price_per_m_output),
                           progress=bool(llm.get("progress", True)))
