"""The `openai` backend: any OpenAI-compatible chat endpoint (DeepSeek, OpenAI, Gemini, vLLM server).

Calls run concurrently (at most `concurrency` in flight) on an event loop in a worker thread, so
the backend works the same from a script and from a notebook whose kernel already runs a loop.
Transient failures (429, 408/409, 5xx, timeouts, dropped connections) are retried with exponential
backoff and full jitter, waiting at least as long as the server's Retry-After asks. The key is read
from the environment variable the registry names and appears in no message, repr or cache entry.
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import random
import threading
import time
from collections.abc import Callable, Sequence

from ..registry import ModelEntry
from .types import Completion, Request

# vllm: a vLLM server, which also enforces regexes through its own `structured_outputs` request field.
RESPONSE_FORMATS = ("json_schema", "json_object", "none", "vllm")


class LLMError(RuntimeError):
    """A failure no retry can fix (bad key, unknown model): the whole stage should stop."""


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
        self.response_format = entry.options.get("response_format", "json_schema")
        if self.response_format not in RESPONSE_FORMATS:
            raise ValueError(f"model '{entry.name}': options.response_format is '{self.response_format}'; "
                             f"choose one of {RESPONSE_FORMATS}")
        if entry.api_key_env:
            key = os.environ.get(entry.api_key_env)
            if not key:
                raise ValueError(f"model '{entry.name}' reads its API key from the environment variable "
                                 f"{entry.api_key_env}, which is not set")
        else:
            key = "none"    # a local server (vLLM) needs no key, but the client wants a value
        self._key = key
        self.where = entry.base_url or "https://api.openai.com/v1"
        self.identity = f"openai|{entry.model}|{self.where}|{entry.revision or ''}|{self.response_format}"
        self.concurrency = max(1, int(entry.concurrency))
        self.max_retries = int(llm.get("max_retries", 6))
        self.backoff_base = float(llm.get("backoff_base", 1.0))
        self.backoff_max = float(llm.get("backoff_max", 60.0))
        self.timeout = float(llm.get("request_timeout", 600.0))
        self._loop = self._thread = self._client = None

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

        async def one(index: int, request: Request) -> None:
            async with gate:
                completion = await self._call(self._client, request)
            on_results([(index, completion)])

        tasks = [asyncio.create_task(one(i, r)) for i, r in enumerate(requests)]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            raise

    def _arguments(self, request: Request) -> dict:
        args = {"model": self.entry.model, "messages": [dict(m) for m in request.messages],
                "max_tokens": request.max_tokens, "temperature": request.temperature, "top_p": request.top_p,
                "seed": request.seed}
        if request.stop:
            args["stop"] = list(request.stop)
        if request.repetition_penalty != 1.0:
            args["extra_body"] = {"repetition_penalty": request.repetition_penalty}   # vLLM servers read it
        constraint = request.constraint
        if constraint is not None and constraint.kind == "json_schema":
            if self.response_format in ("json_schema", "vllm"):
                args["response_format"] = {"type": "json_schema",
                                           "json_schema": {"name": "output", "schema": constraint.value}}
            elif self.response_format == "json_object":
                args["response_format"] = {"type": "json_object"}
        if constraint is not None and constraint.kind == "regex" and self.response_format == "vllm":
            args.setdefault("extra_body", {})["structured_outputs"] = {"regex": constraint.value}
        return args

    async def _call(self, client, request: Request) -> Completion:
        import openai

        args = self._arguments(request)
        cause = "no attempt made"
        for attempt in range(self.max_retries + 1):
            wait = None
            try:
                response = await client.chat.completions.create(**args)
            except (openai.AuthenticationError, openai.PermissionDeniedError) as err:
                raise LLMError(f"model '{self.entry.name}' at {self.where}: the server refused the key in "
                               f"${self.entry.api_key_env} (HTTP {err.status_code})") from None
            except openai.NotFoundError as err:
                raise LLMError(f"model '{self.entry.name}': {self.where} does not serve '{self.entry.model}' "
                               f"(HTTP 404: {self._message(err)})") from None
            except openai.APITimeoutError:
                cause = f"timed out after {self.timeout:g} s"
            except openai.APIConnectionError as err:
                cause = f"connection failed ({self._redact(str(err.__cause__ or err))})"
            except openai.APIStatusError as err:
                cause = f"HTTP {err.status_code}: {self._message(err)}"
                if err.status_code not in (408, 409, 429) and err.status_code < 500:
                    return Completion(text="", finish_reason="error", attempts=attempt + 1,
                                      error=f"model '{self.entry.name}': {cause}")
                wait = retry_after_seconds(err.response.headers)
            else:
                choice = response.choices[0]
                usage = response.usage
                return Completion(text=choice.message.content or "", finish_reason=choice.finish_reason or "stop",
                                  prompt_tokens=usage.prompt_tokens if usage else 0,
                                  completion_tokens=usage.completion_tokens if usage else 0, attempts=attempt + 1)
            if attempt < self.max_retries:
                backoff = random.uniform(0, min(self.backoff_max, self.backoff_base * 2 ** attempt))
                await asyncio.sleep(max(backoff, wait or 0.0))
        return Completion(text="", finish_reason="error", attempts=self.max_retries + 1,
                          error=f"model '{self.entry.name}' ({self.entry.model} at {self.where}): gave up after "
                                f"{self.max_retries + 1} attempts; last cause: {cause}")

    def _message(self, err) -> str:
        """The server's own words for a failed call (its error body), without the client's prefix."""
        body = err.body if isinstance(err.body, dict) else {}
        return self._redact(str(body.get("message") or err.message))

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key and self._key != "none" else text
