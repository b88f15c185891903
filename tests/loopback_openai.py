"""A loopback OpenAI-compatible server that behaves like a given provider, for tests and benchmarks.

It binds 127.0.0.1 only, serves POST /v1/chat/completions (plus GET /v1/models and GET /stats), and
shuts itself down after `lifetime` seconds even if nobody stops it.

Providers (`provider=`), each refusing what the real one refuses, with the real one's words:
- "generic": takes any request (a plain OpenAI-compatible server).
- "deepseek": `response_format` json_schema -> HTTP 400 "This response_format type is unavailable
  now"; json_object -> HTTP 400 unless a message contains the word "json". Model
  "deepseek-reasoner" answers with a separate `reasoning_content`, as DeepSeek's thinking mode does.
- "openai": json_schema with `strict: true` is checked against OpenAI's strict subset (every object
  closed, every property required, no keyword outside the documented list) and refused with HTTP 400
  otherwise; json_object needs the word "json"; a request field OpenAI does not know (vLLM's
  `structured_outputs`, `repetition_penalty`) -> HTTP 400 "Unrecognized request argument".
- "vllm": takes `response_format` json_schema and the `structured_outputs` field (regex).
`reasoning=True` makes any provider send `reasoning_content`. `api_key=` makes it answer 401 to any
other key. Faults can be injected per attempt: "429" (with Retry-After), "500", "drop" (the
connection closes without an answer) and "timeout" (the server holds the call past the client's
timeout, then drops it). A request is known by its body, so the server can tell how often each one
was attempted and answered: `served` must end at exactly 1 per request.

Answers come from `answers=`: "scripted" (the default; see `scripted_answer`) or "hf:MODEL_DIR", a
real model through the project's own hf backend (constraints enforced by its grammar). A scripted
answer follows the JSON schema the request carries: in `response_format`, or, for JSON mode and
plain requests, in the prompt (as our backend puts it there: a fenced JSON block; a server that found
none answers `{}`, which then fails validation, so a passing run proves the schema was sent). Its
strings are realistic case text long enough for the benchmark's validation. A plain request without
a schema gets, in this order: a distillation trace arguing the label the prompt gives; a chapter
allocation `\\boxed{"result": "Chapter N"}` naming a chapter the prompt lists; a verdict ending in
`\\boxed{prohibited}` or `\\boxed{permitted}` (chosen by a hash of the prompt) when the prompt asks
for a boxed verdict; otherwise "echo: <last user message>". A thinking model (`reasoning=True`, or
DeepSeek's `deepseek-reasoner`) sends its reasoning apart, in `reasoning_content`.

In a test:
    with LoopbackOpenAI(provider="deepseek", latency=0.05, fault_rate=0.3) as server:
        ...  # point a client at server.url
As a process (one per provider, e.g. before a Snakemake run; prints its URL, stops on SIGTERM):
    python tests/loopback_openai.py --provider deepseek --port 0 --lifetime 1800 [--port-file F]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import multiprocessing
import random
import re
import signal
import socket
import sys
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FAULTS = ("429", "500", "drop", "timeout")
PROVIDERS = ("generic", "deepseek", "openai", "vllm")

# The fields the openai provider knows; anything else in a body is refused as OpenAI does.
OPENAI_FIELDS = {"model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "seed", "stop",
                 "response_format", "n", "stream", "stream_options", "presence_penalty", "frequency_penalty",
                 "logprobs", "top_logprobs", "logit_bias", "user", "tools", "tool_choice", "parallel_tool_calls",
                 "reasoning_effort", "service_tier", "store", "metadata", "modalities", "prediction", "audio"}
# OpenAI's strict subset of JSON Schema (platform docs, Structured Outputs, "Supported schemas"),
# written out here on its own so that the server checks our backend rather than mirroring it.
OPENAI_STRICT_KEYWORDS = {"type", "description", "title", "enum", "const", "properties", "required",
                          "additionalProperties", "items", "anyOf", "$ref", "$defs", "definitions", "pattern",
                          "format", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
                          "minItems", "maxItems"}
SCHEMA_BLOCK = re.compile(r"```json\s*(\{.*?\})\s*```", re.DOTALL)

# Case text: neutral facts (no law named, no verdict stated) that pass the benchmark's validation.
FIELD_SENTENCES = {
    "parties_involved": [
        "Nordlicht Logistik GmbH, a warehouse operator with 900 staff (controller and deployer of the system).",
        "Vigilo SAS, a software vendor in Lyon that built and hosts the recognition service (provider and processor).",
        "The warehouse workers whose faces are recorded, and their works council.",
        "Cloudhaven Inc., a backup provider in Virginia that stores weekly copies of the footage.",
    ],
    "factual_background": [
        "In March 2024 Nordlicht installed cameras at the entrances of its three warehouses that record the "
        "face of every worker who passes.",
        "The cameras were supplied by Vigilo, whose recognition model had been trained on footage gathered at "
        "other clients' sites.",
        "Each evening Vigilo's cloud service matches the recordings against a list of employees and produces a "
        "report of arrival and departure times for every worker.",
        "Shift managers receive the reports by e-mail and use them to plan rotas and to call workers who arrive "
        "late to disciplinary meetings.",
        "Workers learned of the cameras from a one-page notice beside the time clock; the notice does not "
        "mention the matching, the vendor or how long footage is kept.",
        "Footage is kept for eighteen months on servers in Frankfurt and copied every week to Cloudhaven in Virginia.",
        "In June a member of the works council asked for the footage that concerns her, and Nordlicht sent a "
        "summary table eleven weeks later.",
        "Vigilo has since offered the same service to two hospitals and a municipal transport operator.",
    ],
    "legal_issues": [
        "Whether the matching of workers' faces is biometric identification that needs a specific legal basis "
        "(Articles 6 and 9).",
        "Whether the notice met the information duties of Articles 13 and 14, and whether the eleven-week reply "
        "met Article 15.",
        "Whether the transfer of backups to Virginia rests on a valid mechanism under Chapter V.",
    ],
    "arguments": [
        "Nordlicht argues that attendance records are needed for payroll and safety, and that the notice told "
        "workers about the cameras.",
        "The works council argues that a badge system would serve the same purpose, that consent given to an "
        "employer is not free, and that the notice hid the matching.",
        "Vigilo argues that it only processes footage on Nordlicht's instructions and that the backups are encrypted.",
    ],
    "jurisdiction": ["Germany (Lower Saxony); the state data protection authority and the labour court in Hanover."],
}
GENERIC_SENTENCES = ["The system records each decision with the data it used and the person who confirmed it.",
                     "Reviewers checked a sample of the records every month and wrote down what they found."]
TRACE_REASONING = ("The regulation sets out a chain of requirements, from the chapter down to the specific clause. "
                   "The facts describe who processes which data, for what purpose and with which system. "
                   "First, the conduct falls within the scope of the chain, because the system acts on people "
                   "in the situations the clauses name. Second, each requirement is tested against the facts: "
                   "the purpose, the information given to the people concerned, the safeguards and the "
                   "retention period. Third, the decisive question is whether the conduct meets every "
                   "requirement that applies or breaches at least one of them. Weighing the facts against "
                   "each requirement in turn settles the verdict.")


TYPICAL_CHARS = 200      # a field's length when the schema asks for less (a case stays within ~200 words)


def _hash(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def _bounds(spec: dict) -> tuple[int, int | None]:
    """A string's (min, max) length: from minLength/maxLength, or restated in its description (as a
    strict-mode request carries them)."""
    text = str(spec.get("description", ""))
    restated = {key: int(value) for key, value in re.findall(r"(minLength|maxLength) (\d+)", text)}
    low = spec.get("minLength", restated.get("minLength", 0))
    return int(low), spec.get("maxLength", restated.get("maxLength"))


def case_text(name: str, spec: dict) -> str:
    """Realistic text for string field `name`, at least as long as the schema asks and no longer than it allows."""
    low, high = _bounds(spec)
    sentences = FIELD_SENTENCES.get(name, GENERIC_SENTENCES)
    parts, size, i = [], 0, 0
    while not parts or size < max(low, 0 if name == "jurisdiction" else TYPICAL_CHARS):
        parts.append(sentences[i % len(sentences)])
        size += len(parts[-1]) + 1
        i += 1
    text = " ".join(parts)
    if high is not None and len(text) > high:
        text = text[:high].rsplit(" ", 1)[0] if " " in text[:high] else text[:high]
    return text


def instance(schema: dict, name: str = ""):
    """A value that satisfies the common JSON-schema shapes, with case text for strings."""
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if "anyOf" in schema:
        return instance(schema["anyOf"][0], name)
    kind = schema.get("type", "object")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object":
        props = schema.get("properties", {})
        return {key: instance(props[key], key) for key in props}
    if kind == "array":
        return [instance(schema.get("items", {}), name)] * schema.get("minItems", 0)
    if kind == "string":
        return case_text(name, schema)
    return {"integer": max(0, schema.get("minimum", 0)), "number": 0.5, "boolean": True, "null": None}[kind]


@dataclass
class Ask:
    """What a request asks for, as a model would read it."""

    messages: list[dict]
    max_tokens: int
    temperature: float = 0.0
    seed: int = 0
    schema: dict | None = None       # from response_format, or found in the prompt
    regex: str | None = None         # vLLM's structured_outputs
    thinking: bool = False           # answer with separate reasoning
    prompt: str = field(init=False)

    def __post_init__(self):
        self.prompt = "\n".join(str(m.get("content", "")) for m in self.messages)


def prompt_schema(text: str) -> dict | None:
    """The JSON schema a prompt carries in a fenced JSON block, if any."""
    for block in SCHEMA_BLOCK.findall(text):
        try:
            value = json.loads(block)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and ("properties" in value or "type" in value):
            return value
    return None


def scripted_answer(ask: Ask) -> tuple[str, str]:
    """(answer, reasoning) for a request, without a model (see the module's docstring)."""
    thought = "The request asks for a precise answer; I check each requirement before answering." if ask.thinking else ""
    if ask.schema is not None:
        return json.dumps(instance(ask.schema)), thought
    if re.search(r"\bjson\b", ask.prompt, re.IGNORECASE) and "```json" in ask.prompt:
        return "{}", thought                    # asked for JSON, but the schema did not arrive
    gold = re.search(r"this case is (PROHIBITED|PERMITTED)", ask.prompt)
    if gold:                                     # a distillation prompt: argue the gold label
        label = gold.group(1).lower()
        summary = (f"On these facts the conduct meets the decisive requirement in the way the label says: "
                   f"the case is {label}.")
        if ask.thinking:
            return f"{summary}\n\n\\boxed{{{label}}}", TRACE_REASONING
        return f"<think>\n{TRACE_REASONING}\n</think>\n\n{summary}\n\n\\boxed{{{label}}}", ""
    chapters = re.findall(r"^- Chapter ([IVXLC]+):", ask.prompt, re.MULTILINE)
    if chapters and '"result"' in ask.prompt:    # a chapter allocation prompt: one of the listed chapters
        pick = chapters[_hash(ask.prompt) % len(chapters)]
        return f'<think>\nThe sample concerns the matters of Chapter {pick}.\n</think>\n\\boxed{{"result": "Chapter {pick}"}}', ""
    if "\\boxed" in ask.prompt:                  # a verdict prompt
        label = ("prohibited", "permitted")[_hash(ask.prompt) % 2]
        summary = f"Weighing the facts against the obligations, the conduct is {label}."
        if ask.thinking:
            return f"{summary}\n\\boxed{{{label}}}", TRACE_REASONING
        return f"<think>\n{TRACE_REASONING}\n</think>\n{summary}\n\\boxed{{{label}}}", ""
    last = next((m["content"] for m in reversed(ask.messages) if m["role"] == "user"), "")
    return f"echo: {last}", thought


class HFAnswers:
    """Answers from a real model folder through the project's hf backend (one request at a time)."""

    def __init__(self, model_dir: str):
        from safety_compliance.llm.hf import HFBackend
        from safety_compliance.registry import ModelEntry

        self.backend = HFBackend(ModelEntry(name="loopback-hf", model=model_dir, device="cpu", batch_size=1), None)
        self.lock = threading.Lock()

    def __call__(self, ask: Ask) -> tuple[str, str]:
        from safety_compliance.llm.types import Constraint, Request

        constraint = (Constraint("json_schema", ask.schema) if ask.schema is not None
                      else Constraint("regex", ask.regex) if ask.regex else None)
        request = Request(messages=tuple({"role": m["role"], "content": m["content"]} for m in ask.messages),
                          max_tokens=ask.max_tokens, temperature=ask.temperature, seed=ask.seed, constraint=constraint)
        done = []
        with self.lock:
            self.backend.run([request], lambda results: done.extend(c for _, c in results))
        return done[0].text, ""


def answer_source(answers: str):
    if answers == "scripted":
        return scripted_answer
    if answers.startswith("hf:"):
        return HFAnswers(answers[3:])
    raise ValueError(f"answers must be 'scripted' or 'hf:MODEL_DIR', not {answers!r}")


def strict_problem(schema, where: str = "") -> str | None:
    """Why OpenAI's strict mode would refuse `schema`, in its words, or None."""
    if not isinstance(schema, dict):
        return None
    for key in schema:
        if key not in OPENAI_STRICT_KEYWORDS:
            return f"In context=({where or '()'}), '{key}' is not permitted."
    if schema.get("type") == "object" or "properties" in schema:
        if schema.get("additionalProperties") is not False:
            return f"In context=({where or '()'}), 'additionalProperties' is required to be supplied and to be false."
        missing = sorted(set(schema.get("properties", {})) - set(schema.get("required", [])))
        if missing:
            return (f"In context=({where or '()'}), 'required' is required to be supplied and to be an array "
                    f"including every key in properties. Missing '{missing[0]}'.")
    for name, sub in schema.get("properties", {}).items():
        problem = strict_problem(sub, f"{where}'properties', '{name}'")
        if problem:
            return problem
    return strict_problem(schema["items"], f"{where}'items'") if isinstance(schema.get("items"), dict) else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256      # a burst of concurrent clients must not be refused


class LoopbackOpenAI:
    def __init__(self, latency: float = 0.0, *, provider: str = "generic", fault_rate: float = 0.0, faults=FAULTS,
                 max_faults_per_request: int = 2, retry_after: float = 0.05, hang: float = 1.0,
                 api_key: str | None = None, lifetime: float = 600.0, seed: int = 0, reply=None,
                 answers: str = "scripted", reasoning: bool = False, port: int = 0):
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown fault(s) {sorted(unknown)}; choose from {FAULTS}")
        if provider not in PROVIDERS:
            raise ValueError(f"unknown provider {provider!r}; choose from {PROVIDERS}")
        self.latency, self.provider, self.fault_rate, self.faults = latency, provider, fault_rate, tuple(faults)
        self.max_faults, self.retry_after, self.hang = max_faults_per_request, retry_after, hang
        self.api_key, self.lifetime, self.seed, self.port = api_key, lifetime, seed, port
        self.reply = reply or answer_source(answers)
        self.reasoning = reasoning
        self.attempts: Counter = Counter()     # request key -> calls received
        self.served: Counter = Counter()       # request key -> answers sent
        self.injected: Counter = Counter()     # fault kind -> times injected
        self.refused: Counter = Counter()      # HTTP status -> requests refused for their content or key
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
        return {"attempts": dict(self.attempts), "served": dict(self.served), "injected": dict(self.injected),
                "refused": {str(k): v for k, v in self.refused.items()}, "calls": sum(self.attempts.values())}

    def refusal(self, body: dict) -> tuple[int, str] | None:
        """(status, message) when the provider refuses this request for what it asks, else None."""
        fmt = body.get("response_format") or {}
        kind = fmt.get("type")
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        mentions_json = "json" in prompt.lower()
        if self.provider == "deepseek":
            if kind == "json_schema":
                return 400, "This response_format type is unavailable now"
            if kind == "json_object" and not mentions_json:
                return 400, "Prompt must contain the word 'json' in some form to use 'response_format' of type 'json_object'."
        if self.provider == "openai":
            unknown = sorted(set(body) - OPENAI_FIELDS)
            if unknown:
                return 400, f"Unrecognized request argument supplied: {unknown[0]}"
            if kind == "json_object" and not mentions_json:
                return 400, "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'."
            if kind == "json_schema" and fmt.get("json_schema", {}).get("strict"):
                problem = strict_problem(fmt["json_schema"].get("schema", {}))
                if problem:
                    return 400, f"Invalid schema for response_format 'output': {problem}"
        return None

    def ask(self, body: dict) -> Ask:
        fmt = body.get("response_format") or {}
        prompt = "\n".join(str(m.get("content", "")) for m in body["messages"])
        schema = fmt["json_schema"].get("schema") if fmt.get("type") == "json_schema" else prompt_schema(prompt)
        structured = body.get("structured_outputs") or {}
        thinking = self.reasoning or (self.provider == "deepseek" and body.get("model") == "deepseek-reasoner")
        return Ask(messages=body["messages"], max_tokens=int(body.get("max_tokens") or body.get("max_completion_tokens")
                                                             or 1024),
                   temperature=float(body.get("temperature") or 0.0), seed=int(body.get("seed") or 0),
                   schema=schema, regex=structured.get("regex"), thinking=thinking)

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

            def _refuse(self, status: int, message: str):
                with owner._lock:
                    owner.refused[status] += 1
                kind = "authentication_error" if status == 401 else "invalid_request_error"
                return self._send(status, {"error": {"message": message, "type": kind, "param": None, "code": None}})

            def do_GET(self):
                path = self.path.rstrip("/")
                if path.endswith("/stats"):
                    with owner._lock:
                        return self._send(200, owner.stats())
                if path.endswith("/v1/models"):
                    return self._send(200, {"object": "list", "data": [{"id": "loopback", "object": "model"}]})
                return self._send(404, {"error": {"message": f"no route {self.path}"}})

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
                    return self._refuse(401, "Authentication Fails, Your api key is invalid")
                refusal = owner.refusal(body)
                if refusal:
                    return self._refuse(*refusal)
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
                ask = owner.ask(body)
                text, reasoning = owner.reply(ask)
                words = text.split(" ")
                limit = ask.max_tokens
                text = " ".join(words[:limit])
                thought_tokens = len(reasoning.split()) if reasoning else 0
                prompt_tokens = sum(len(str(m["content"]).split()) for m in body["messages"])
                with owner._lock:
                    owner.served[key] += 1
                message = {"role": "assistant", "content": text}
                if reasoning:
                    message["reasoning_content"] = reasoning
                used = min(limit, len(words)) + thought_tokens
                self._send(200, {
                    "id": f"cmpl-{key[:12]}", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "length" if len(words) > limit else "stop",
                                 "message": message}],
                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": used,
                              "total_tokens": prompt_tokens + used},
                })

        self._server = _Server(("127.0.0.1", self.port), Handler)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A loopback OpenAI-compatible server that behaves like a provider.")
    parser.add_argument("--provider", choices=PROVIDERS, default="generic")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed, and written to --port-file)")
    parser.add_argument("--port-file", default=None, help="write the server's URL here once it listens")
    parser.add_argument("--lifetime", type=float, default=1800.0, help="seconds before the server stops itself")
    parser.add_argument("--answers", default="scripted", help="scripted | hf:MODEL_DIR")
    parser.add_argument("--api-key", default=None, help="answer 401 to any other key")
    parser.add_argument("--reasoning", action="store_true", help="send reasoning_content with every answer")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    args = parser.parse_args(argv)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    with LoopbackOpenAI(args.latency, provider=args.provider, fault_rate=args.fault_rate, api_key=args.api_key,
                        lifetime=args.lifetime, answers=args.answers, reasoning=args.reasoning, port=args.port) as server:
        print(server.url, flush=True)
        if args.port_file:   # written whole, then renamed: a reader never sees half a URL
            part = Path(f"{args.port_file}.part")
            part.write_text(server.url + "\n", encoding="utf-8")
            part.replace(args.port_file)
        done.wait(args.lifetime)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))   # for answers=hf:...
    sys.exit(main())
