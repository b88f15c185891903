"""The `vllm` backend: vLLM's offline engine on GPUs (the optional extra `vllm`).

vLLM pins its own transformers, so it lives in a separate environment on GPU nodes; the default
environment does not install it. Constraints go to vLLM's structured outputs (xgrammar inside), the
same guarantee the hf backend gives. Engine arguments (tensor_parallel_size, gpu_memory_utilization,
max_model_len, ...) come from the registry entry's `options.engine`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..registry import ModelEntry
from .types import Completion, Request


class VLLMBackend:
    deterministic = True   # one engine, fixed seeds: greedy answers repeat themselves

    def __init__(self, entry: ModelEntry):
        try:
            from vllm import LLM
        except ImportError:
            raise ImportError(f"model '{entry.name}' uses the vllm backend, but vllm is not installed here; "
                              "install the extra (`pip install -e .[vllm]`) in a GPU environment, or register "
                              "the model with backend: hf") from None
        self.entry = entry
        self.model_id = entry.name
        self.identity = f"vllm|{entry.model}@{entry.revision or 'unpinned'}|{entry.dtype}"
        self._engine_class = LLM
        self.engine = None   # started on the first cache miss: a warm rerun never waits for it

    def _start(self):
        if self.engine is None:
            self.engine = self._engine_class(model=self.entry.model, revision=self.entry.revision,
                                             dtype=self.entry.dtype, seed=0, **self.entry.options.get("engine", {}))
        return self.engine

    @staticmethod
    def sampling(request: Request):
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        structured = None
        if request.constraint is not None:
            kind = {"json_schema": "json", "regex": "regex"}.get(request.constraint.kind)
            if kind is None:
                raise ValueError(f"unknown constraint kind '{request.constraint.kind}'; use 'json_schema' or 'regex'")
            structured = StructuredOutputsParams(**{kind: request.constraint.value})
        return SamplingParams(temperature=request.temperature, top_p=request.top_p,
                              repetition_penalty=request.repetition_penalty, max_tokens=request.max_tokens,
                              seed=request.seed, stop=list(request.stop) or None, structured_outputs=structured)

    def run(self, requests: Sequence[Request], on_results: Callable[[list[tuple[int, Completion]]], None]) -> None:
        # The engine schedules its own batches; chunks bound the work lost to a killed job.
        chunk = max(1, int(self.entry.batch_size)) * 8
        for start in range(0, len(requests), chunk):
            part = list(requests[start:start + chunk])
            outputs = self._start().chat([[dict(m) for m in r.messages] for r in part],
                                       sampling_params=[self.sampling(r) for r in part], use_tqdm=False,
                                       chat_template=self.entry.options.get("chat_template"))
            done = []
            for offset, output in enumerate(outputs):
                best = output.outputs[0]
                done.append((start + offset, Completion(
                    text=best.text, finish_reason=best.finish_reason or "stop",
                    prompt_tokens=len(output.prompt_token_ids or []), completion_tokens=len(best.token_ids))))
            on_results(done)
