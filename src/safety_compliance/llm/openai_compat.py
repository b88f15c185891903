"""The `openai` backend: any OpenAI-compatible chat endpoint (DeepSeek, OpenAI, Gemini, vLLM server).

Calls run concurrently (at most `concurrency` in flight) on an event loop in a worker thread, so
the backend works the same from a script and from a notebook whose kernel already runs a loop.
Transient failures (429, 408/409, 5xx, timeouts, dropped connections) are retried with exponential
backoff and full jitter, waiting at least as long as the server's Retry-After asks. Any other 4xx
(a refused response format, a bad key, an unknown model) is a configuration error that no retry can
fix: it raises `LLMError` naming the entry, the endpoint, the server's words and the fix, and the
stage stops. Until one call has come back the backend sends one call at a time, so such a refusal
costs one call, not a stage's worth.

How a constraint is sent depends on the entry's `structured_output` (see structured_output.py).
Reasoning a provider returns beside the answer (`reasoning_content`, as DeepSeek's thinking mode and
vLLM's reasoning parsers send it) is kept in `Completion.reasoning`.

With no `base_url` the client honours OPENAI_BASE_URL, with no `api_key_env` it reads OPENAI_API_KEY
(as OpenAI's own client does). The key appears in no message, repr or cache entry.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import random
import threading
import time
from collections.abc import Callable, Sequence

from ..registry import STRUCTURED_OUTPUTS, ModelEntry
from .structured_output import request_fields
from .types import Completion, Request

DEFAULT_BASE_URL = "https://api.openai.com/v1"
TRANSIENT_4XX = (408, 409, 429)
REGISTRY_FILE = "config/models.yaml"   # where shipped entries live (the config's `models_file`)


class LLMError(RuntimeError):
    """A failure no retry can fix (refused request, bad key, unknown model): the whole stage stops."""


def retry_after_seconds(headers) -> float | None:
    """The server's requested wait: `retry-after-ms`, or `Retry-After` in seconds or as an HTTP date."""
    if headers is None:
        return None
    if headers.get("retry-after-ms"):
        try:
            return float(headers["retry-after-ms"]) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


