"""The `vllm` backend: our own `vllm serve` process, asked through the `openai` backend.

The server runs from vLLM's own environment (`llm.vllm_python`; by default the checkout's
`.venv-vllm`, made by `make vllm-env`), so vLLM's pinned torch and transformers never meet ours.
Everything past the server start is the `openai` backend's: concurrency, transport retries, usage.
JSON schemas and regexes go to the server's structured outputs and are enforced while decoding.

The server starts on the first cache miss (a warm rerun starts none), on a free loopback port unless
the entry's `options.port` names one, and is stopped with the generator (see vllm_server.py for
exits, exceptions and SIGTERM). Its output goes to `{llm.vllm_log_dir}/{model}-{time}-{pid}.log`.
With `llm.vllm_keep_alive` > 0 seconds, the generator instead asks the server another job left
running on this machine for the same weights and engine arguments, or starts one that stays up until
unused for that long (vllm_pool.py).
Registry options: `engine` (vLLM engine arguments, `{max_model_len: 4096, enforce_eager: true}` ->
`--max-model-len 4096 --enforce-eager`), `env` (environment variables for the server, such as
VLLM_CPU_KVCACHE_SPACE), `port`, and `chat_template` (sent with each request, so that entries with
other templates can share the server).
"""

from __future__ import annotations

import asyncio
import hashlib
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
from .vllm_pool import PooledServer
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
        keep_alive = float(llm.get("vllm_keep_alive") or 0)
        if keep_alive < 0:
            raise ValueError(f"llm.vllm_keep_alive is {keep_alive:g}; give seconds >= 0 (0: each job its own server)")
        # Only what the server itself needs, so entries with the same weights and engine arguments can
        # share one (the served name comes from these). JSON without free whitespace, compiled by
        # xgrammar as in the hf backend: a small model would otherwise pad its answer with newlines
        # until max_tokens cuts it. An entry's chat template goes with each request instead.
        args = ["--dtype", entry.dtype, "--seed", "0", "--trust-request-chat-template",
                "--structured-outputs-config", json.dumps({"backend": "xgrammar", "disable_any_whitespace": True}),
                *engine_flags(options.get("engine") or {})]
        if entry.revision:
            args += ["--revision", entry.revision]
        logs = _project_path(llm.get("vllm_log_dir") or "results/logs/vllm")
        spec = VLLMServer(vllm_python(llm), str(folder or entry.model), args, port=options.get("port"),
                          env=options.get("env"), log_path=logs,
                          startup_timeout=float(llm.get("vllm_startup_timeout", 900)))
        # A kept server serves several entries, so its log is named after what it serves.
        stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        spec.log_path = logs / f"{spec.served_name if keep_alive else entry.name}-{stamp}.log"
        self.server = PooledServer(spec, keep_alive) if keep_alive else spec
        self.chat_template = options.get("chat_template")
        # Requests name the served model; the base URL is known once the server has its port.
        served = replace(entry, model=spec.served_name, base_url="http://unstarted", api_key_env=None,
                         structured_output="vllm")
        super().__init__(served, llm)
        weights = f"sha256:{folder_fingerprint(folder, cache)}" if folder and not entry.revision else \
            f"{entry.model}@{entry.revision or 'unpinned'}"
        template = f"|template:{hashlib.sha256(self.chat_template.encode()).hexdigest()[:16]}" \
            if self.chat_template else ""    # another template is another prompt
        self.identity = f"vllm|{weights}|{entry.dtype}{template}"

    def __repr__(self) -> str:
        return f"VLLMBackend(model={self.server.model!r}, server={self.server.base_url if self.server.port else None})"

    def _arguments(self, request: Request) -> dict:
        args = super()._arguments(request)
        if self.chat_template:
            args["extra_body"] = {**args.get("extra_body", {}), "chat_template": self.chat_template}
        return args

    def run(self, requests: Sequence[Request], on_results: Callable[[list[tuple[int, Completion]]], None]) -> None:
        if self.server.pid is None:
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
