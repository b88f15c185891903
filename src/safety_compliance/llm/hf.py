"""The `hf` backend: transformers, batched, left-padded, through the model's own chat template.

Sampling is done per row by one logits processor, so each request keeps its own settings, seed and
grammar inside a shared batch: a request's sampled tokens come from its own seeded generator and do
not depend on which other requests share its batch (up to the float noise of padding). The processor
picks the token and masks everything else; transformers' greedy step then merely carries it out.
A request's `avoid` phrases are banned while decoding (phrase_ban.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path

from ..registry import ModelEntry
from .cache import CallCache, folder_fingerprint
from .phrase_ban import PhraseBan
from .types import Completion, Constraint, Request


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _checked(model: str, dtype: str):
    """The torch dtype (or "auto") after checking the arguments, so bad ones fail before any load."""
    import torch

    # A hub id is "org/name"; anything deeper or anchored is a folder, and a missing one is an error
    # here rather than a confusing failed download.
    looks_local = model.startswith((".", "/", "~")) or model.count("/") >= 2
    if looks_local and not Path(model).expanduser().is_dir():
        raise FileNotFoundError(f"model folder '{model}' does not exist (for the embedded model run "
                                "`safety-compliance model embed`)")
    torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype, None)
    if not (torch_dtype == "auto" or isinstance(torch_dtype, torch.dtype)):
        raise ValueError(f"unknown dtype '{dtype}' for model '{model}'; use auto, float32, bfloat16 or float16")
    return torch_dtype


@functools.lru_cache(maxsize=2)
def load_model(model: str, dtype: str = "float32", device: str = "auto", revision: str | None = None):
    """(model, tokenizer) loaded once per process: a local folder or a hub id, in eval mode.

    The tokenizer pads on the left, as batched generation needs; other callers (hidden-state
    probes, say) may reuse the pair.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = _checked(model, dtype)
    tokenizer = AutoTokenizer.from_pretrained(model, revision=revision)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    net = AutoModelForCausalLM.from_pretrained(model, revision=revision, dtype=torch_dtype)
    net.to(resolve_device(device)).eval()
    return net, tokenizer


class _RowSampler:
    """A logits processor that chooses every row's next token under that row's own settings."""

    def __init__(self, requests, prompt_lens, eos_ids, tokenizer, matchers, bitmask, device, ban=None):
        import torch

        self.requests = requests
        self.ban = ban
        self.prompt_lens = prompt_lens
        self.eos = eos_ids
        self.tokenizer = tokenizer
        self.matchers = matchers
        self.bitmask = bitmask
        self.tokens: list[list[int]] = [[] for _ in requests]
        self.finish: list[str | None] = [None] * len(requests)
        self.generators = [torch.Generator(device=device).manual_seed(int(r.seed)) for r in requests]

    def __call__(self, input_ids, scores):
        import torch

        chosen = torch.full_like(scores, float("-inf"))
        width = input_ids.shape[1]
        for row, request in enumerate(self.requests):
            matcher = self.matchers[row]
            if self.finish[row] is not None or len(self.tokens[row]) >= request.max_tokens:
                # A finished grammar admits nothing but EOS, so reaching the limit there is a stop.
                complete = matcher is not None and matcher.is_completed()
                self.finish[row] = self.finish[row] or ("stop" if complete else "length")
                chosen[row, self.eos[0]] = 0.0
                continue
            logits = scores[row].float().clone()
            if request.repetition_penalty != 1.0:
                seen = input_ids[row, width - self.prompt_lens[row] - len(self.tokens[row]):].unique()
                picked = logits[seen]
                logits[seen] = torch.where(picked > 0, picked / request.repetition_penalty,
                                           picked * request.repetition_penalty)
            if matcher is not None:
                import xgrammar as xgr

                matcher.fill_next_token_bitmask(self.bitmask, row)
                xgr.apply_token_bitmask_inplace(logits.unsqueeze(0), self.bitmask[row:row + 1].to(logits.device),
                                                vocab_size=logits.shape[0])
            if request.avoid:
                self._ban_phrases(logits, row, request.avoid)
            token = self._pick(logits, request, self.generators[row])
            chosen[row, token] = 0.0
            if token in self.eos:
                self.finish[row] = "stop"
                continue
            self.tokens[row].append(token)
            if matcher is not None:
                matcher.accept_token(token)
            if request.stop and any(s in self.text(row) for s in request.stop):
                self.finish[row] = "stop"
        return chosen

    def _ban_phrases(self, logits, row: int, phrases) -> None:
        import torch

        banned = self.ban.banned(self.tokens[row], self.tokenizer, phrases)
        if not banned:
            return
        kept = logits[banned].clone()
        logits[banned] = float("-inf")
        # Where the grammar admits nothing else, the phrase is let through and the caller's check decides.
        if not torch.isfinite(logits).any():
            logits[banned] = kept

    @staticmethod
    def _pick(logits, request: Request, generator) -> int:
        import torch

        if request.temperature <= 0:
            return int(torch.argmax(logits))
        probs = torch.softmax(logits / request.temperature, dim=-1)
        if request.top_p < 1.0:
            ordered, order = torch.sort(probs, descending=True)
            # Keep the smallest head whose mass reaches top_p (the first token always stays).
            drop = ordered.cumsum(-1) - ordered > request.top_p
            ordered[drop] = 0.0
            probs = torch.zeros_like(probs).scatter(0, order, ordered)
        # Inverting the CDF: torch.multinomial takes 1-1.6 ms per draw over a 49k vocabulary (at the
        # demo's batch of 12, about 7 % of a decoding step); this is 8x faster
        # (benchmarks/bench_sampler.py).
        cdf = probs.cumsum(-1)
        point = torch.rand((), generator=generator, device=cdf.device) * cdf[-1]
        return int(torch.searchsorted(cdf, point, right=True).clamp(max=cdf.numel() - 1))

    def text(self, row: int) -> str:
        return self.tokenizer.decode(self.tokens[row], skip_special_tokens=True)

    def done(self) -> bool:
        return all(f is not None for f in self.finish)


