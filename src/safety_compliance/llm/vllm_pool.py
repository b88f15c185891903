"""vLLM servers kept between jobs on one machine (`llm.vllm_keep_alive` > 0 seconds).

By default each job starts its own server and stops it at its end (vllm_server.py). With a keep-alive,
a job first looks for a live server of the same key (`VLLMServer.key`: interpreter, weights, flags,
environment, port) started on this host, and asks it; only when there is none does it start one, and
that server outlives the job. It belongs to a watchdog: a small process in a session of its own (so a
job's end or SIGTERM never reaches it) that starts the server, records it, and stops it once no job
has used it for `keep_alive` seconds; if the server dies, the watchdog removes its record and exits
(and if the watchdog dies, the kernel stops the server: it is the server's parent).

Jobs hold a lease while they use a server: a file they keep locked. The kernel drops the lock when
its process dies, however it dies, so a lock that can be taken (or a job id that is gone) is no lease.

The records live in a folder of this host (the system temp dir, named with the user id and host
name), never in results/, which a cluster shares between nodes. Per key:

    {key}.lock     held while a job looks up, starts or discards the server, and while the watchdog stops it
    {key}.json     the running server: pids with their start times, port, served name, log
    {key}.failed   why the watchdog could not start the server, for the job waiting on it
    {key}.leases/  one locked file per job using the server
    {key}.used     touched when a job gives its lease back: the idle time counts from then

`python -m safety_compliance.llm.vllm_pool stop` stops every server kept on this host now.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .vllm_server import (HOST, VLLMServer, VLLMServerError, check_interpreter, failure_message, forget_at_exit,
                          signal_group, stop_at_exit)

STOP_GRACE = 30.0   # seconds a discarded or stopped watchdog gets to stop its server


def state_root(temp: str | Path | None = None) -> Path:
    """This host's record folder, in `temp` (by default the system temp dir: $TMPDIR or /tmp)."""
    return Path(temp or tempfile.gettempdir()) / f"safety-compliance-vllm-{os.getuid()}-{socket.gethostname()}"


@dataclass(frozen=True)
class Files:
    root: Path
    key: str

    @property
    def lock(self) -> Path:
        return self.root / f"{self.key}.lock"

    @property
    def state(self) -> Path:
        return self.root / f"{self.key}.json"

    @property
    def failed(self) -> Path:
        return self.root / f"{self.key}.failed"

    @property
    def leases(self) -> Path:
        return self.root / f"{self.key}.leases"

    @property
    def used(self) -> Path:
        return self.root / f"{self.key}.used"


