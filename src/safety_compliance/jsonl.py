"""JSON Lines as the data contract says: UTF-8, one object per line, sorted by id, atomic writes."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True)


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]], sort_key: str | None = "id") -> int:
    """Write records sorted by `sort_key` so that reruns are byte-identical; returns the count.

    The file is written to a temporary name and renamed, so a killed run never leaves half a file.
    """
    rows = list(records)
    if sort_key is not None:
        missing = [i for i, r in enumerate(rows) if sort_key not in r]
        if missing:
            raise KeyError(f"{path}: record {missing[0]} has no '{sort_key}' field to sort by")
        rows.sort(key=lambda r: str(r[sort_key]))
    write_text_atomic(path, "".join(dumps(r) + "\n" for r in rows))
    return len(rows)


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{number}: not a JSON object ({err.msg})") from err
    return rows


def write_json(path: str | Path, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def write_text_atomic(path: str | Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