class HFBackend:
    """Batched local generation; JSON-schema and regex constraints enforced with xgrammar."""

    deterministic = True   # greedy decoding repeats itself, so a failed greedy request is not retried

    def __init__(self, entry: ModelEntry, cache: CallCache | None = None):
        self.entry = entry
        self.model_id = entry.name
        _checked(entry.model, entry.dtype)
        # A local folder is known by its content, so moving it keeps the cache and changing it does not.
        if Path(entry.model).is_dir() and entry.revision is None:
            weights = "sha256:" + folder_fingerprint(entry.model, cache)
        else:
            weights = f"{entry.model}@{entry.revision or 'unpinned'}"
        self.identity = f"hf|{weights}|{entry.dtype}"
        self.batch_size = max(1, int(entry.batch_size))
        # Loaded on the first cache miss: a rerun answered from the cache never pays for the load.
        self.model = self.tokenizer = None
        self.eos_ids: list[int] = []
        self._compiler = None
        self._grammars: dict[str, object] = {}
        self._ban: PhraseBan | None = None

    def load(self) -> None:
        if self.model is not None:
            return
        entry = self.entry
        self.model, self.tokenizer = load_model(entry.model, entry.dtype, entry.device, entry.revision)
        if not self.tokenizer.chat_template:
            raise ValueError(f"model '{entry.name}' ({entry.model}) has no chat template")
        eos = self.model.generation_config.eos_token_id
        eos = eos if isinstance(eos, list) else [eos] if eos is not None else []
        self.eos_ids = [self.tokenizer.eos_token_id] + [e for e in eos if e != self.tokenizer.eos_token_id]

    def run(self, requests: Sequence[Request], on_results: Callable[[list[tuple[int, Completion]]], None]) -> None:
        self.load()
        # Consecutive fixed-size chunks, each stored whole: a resumed run cuts its remaining
        # requests into the very same batches, so even padding noise repeats itself.
        for start in range(0, len(requests), self.batch_size):
            batch = list(requests[start:start + self.batch_size])
            on_results([(start + offset, c) for offset, c in enumerate(self._generate_batch(batch))])

    def _generate_batch(self, batch: list[Request]) -> list[Completion]:
        import torch
        from transformers import GenerationConfig, LogitsProcessorList

        # A registry entry may carry its own template (Llama Guard: our category list, not its default).
        template = self.entry.options.get("chat_template")
        prompts = [self.tokenizer.apply_chat_template([dict(m) for m in r.messages], tokenize=False,
                                                      add_generation_prompt=True, chat_template=template)
                   for r in batch]
        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        enc = {k: v.to(self.model.device) for k, v in enc.items()}
        prompt_lens = [int(n) for n in enc["attention_mask"].sum(dim=1)]
        matchers, bitmask = self._matchers(batch)
        if self._ban is None and any(r.avoid for r in batch):
            self._ban = PhraseBan(self.tokenizer)
        sampler = _RowSampler(batch, prompt_lens, self.eos_ids, self.tokenizer, matchers, bitmask,
                              self.model.device, self._ban)
        config = GenerationConfig(do_sample=False, max_new_tokens=max(r.max_tokens for r in batch) + 1,
                                  eos_token_id=self.eos_ids, pad_token_id=self.tokenizer.pad_token_id)
        with torch.inference_mode():
            self.model.generate(**enc, generation_config=config, logits_processor=LogitsProcessorList([sampler]))
        completions = []
        for row, request in enumerate(batch):
            text = sampler.text(row)
            finish = sampler.finish[row] or "length"
            for stop in request.stop:
                if stop in text:
                    text, finish = text[: text.index(stop)], "stop"
            completions.append(Completion(text=text, finish_reason=finish, prompt_tokens=prompt_lens[row],
                                          completion_tokens=len(sampler.tokens[row])))
        return completions

    def _matchers(self, batch: list[Request]):
        if all(r.constraint is None for r in batch):
            return [None] * len(batch), None
        import xgrammar as xgr

        if self._compiler is None:
            info = xgr.TokenizerInfo.from_huggingface(self.tokenizer, vocab_size=self.model.config.vocab_size,
                                                      stop_token_ids=self.eos_ids)
            self._compiler = (xgr.GrammarCompiler(info), info)
        compiler, info = self._compiler
        matchers = []
        for request in batch:
            if request.constraint is None:
                matchers.append(None)
                continue
            matchers.append(xgr.GrammarMatcher(self._grammar(compiler, request.constraint)))
        return matchers, xgr.allocate_token_bitmask(len(batch), info.vocab_size)

    def _grammar(self, compiler, constraint: Constraint):
        import json

        key = json.dumps([constraint.kind, constraint.value], sort_keys=True)
        if key not in self._grammars:
            if constraint.kind == "json_schema":
                # Compact JSON: a grammar that allows free whitespace lets a weak model pad forever.
                self._grammars[key] = compiler.compile_json_schema(json.dumps(constraint.value),
                                                                   any_whitespace=False)
            elif constraint.kind == "regex":
                self._grammars[key] = compiler.compile_regex(constraint.value)
            else:
                raise ValueError(f"unknown constraint kind '{constraint.kind}'; use 'json_schema' or 'regex'")
        return self._grammars[key]
