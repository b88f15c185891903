"""The persistent call cache: one SQLite file shared by every stage and every concurrent job.

A call is keyed by the model's identity (name, weights revision or file hash, settings that change
outputs) and the full request. Each answer is committed the moment it is final, so a run killed at
any point loses at most the calls in flight, and its restart asks the model for nothing it stored.
WAL mode lets two Snakemake jobs read and write the same file at once without corrupting it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path

from .types import Completion, Request

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    request TEXT NOT NULL,
    completion TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS file_hashes (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
"""


def call_key(identity: str, request: Request) -> str:
    return hashlib.sha256(f"{identity}\n{request.canonical()}".encode("utf-8")).hexdigest()


class CallCache:
    """Completions stored by (model identity, request). Safe across threads and processes."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A busy timeout rides over the moments another process holds the write lock.
        self._db = sqlite3.connect(self.path, timeout=60, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable against a killed process (the WAL is in the OS's hands once written).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def get_many(self, identity: str, requests: list[Request]) -> dict[int, Completion]:
        keys = [call_key(identity, r) for r in requests]
        found: dict[str, str] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                marks = ",".join("?" * len(chunk))
                found.update(self._db.execute(f"SELECT key, completion FROM calls WHERE key IN ({marks})", chunk))
        hits = {}
        for index, key in enumerate(keys):
            if key in found:
                completion = Completion(**json.loads(found[key]))
                completion.cached = True
                hits[index] = completion
        return hits

    def put_many(self, identity: str, items: list[tuple[Request, Completion]]) -> None:
        """Store answers in one transaction: a killed process leaves all of them or none."""
        rows = []
        for request, completion in items:
            stored = dataclasses.replace(completion, cached=False)
            payload = json.dumps(dataclasses.asdict(stored), sort_keys=True, ensure_ascii=False)
            rows.append((call_key(identity, request), identity, request.canonical(), payload))
        with self._lock:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    "INSERT OR REPLACE INTO calls (key, model, request, completion) VALUES (?, ?, ?, ?)", rows)

    def count(self, identity: str | None = None) -> int:
        with self._lock:
            if identity is None:
                return self._db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
            return self._db.execute("SELECT COUNT(*) FROM calls WHERE model = ?", (identity,)).fetchone()[0]

    def file_sha256(self, path: str | Path) -> str:
        """The file's SHA-256, remembered by (path, size, mtime) so big weights are hashed once."""
        path = Path(path).resolve()
        stat = path.stat()
        with self._lock:
            row = self._db.execute("SELECT size, mtime_ns, sha256 FROM file_hashes WHERE path = ?",
                                   (str(path),)).fetchone()
        if row and row[0] == stat.st_size and row[1] == stat.st_mtime_ns:
            return row[2]
        digest = sha256_file(path)
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO file_hashes VALUES (?, ?, ?, ?)",
                             (str(path), stat.st_size, stat.st_mtime_ns, digest))
        return digest

    def close(self) -> None:
        with self._lock:
            self._db.close()


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_fingerprint(folder: str | Path, cache: CallCache | None = None) -> str:
    """One hash over every file of a model folder (weights, tokenizer, configs, chat template)."""
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        file_hash = cache.file_sha256(path) if cache else sha256_file(path)
        digest.update(f"{path.relative_to(folder).as_posix()}:{file_hash}\n".encode())
    return digest.hexdigest()


def cache_path_from_config(cfg: dict) -> str | None:
    """The cache file named by `llm.cache`; an empty value or "none" switches caching off."""
    path = (cfg.get("llm") or {}).get("cache")
    if not path or str(path).lower() == "none":
        return None
    return os.fspath(path)
