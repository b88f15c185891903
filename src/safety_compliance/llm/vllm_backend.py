"""The `vllm` backend: our own `vllm serve` process, asked through the `openai` backend.

The server runs from vLLM's own environment (`llm.vllm_python`; by default the checkout's
`.venv-vllm`, made by `make vllm-env`), so vLLM's pinned torch and transformers never meet ours.
Everything past the server start is the `openai` backend's: concurrency, transport retries, usage.
JSON schemas and regexes go to the server's structured outputs and are enforced while decoding.

The server starts on the first cache miss (a warm rerun starts none), on a free loopback port unless
the entry's `options.port` names one, and is stopped with the generator (see vllm_server.py for
exits, exceptions and SIGTERM). Its output goes to `{llm.vllm_log_dir}/{model}-{time}-{pid}.log`.
Registry options: `engine` (vLLM engine arguments, `{max_model_len: 4096, enforce_eager: true}` ->
`--max-model-len 4096 --enforce-eager`), `env` (environment variables for the server, such as
VLLM_CPU_KVCACHE_SPACE), `port`, and `chat_template`.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from ..registry import ModelEntry
from .cache import CallCache, folder_fingerprint
from .openai_compat import LLMError, OpenAIBackend
from .types import Completion, Request
from .vllm_server import VLLMServer


def engine_flags(engine: dict) -> list[str]:
    """vLLM command-line flags for engine arguments: True -> --flag, False -> --no-flag, dicts as JSON."""
    flags: list[str] = []
    for key, value in engine.items():
        name = key.replace("_", "-")
        if value is None:
            continue
        if isinstance(value, bool):
            flags.append(f"--{name}" if value else f"--no-{name}")
        elif isinstance(value, (dict, list)):
            flags += [f"--{name}", json.dumps(value)]
        else:
            flags += [f"--{name}", str(value)]
    return flags


def _project_path(path: str) -> Path:
    from ..paths import project_root

    candidate = Path(path).expanduser()
    if candidate.is_absolute():
        return candidate
    try:
        return project_root() / candidate
    except FileNotFoundError:
        return Path.cwd() / candidate


def vllm_python(llm: dict) -> str:
    """The interpreter of the vLLM environment (not resolved: a venv's python is a symlink)."""
    return str(_project_path(llm.get("vllm_python") or ".venv-vllm/bin/python"))


def local_model(model: str) -> Path | None:
    """The folder of a local model, None for a hub id ("org/name"); a missing folder is an error now,
    not a failed download inside the server minutes later."""
    if not (model.startswith((".", "/", "~")) or model.count("/") >= 2 or Path(model).exists()):
        return None
    folder = Path(model).expanduser().absolute()
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"model folder '{model}' does not exist or holds no config.json "
                                "(for the embedded model run `safety-compliance model embed`)")
    return folder


class VLLMBackend(OpenAIBackend):
    deterministic = True   # one server, seeded requests: a greedy answer repeats itself

    def __init__(self, entry: ModelEntry, llm: dict, cache: CallCache | None = None):
        folder = local_model(entry.model)
        options = dict(entry.options)
        # JSON without free whitespace, compiled by xgrammar as in the hf backend: a small model would
        # otherwise pad its answer with newlines until max_tokens cuts it.
        args = ["--served-model-name", entry.name, "--dtype", entry.dtype, "--seed", "0",
                "--structured-outputs-config", json.dumps({"backend": "xgrammar", "disable_any_whitespace": True}),
                *engine_flags(options.get("engine") or {})]
        if entry.revision:
            args += ["--revision", entry.revision]
        if options.get("chat_template"):
            args += ["--chat-template", options["chat_template"]]
        stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        self.server = VLLMServer(
            vllm_python(llm), str(folder or entry.model), args, port=options.get("port"), env=options.get("env"),
            log_path=_project_path(llm.get("vllm_log_dir") or "results/logs/vllm") / f"{entry.name}-{stamp}.log",
            startup_timeout=float(llm.get("vllm_startup_timeout", 900)))
        # Requests name the served model; the base URL is known once the server has its port.
        served = replace(entry, model=entry.name, base_url="http://unstarted", api_key_env=None,
                         structured_output="vllm")
        super().__init__(served, llm)
        weights = f"sha256:{folder_fingerprint(folder, cache)}" if folder and not entry.revision else \
            f"{entry.model}@{entry.revision or 'unpinned'}"
        self.identity = f"vllm|{weights}|{entry.dtype}"

    def __repr__(self) -> str:
        return f"VLLMBackend(model={self.server.model!r}, server={self.server.base_url if self.server.port else None})"

    def run(self, requests: Sequence[Request], on_results: Callable[[list[tuple[int, Completion]]], None]) -> None:
        if self.server.process is None:
            self.where = self.server.start()
        if not self.server.alive():
            raise LLMError(self.server.failure("is no longer running"))
        done = asyncio.run_coroutine_threadsafe(self._run_all(list(requests), on_results), self._start())
        # A dead server would otherwise cost every request its whole retry budget before failing.
        while True:
            try:
                return done.result(timeout=1.0)
            except TimeoutError:
                if not self.server.alive():
                    done.cancel()
                    raise LLMError(self.server.failure("stopped during the job; the answers it gave are "
                                                       "cached, so a rerun resumes")) from None

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.server.stop()