class OpenAIBackend:
    deterministic = False   # providers do not promise repeatable answers, so retries may help

    def __init__(self, entry: ModelEntry, llm: dict):
        self.entry = entry
        self.model_id = entry.name
        self.structured_output = entry.structured_output or "none"
        if self.structured_output not in STRUCTURED_OUTPUTS:
            raise ValueError(f"model '{entry.name}': structured_output is '{self.structured_output}'; "
                             f"choose one of {STRUCTURED_OUTPUTS}")
        key = os.environ.get(entry.api_key_env or "OPENAI_API_KEY")
        if entry.api_key_env and not key:
            raise ValueError(f"model '{entry.name}' reads its API key from the environment variable "
                             f"{entry.api_key_env}, which is not set")
        self._key = key or "none"    # a local server (vLLM) needs no key, but the client wants a value
        self.where = entry.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        self.identity = f"openai|{entry.model}|{self.where}|{entry.revision or ''}|{self.structured_output}"
        self.concurrency = max(1, int(entry.concurrency))
        self.max_retries = int(llm.get("max_retries", 6))
        self.backoff_base = float(llm.get("backoff_base", 1.0))
        self.backoff_max = float(llm.get("backoff_max", 60.0))
        self.timeout = float(llm.get("request_timeout", 600.0))
        self._loop = self._thread = self._client = None
        self._answered = False    # until a call comes back, calls go one at a time (see _call_gated)
        self._first = None

    def __repr__(self) -> str:
        return f"OpenAIBackend(model={self.entry.model!r}, base_url={self.where!r})"

    def run(self, requests: Sequence[Request], on_results: Callable[[list[tuple[int, Completion]]], None]) -> None:
        # The calls run on the backend's own loop thread, so this works the same from a script and
        # from a notebook whose kernel already runs a loop, and connections live across calls.
        asyncio.run_coroutine_threadsafe(self._run_all(list(requests), on_results), self._start()).result()

    def _start(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            from openai import AsyncOpenAI

            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name=f"openai-{self.model_id}",
                                            daemon=True)
            self._thread.start()
            self._client = AsyncOpenAI(api_key=self._key, base_url=self.where, max_retries=0, timeout=self.timeout)
            self._first = asyncio.Lock()
        return self._loop

    def close(self) -> None:
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._client.close(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
        self._loop = self._thread = self._client = None

    async def _run_all(self, requests: list[Request], on_results) -> None:
        gate = asyncio.Semaphore(self.concurrency)
        refused: list[LLMError] = []

        async def one(index: int, request: Request) -> None:
            async with gate:
                completion = await self._call_gated(request, refused)
            on_results([(index, completion)])

        tasks = [asyncio.create_task(one(i, r)) for i, r in enumerate(requests)]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            raise

    async def _call_gated(self, request: Request, refused: list[LLMError]) -> Completion:
        """One call; while no call has come back yet, calls wait their turn behind the first, so a
        request the endpoint refuses (and the LLMError it raises) costs one call, not `concurrency`."""
        if not self._answered:
            async with self._first:
                if refused:                  # the first call was refused: this run is over
                    raise refused[0]
                if not self._answered:
                    try:
                        completion = await self._call(self._client, request)
                    except LLMError as err:
                        refused.append(err)
                        raise
                    self._answered = True
                    return completion
        return await self._call(self._client, request)

    def _arguments(self, request: Request) -> dict:
        messages, fields, extra = request_fields(self.structured_output, request.constraint,
                                                 [dict(m) for m in request.messages])
        args = {"model": self.entry.model, "messages": messages, "max_tokens": request.max_tokens,
                "temperature": request.temperature, "top_p": request.top_p, "seed": request.seed, **fields}
        if request.stop:
            args["stop"] = list(request.stop)
        if request.repetition_penalty != 1.0:
            if self.structured_output != "vllm":
                raise ValueError(f"model '{self.entry.name}': a repetition_penalty of {request.repetition_penalty} "
                                 "cannot be sent to an OpenAI-compatible API (only a vLLM server, "
                                 "structured_output: vllm, takes one)")
            extra["repetition_penalty"] = request.repetition_penalty
        if request.avoid and self.structured_output == "vllm":
            # vLLM bans each phrase's tokens as written and with a leading space; other APIs take no
            # phrases (OpenAI's logit_bias wants token ids of a tokenizer we do not know).
            extra["bad_words"] = list(request.avoid)
        if extra:
            args["extra_body"] = extra
        return args

    async def _call(self, client, request: Request) -> Completion:
        import openai

        args = self._arguments(request)
        cause = "no attempt made"
        for attempt in range(self.max_retries + 1):
            wait = None
            try:
                response = await client.chat.completions.create(**args)
            except openai.APITimeoutError:
                cause = f"timed out after {self.timeout:g} s"
            except openai.APIConnectionError as err:
                cause = f"connection failed ({self._redact(str(err.__cause__ or err))})"
            except openai.APIStatusError as err:
                if err.status_code < 500 and err.status_code not in TRANSIENT_4XX:
                    raise self._refused(err) from None
                cause = f"HTTP {err.status_code}: {self._message(err)}"
                wait = retry_after_seconds(err.response.headers)
            else:
                choice = response.choices[0]
                usage = response.usage
                message = choice.message
                # DeepSeek and older vLLM call it reasoning_content, newer vLLM reasoning.
                reasoning = getattr(message, "reasoning_content", None) or getattr(message, "reasoning", None)
                return Completion(text=message.content or "", finish_reason=choice.finish_reason or "stop",
                                  prompt_tokens=usage.prompt_tokens if usage else 0,
                                  completion_tokens=usage.completion_tokens if usage else 0, attempts=attempt + 1,
                                  reasoning=reasoning if isinstance(reasoning, str) else "")
            if attempt < self.max_retries:
                backoff = random.uniform(0, min(self.backoff_max, self.backoff_base * 2 ** attempt))
                await asyncio.sleep(max(backoff, wait or 0.0))
        return Completion(text="", finish_reason="error", attempts=self.max_retries + 1,
                          error=f"model '{self.entry.name}' ({self.entry.model} at {self.where}): gave up after "
                                f"{self.max_retries + 1} attempts; last cause: {cause}")

    def _refused(self, err) -> LLMError:
        """The configuration error for a non-transient 4xx: entry, endpoint, the server's words, the fix."""
        status, words = err.status_code, self._message(err)
        name, mode = self.entry.name, self.structured_output
        at = f"entry '{name}' in {REGISTRY_FILE} (the config's models_file)"
        lowered = words.lower()
        if status in (401, 403):
            source = (f"${self.entry.api_key_env} (its api_key_env)" if self.entry.api_key_env
                      else "$OPENAI_API_KEY (the entry names no api_key_env)")
            fix = f"check the key in {source}"
        elif status == 404:
            fix = f"check `model: {self.entry.model}` and `base_url` of {at}"
        elif any(word in lowered for word in ("response_format", "json_schema", "json_object", "schema")):
            fix = {"json_schema": f"set `structured_output: json_object` (or `none`) for {at}",
                   "json_object": f"set `structured_output: none` for {at}",
                   "vllm": f"point `base_url` of {at} at a vLLM server, or set `structured_output: none`",
                   }.get(mode, f"check `structured_output` of {at}")
        elif "context" in lowered or "max_tokens" in lowered or "too long" in lowered:
            fix = "lower the stage's max_tokens or shorten the prompt"
        else:
            fix = f"the endpoint does not accept the requests of {at} (structured_output: {mode}); check its settings"
        return LLMError(f"model '{name}' ({self.entry.model} at {self.where}) refused the request: "
                        f"HTTP {status}: {words}. Fix: {fix}.")

    def _message(self, err) -> str:
        """The server's own words for a failed call (its error body), without the client's prefix."""
        body = err.body if isinstance(err.body, dict) else {}
        return self._redact(str(body.get("message") or err.message))

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key and self._key != "none" else text
