"""The generator every stage receives: cache, constraint checks, bounded retries, usage, progress.

Backends only turn requests into completions. This wrapper asks the cache first, sends the rest to
the backend, checks each answer against its constraint (leniently), retries a bounded number of
times where retrying can change the answer, and commits every final answer to the cache the moment
it exists, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from tqdm import tqdm   # plain text: readable in Snakemake logs and executed notebooks

from . import usage
from .cache import CallCache, call_key
from .constraints import check
from .types import Completion, Request


class Backend(Protocol):
    model_id: str
    identity: str          # what the cache keys on besides the request: weights, revision, endpoint
    deterministic: bool    # True where a greedy request always gets the same answer

    def run(self, requests: Sequence[Request],
            on_results: Callable[[list[tuple[int, Completion]]], None]) -> None:
        """Hand each request's completion to `on_results([(index, completion), ...])` as soon as it
        exists; one call per group that finished together (an hf batch, one API call)."""


class CachedGenerator:
    """A `Generator` over a backend. Use as a context manager, or call `close()` when done.

    Usage counts are merged into `{usage_dir}/{stage}.json` at the end of every `generate` call
    (so a killed run loses only its last call's counts; no file when `usage_dir` is None);
    `close()` releases the cache and backend.
    """

    def __init__(self, backend: Backend, *, stage: str, cache: CallCache | None, usage_dir: str | None,
                 max_constraint_retries: int = 2, prices: tuple[float | None, float | None] = (None, None),
                 progress: bool = True):
        self.backend = backend
        self.model_id = backend.model_id
        self.stage = stage
        self.cache = cache
        self.usage_dir = usage_dir
        self.max_retries = max_constraint_retries
        self.prices = prices
        self.progress = progress
        self.stats = usage.Tally()   # everything this generator did, for callers and tests

    def generate(self, requests: Sequence[Request], *, desc: str = "") -> list[Completion]:
        requests = list(requests)
        for index, request in enumerate(requests):
            if not isinstance(request, Request):
                raise TypeError(f"request {index} is a {type(request).__name__}, not a Request")
        tally = usage.Tally(requests=len(requests))
        results: list[Completion | None] = [None] * len(requests)
        hits = self.cache.get_many(self.backend.identity, requests) if self.cache else {}
        for index, completion in hits.items():
            results[index] = completion
        tally.cache_hits = len(hits)
        bar = tqdm(total=len(requests), initial=len(hits), desc=desc or f"{self.stage}:{self.model_id}",
                   unit="req", file=sys.stderr, disable=not self.progress or len(requests) == len(hits),
                   dynamic_ncols=True)
        started = time.monotonic()
        # A request asked twice in one call is sent once: the cache would answer the second copy on
        # a rerun anyway, so sending both could make a fresh run differ from a resumed one.
        first: dict[str, int] = {}
        for index, request in enumerate(requests):
            if results[index] is None:
                first.setdefault(call_key(self.backend.identity, request), index)
        try:
            pending = sorted(first.values())
            attempt = 0
            while pending:
                retry: list[int] = []

                def on_results(done: list[tuple[int, Completion]], pending=pending, attempt=attempt,
                               retry=retry) -> None:
                    final = []
                    for j, completion in done:
                        index = pending[j]
                        if self._settle(requests[index], completion, attempt, tally):
                            results[index] = completion
                            final.append((requests[index], completion))
                        else:
                            retry.append(index)
                    # Transport failures are not answers: a later run should ask again.
                    keep = [(r, c) for r, c in final if c.finish_reason != "error"]
                    if self.cache is not None and keep:
                        self.cache.put_many(self.backend.identity, keep)
                    bar.update(len(final))
                    elapsed = max(time.monotonic() - started, 1e-9)
                    bar.set_postfix_str(f"{tally.completion_tokens / elapsed:.1f} tok/s", refresh=False)

                batch = [requests[i] if attempt == 0 else dataclasses.replace(requests[i], seed=requests[i].seed + attempt)
                         for i in pending]
                self.backend.run(batch, on_results)
                pending, attempt = sorted(retry), attempt + 1
            for index, request in enumerate(requests):
                if results[index] is None:
                    twin = results[first[call_key(self.backend.identity, request)]]
                    results[index] = dataclasses.replace(twin, extra=dict(twin.extra))
                    bar.update(1)
        finally:
            bar.close()
            self.stats.add(tally)
            if self.usage_dir is not None:
                usage.flush(self.usage_dir, self.stage, self.model_id, tally, *self.prices)
        return results  # type: ignore[return-value]

    def _settle(self, request: Request, completion: Completion, attempt: int, tally: usage.Tally) -> bool:
        """Count the call and check its constraint; False when the request should be tried again."""
        tally.model_calls += 1
        tally.prompt_tokens += completion.prompt_tokens
        tally.completion_tokens += completion.completion_tokens
        completion.attempts = attempt + completion.attempts
        if completion.error is None:
            reason = self._check(request, completion)
            if reason is not None:
                if attempt < self.max_retries and self._retry_may_help(request):
                    return False
                completion.error = f"{self.model_id}: constraint not met after {attempt + 1} attempt(s): {reason}"
        tally.failures += completion.error is not None
        return True

    def _check(self, request: Request, completion: Completion) -> str | None:
        text, reason = check(completion.text, request.constraint)
        if reason is None:
            if text != completion.text:
                completion.extra["raw"] = completion.text
                completion.text = text
            return None
        if completion.finish_reason == "length":
            return f"output cut at max_tokens={request.max_tokens} ({reason})"
        return reason

    def _retry_may_help(self, request: Request) -> bool:
        return not (self.backend.deterministic and request.temperature <= 0)

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()
            self.cache = None
        closer = getattr(self.backend, "close", None)
        if closer is not None:
            closer()

    def __enter__(self) -> "CachedGenerator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CachedGenerator(model={self.model_id!r}, stage={self.stage!r})"
