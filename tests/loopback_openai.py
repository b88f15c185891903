"""A loopback OpenAI-compatible server for tests and benchmarks: answers after a fixed latency.

It binds 127.0.0.1 only, serves /v1/chat/completions, and shuts itself down after `lifetime`
seconds even if nobody stops it. Faults can be injected per attempt: "429" (with Retry-After),
"500", "drop" (the connection closes without an answer) and "timeout" (the server holds the call
past the client's timeout, then drops it). A request is known by its body, so the server can tell
how often each one was attempted and answered: `served` must end at exactly 1 per request.

    with LoopbackOpenAI(latency=0.05, fault_rate=0.3) as server:
        ...  # point a client at server.url
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import random
import socket
import threading
import time
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("429", "500", "drop", "timeout")


def instance(schema: dict):
    """A small value that satisfies the common JSON-schema shapes (enough for tests)."""
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "object")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object":
        props = schema.get("properties", {})
        return {name: instance(props[name]) for name in props}
    if kind == "array":
        return [instance(schema.get("items", {}))] * schema.get("minItems", 0)
    return {"string": "text", "integer": max(0, schema.get("minimum", 0)), "number": 0.5,
            "boolean": True, "null": None}[kind]


def default_reply(body: dict) -> str:
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return json.dumps(instance(fmt["json_schema"]["schema"]))
    last = next((m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), "")
    return f"echo: {last}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256      # a burst of concurrent clients must not be refused


class LoopbackOpenAI:
    def __init__(self, latency: float = 0.0, *, fault_rate: float = 0.0, faults=FAULTS,
                 max_faults_per_request: int = 2, retry_after: float = 0.05, hang: float = 1.0,
                 api_key: str | None = None, lifetime: float = 600.0, seed: int = 0, reply=default_reply):
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown fault(s) {sorted(unknown)}; choose from {FAULTS}")
        self.latency, self.fault_rate, self.faults = latency, fault_rate, tuple(faults)
        self.max_faults, self.retry_after, self.hang = max_faults_per_request, retry_after, hang
        self.api_key, self.lifetime, self.seed, self.reply = api_key, lifetime, seed, reply
        self.attempts: Counter = Counter()     # request key -> calls received
        self.served: Counter = Counter()       # request key -> answers sent
        self.injected: Counter = Counter()     # fault kind -> times injected
        self.times: dict[str, list[float]] = {}
        self.bodies: list[dict] = []
        self.headers: list[dict] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def _fault(self, key: str, attempt: int) -> str | None:
        if attempt >= self.max_faults or not self.faults:
            return None
        rng = random.Random(f"{self.seed}:{key}:{attempt}")
        return rng.choice(self.faults) if rng.random() < self.fault_rate else None

    def stats(self) -> dict:
        return {"attempts": dict(self.attempts), "served": dict(self.served), "injected": dict(self.injected)}

    def __enter__(self) -> "LoopbackOpenAI":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):   # quiet: tests read the counters instead
                pass

            def setup(self):
                super().setup()
                # Headers and body leave in two writes; without this, Nagle's algorithm meets the
                # client's delayed ACK and every answer waits some 40 ms more.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _send(self, status: int, payload: dict, headers: dict | None = None):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                try:
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):   # the client gave up (a timeout)
                    self.close_connection = True

            def do_GET(self):
                if not self.path.rstrip("/").endswith("/stats"):
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                with owner._lock:
                    self._send(200, owner.stats())

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                body = json.loads(raw)
                key = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
                with owner._lock:
                    attempt = owner.attempts[key]
                    owner.attempts[key] += 1
                    owner.times.setdefault(key, []).append(time.monotonic())
                    owner.bodies.append(body)
                    owner.headers.append({k.lower(): v for k, v in self.headers.items()})
                if owner.api_key is not None and self.headers.get("Authorization") != f"Bearer {owner.api_key}":
                    return self._send(401, {"error": {"message": "invalid api key", "type": "auth"}})
                fault = owner._fault(key, attempt)
                if fault:
                    with owner._lock:
                        owner.injected[fault] += 1
                if fault == "429":
                    return self._send(429, {"error": {"message": "slow down"}},
                                      {"Retry-After": f"{owner.retry_after:g}"})
                if fault == "500":
                    return self._send(500, {"error": {"message": "internal failure"}})
                if fault in ("drop", "timeout"):
                    if fault == "timeout":
                        time.sleep(owner.hang)
                    self.close_connection = True
                    return None
                time.sleep(owner.latency)
                words = owner.reply(body).split(" ")
                limit = body.get("max_tokens") or body.get("max_completion_tokens") or len(words)
                text = " ".join(words[:limit])
                prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
                with owner._lock:
                    owner.served[key] += 1
                self._send(200, {
                    "id": f"cmpl-{key[:12]}", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "length" if len(words) > limit else "stop",
                                 "message": {"role": "assistant", "content": text}}],
                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": min(limit, len(words)),
                              "total_tokens": prompt_tokens + min(limit, len(words))},
                })

        self._server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self._timer = threading.Timer(self.lifetime, self._server.shutdown)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()


def _serve(options: dict, urls, stop) -> None:
    with LoopbackOpenAI(**options) as server:
        urls.put(server.url)
        stop.wait(server.lifetime)


@contextlib.contextmanager
def separate_process(**options):
    """The server in its own process (its URL), so that a benchmark's client does not share its
    interpreter lock with the server's threads, as it would not with a real endpoint. Counters are
    at GET {url}/stats."""
    context = multiprocessing.get_context("spawn")
    urls, stop = context.Queue(), context.Event()
    process = context.Process(target=_serve, args=(options, urls, stop), daemon=True)
    process.start()
    try:
        yield urls.get(timeout=120)
    finally:
        stop.set()
        process.join(timeout=10)
        if process.is_alive():
            process.kill()


def fetch_stats(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/stats", timeout=30) as response:
        return json.loads(response.read())