class PooledServer:
    """A job's use of the kept server for `spec.key`. `spec` is an unstarted VLLMServer saying what to
    run; `start()` finds or starts the server and takes a lease, `stop()` gives the lease back."""

    def __init__(self, spec: VLLMServer, keep_alive: float, root: str | Path | None = None):
        self.spec = spec
        self.model = spec.model
        self.keep_alive = float(keep_alive)
        self.files = Files(Path(root) if root else state_root(), spec.key)
        self.state: dict | None = None
        self._lease: Lease | None = None

    @property
    def pid(self) -> int | None:
        return self.state["server"][0] if self.state else None

    @property
    def port(self) -> int | None:
        return self.state["port"] if self.state else None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    def start(self) -> str:
        _prepare(self.files.root)
        with _locked(self.files.lock):
            state = read_state(self.files)
            if state is not None and not usable(state):
                discard(state, self.files)
                state = None
            if state is None:
                state = self._launch()
            self._lease = Lease(self.files)
            self.state = state
        stop_at_exit(self)    # the lease goes back at exit and on SIGTERM too
        return self.base_url

    def _launch(self) -> dict:
        check_interpreter(self.spec.python)    # seconds here, rather than a failure read from the watchdog
        self.files.failed.unlink(missing_ok=True)
        spec = {"python": self.spec.python, "model": self.spec.model, "args": self.spec.args, "env": self.spec.env,
                "port": self.spec.requested_port, "log_path": str(self.spec.log_path),
                "startup_timeout": self.spec.startup_timeout}
        package_parent = str(Path(__file__).resolve().parents[2])    # the watchdog imports this very package
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH"))
                                                           if p)}
        self.spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.spec.log_path, "ab") as log:
            watchdog = subprocess.Popen(
                [sys.executable, "-m", __name__, "watch", str(self.files.root), self.files.key,
                 str(self.keep_alive), json.dumps(spec)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + self.spec.startup_timeout + 60
        while True:
            state = read_state(self.files)
            if state is not None and state["watchdog"][0] == watchdog.pid:
                threading.Thread(target=watchdog.wait, daemon=True).start()   # reaped when it ends: no zombie
                return state
            status = watchdog.poll()
            if status is not None:
                if self.files.failed.exists():
                    raise VLLMServerError(self.files.failed.read_text())
                raise VLLMServerError(failure_message(self.model, None, None, "was not started: its watchdog "
                                                      f"exited with status {status}", self.spec.log_path))
            if time.monotonic() > deadline:
                signal_group(watchdog.pid, signal.SIGTERM)
                raise VLLMServerError(failure_message(self.model, None, None, "was not started: its watchdog "
                                                      "did not answer in time", self.spec.log_path))
            time.sleep(0.5)

    def alive(self) -> bool:
        return self.state is not None and _same_process(self.state["server"])

    def failure(self, what: str) -> str:
        state = self.state or {}
        return failure_message(self.model, state.get("server", [None])[0], state.get("port"), what,
                               Path(state.get("log", self.spec.log_path)))

    def stop(self) -> None:
        """Give the lease back; the server stays for the next job until it is unused for keep_alive s."""
        forget_at_exit(self)
        if self._lease is not None:
            self._lease.release()
        self._lease = self.state = None


class Lease:
    """A job's claim on the key's server: a file the job keeps locked while it uses the server."""

    def __init__(self, files: Files):
        self.files = files
        files.leases.mkdir(exist_ok=True)
        name = f"{os.getpid()}-{secrets.token_hex(4)}"
        # Locked under a name the watchdog skips, then renamed: it never sees a lease not yet locked.
        hidden = files.leases / f".{name}"
        self.fd = os.open(hidden, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        self.path = files.leases / name
        os.rename(hidden, self.path)

    def release(self) -> None:
        self.files.used.touch()
        self.path.unlink(missing_ok=True)
        os.close(self.fd)


def read_state(files: Files) -> dict | None:
    """The record of the key's server; None when there is none or it is unreadable (then it is replaced)."""
    try:
        state = json.loads(files.state.read_text())
    except (OSError, ValueError):
        return None
    fields = {"served": str, "port": int, "log": str, "watchdog": list, "server": list}
    if not isinstance(state, dict) or any(not isinstance(state.get(k), t) for k, t in fields.items()):
        return None
    if any(len(state[k]) != 2 or not all(isinstance(v, int) for v in state[k]) for k in ("watchdog", "server")):
        return None
    return state


def usable(state: dict) -> bool:
    """The recorded processes are still the very ones recorded, and the port serves the recorded model."""
    import httpx

    if not (_same_process(state["watchdog"]) and _same_process(state["server"])):
        return False
    try:
        listed = httpx.get(f"http://{HOST}:{state['port']}/v1/models", timeout=30.0).json()
        return any(model.get("id") == state["served"] for model in listed.get("data", []))
    except (httpx.HTTPError, ValueError, AttributeError):
        return False


def discard(state: dict, files: Files) -> None:
    """Forget a server that cannot be used, stopping what is left of it (only processes that are still
    the recorded ones: a pid that now belongs to another process is left alone)."""
    marks = [m for m in (state["watchdog"], state["server"]) if _same_process(m)]
    for pid, _ in marks:
        signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    while any(_same_process(m) for m in marks) and time.monotonic() < deadline:
        time.sleep(0.2)
    for mark in marks:
        if _same_process(mark):
            signal_group(mark[0], signal.SIGKILL)
    files.state.unlink(missing_ok=True)


def stop_all_kept(root: str | Path | None = None) -> int:
    """Stop every kept server in `root` (by default this host's folder) now; returns how many."""
    root = Path(root) if root else state_root()
    stopped = 0
    for path in sorted(root.glob("*.json")) if root.is_dir() else []:
        files = Files(root, path.stem)
        with _locked(files.lock):
            state = read_state(files)
            if state is not None:
                stopped += _same_process(state["server"])
                discard(state, files)
    return stopped


def live_leases(files: Files) -> int:
    """Leases of jobs still running; the files of the others are removed."""
    live = 0
    for path in files.leases.glob("[0-9]*-*"):
        if _proc_start(int(path.name.split("-")[0])) is not None and _held(path):
            live += 1
        else:
            path.unlink(missing_ok=True)
    return live


def watch(files: Files, keep_alive: float, spec: dict) -> int:
    """The watchdog: start the server, record it, stop it once unused for keep_alive seconds."""
    server = VLLMServer(spec["python"], spec["model"], spec["args"], log_path=spec["log_path"], port=spec["port"],
                        env=spec["env"], startup_timeout=spec["startup_timeout"])
    try:
        server.start()
    except Exception as err:   # the waiting job raises it word for word
        _write(files.failed, str(err) if isinstance(err, VLLMServerError) else f"{type(err).__name__}: {err}")
        return 1
    state = {"served": server.served_name, "port": server.port, "log": str(server.log_path),
             "watchdog": _mark(os.getpid()), "server": _mark(server.pid), "keep_alive": keep_alive}
    _write(files.state, json.dumps(state))
    print(f"watchdog {os.getpid()}: server healthy on port {server.port}, stopped after {keep_alive:g} s unused",
          flush=True)
    last_used = time.time()
    try:
        while server.alive():
            if live_leases(files):
                last_used = time.time()
            elif time.time() - max(last_used, _mtime(files.used)) >= keep_alive:
                with _locked(files.lock):   # a job may be taking a lease right now
                    if not live_leases(files):
                        print(f"watchdog {os.getpid()}: unused for {keep_alive:g} s, stopping the server", flush=True)
                        _forget(files, state)
                        server.stop()
                        return 0
            time.sleep(min(1.0, keep_alive / 4))
        with _locked(files.lock):
            _forget(files, state)
        print(f"watchdog {os.getpid()}: the server exited by itself; its record is removed", flush=True)
        return 1
    finally:
        server.stop()


def _forget(files: Files, state: dict) -> None:
    if (read_state(files) or {}).get("watchdog") == state["watchdog"]:
        files.state.unlink(missing_ok=True)


def _prepare(root: Path) -> None:
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    if root.stat().st_uid != os.getuid():
        raise VLLMServerError(f"{root} belongs to another user, so its server records cannot be trusted; "
                              "remove it, or set TMPDIR to a folder of your own")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)   # closing drops the lock


def _held(path: Path) -> bool:
    """True while some process holds the lock on `path`."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _proc_start(pid: int) -> int | None:
    """The start time of a live process (clock ticks after boot), which a reused pid does not share."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else int(fields[19])


def _mark(pid: int) -> list[int]:
    return [pid, _proc_start(pid)]


def _same_process(mark: list[int]) -> bool:
    return mark[0] > 0 and _proc_start(mark[0]) == mark[1]


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _write(path: Path, text: str) -> None:
    """Whole or not at all: a reader never sees half a record."""
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    temp.write_text(text)
    os.replace(temp, path)


if __name__ == "__main__":
    if sys.argv[1:2] == ["watch"]:
        root, key, keep_alive, spec = sys.argv[2:]
        sys.exit(watch(Files(Path(root), key), float(keep_alive), json.loads(spec)))
    if sys.argv[1:] == ["stop"]:
        print(f"stopped {stop_all_kept()} kept vLLM server(s) in {state_root()}")
        sys.exit(0)
    sys.exit("usage: python -m safety_compliance.llm.vllm_pool stop   (stops this host's kept vLLM servers)")
