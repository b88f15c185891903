"""The workflow's inputs: each made by its own rule (`fetch_{name}`), copied from a local data folder
when one holds it, downloaded from its public source otherwise.

Machines without a network (CI, air-gapped clusters) keep copies of the public sources in a folder
(config `shared_data`, `../shared/data` here). Downloads are pinned wherever the source allows it (a
GitHub commit, a Hugging Face revision), and every copy or download is checked against the checksum
recorded in `config/inputs.lock.yaml`. The first download of a source with no recorded checksum
records it, with the hub revision it resolved, so that the next download is checked and pinned: commit
that change.

A gated Hugging Face source needs a token of an account that was granted access (`HF_TOKEN`); without
one its fetch fails with the page where access is requested, and only what reads that input waits.
"""

from __future__ import annotations

import fcntl
import fnmatch
import hashlib
import os
import shutil
import stat
import urllib.parse
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from .laws import all_laws, get_law
from .registry import evaluated_students
from .safety_datasets import DATASETS
from .sources import GitHub, Hub, Source

LOCK = Path("config/inputs.lock.yaml")
TOKEN_VARIABLE = "HF_TOKEN"
TOKEN_PAGE = "https://huggingface.co/settings/tokens"


class InputUnavailable(OSError):
    """An input that could not be provided; the message names it and the way to get it."""


PRIVACI = ("HKUST-KnowComp/PrivaCI-Bench", "d7d30e39d8fabe1efdc1e4ce81d9738f91923851")
ARROW = ("data-00000-of-00001.arrow", "dataset_info.json", "state.json")    # a `save_to_disk` folder
GUARDREASONER = ("yueliu1999/GuardReasoner", "bb7e686dc0535884d6994de5f950a072772e7fe2")
KB_ROOT = "reference/privaci_bench/KBs"
CASES_ROOT = "reference/privaci_bench/cases"


def _privaci(kind: str, law: str) -> Source:
    folder, root = _privaci_folder(law), KB_ROOT if kind == "kb" else CASES_ROOT
    upstream = "KBs" if kind == "kb" else "cases"
    what = "knowledge base" if kind == "kb" else "compliance cases"
    return Source(f"privaci_{kind}_{law}", f"{root}/{folder}",
                  f"PrivaCI-Bench {what}, {folder} (HF save_to_disk folder; MIT)",
                  GitHub(*PRIVACI, f"HF_cache/{upstream}/{folder}", ARROW))


def _dataset(name: str, what: str, origin: GitHub | Hub) -> Source:
    return Source(name, f"safety/{DATASETS[name].local}", what, origin)


DATASET_SOURCES: tuple[Source, ...] = (
    _dataset("aegis1", "Aegis 1.0 test prompts in GuardReasoner's benchmark format (CC-BY-4.0)",
             GitHub(*GUARDREASONER, "data/benchmark/0_1_AegisSafetyTest.json")),
    _dataset("saferlhf_subset", "PKU-SafeRLHF, GuardReasoner's balanced 2,000-row test subset (CC-BY-NC-4.0)",
             GitHub(*GUARDREASONER, "data/benchmark/0_9_safe_rlhf.json")),
    _dataset("openai_mod", "OpenAI moderation evaluation set, 1,680 rows (MIT)",
             GitHub("openai/moderation-api-release", "f4ab51b5edd3bfbcb349a56324274235b674e0e4",
                    "data/samples-1680.jsonl.gz")),
    _dataset("wildguard", "WildGuardTest, the test split of WildGuardMix (ODC-BY; gated)",
             Hub("allenai/wildguardmix", ("test/wildguard_test.parquet",), gated=True)),
    _dataset("aegis2", "Aegis 2.0 test split (CC-BY-4.0; gated)",
             Hub("nvidia/Aegis-AI-Content-Safety-Dataset-2.0", ("test.json",), gated=True)),
    _dataset("saferlhf", "PKU-SafeRLHF v1.0 test split, every response model's file (CC-BY-NC-4.0)",
             Hub("PKU-Alignment/PKU-SafeRLHF", ("data/*/test.jsonl",), "8b87c3304fe428df5ae84a5a00f9d3ef9e4f135e")),
)


def sources() -> tuple[Source, ...]:
    """Every input the workflow can fetch: each registered law's text and PrivaCI-Bench folders, then
    the safety datasets. Read when asked, so a law registered later (laws.register) has its own."""
    privaci = [law.name for law in all_laws() if law.privaci is not None]
    return (*(law.source for law in all_laws()),
            *(_privaci(kind, law) for kind in ("kb", "cases") for law in privaci),
            *DATASET_SOURCES)


def source_names() -> list[str]:
    return [s.name for s in sources()]


def get_source(name: str) -> Source:
    found = {s.name: s for s in sources()}
    try:
        return found[name]
    except KeyError:
        raise KeyError(f"unknown input '{name}'; known: {', '.join(found)}") from None


def source_at(path: str) -> Source | None:
    """The source that provides `path` (as the rules name it: resources/...), or None."""
    return next((s for s in sources() if f"resources/{s.path}" == path), None)


# ------------------------------------------------------------------------ what a config reads
def law_text(law: str) -> str:
    return get_law(law).text_path


def has_privaci(law: str) -> bool:
    """Whether PrivaCI-Bench covers `law` (its knowledge base and its cases)."""
    return get_law(law).privaci is not None


def _privaci_folder(law: str) -> str:
    # PrivaCI-Bench names each law's folder the same in KBs/ and cases/.
    kb = get_law(law).privaci
    if kb is None:
        raise KeyError(f"PrivaCI-Bench does not cover {law}; it covers "
                       f"{', '.join(entry.name for entry in all_laws() if entry.privaci)}")
    return kb.folder


def kb_root() -> str:
    return f"resources/{KB_ROOT}"


def kb_folder(law: str) -> str:
    return f"{kb_root()}/{_privaci_folder(law)}"


def privaci_cases_folder(cases_root: str, law: str) -> str:
    return f"{cases_root.rstrip('/')}/{_privaci_folder(law)}"


def dataset_path(data_dir: str, dataset: str) -> str:
    from .safety_datasets import get_dataset

    return f"{data_dir.rstrip('/')}/{get_dataset(dataset).local}"


def input_paths(cfg: dict[str, Any]) -> dict[str, list[str]]:
    """Every file or folder the config's jobs read that no model or result provides, by the stage
    that reads it (the same paths the rules' `input:` name)."""
    laws = cfg["laws"]
    covered = [law for law in laws if has_privaci(law)]
    paths = {"law": [*([law_text(law) for law in laws] if cfg["law"]["seed_source"] == "official" else []),
                     *(kb_folder(law) for law in covered)]}     # the KB also feeds the pool comparison
    if evaluated_students(cfg) and covered:
        paths["evaluate"] = [privaci_cases_folder(cfg["evaluate"]["privaci"]["cases"], law) for law in covered]
    ex = cfg.get("extrapolate") or {}
    if ex.get("datasets"):
        paths["extrapolate"] = [dataset_path(ex["data_dir"], d) for d in ex["datasets"]]
    return paths


def needed_sources(cfg: dict[str, Any]) -> list[Source]:
    """The sources that provide the config's inputs (paths outside resources/ are the user's own)."""
    found = (source_at(p) for paths in input_paths(cfg).values() for p in paths)
    return [source for source in found if source is not None]


# ------------------------------------------------------------------------------------- checksums
def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


SNAKEMAKE_MARK = ".snakemake_timestamp"     # Snakemake's file in every folder a rule made


def checksum(path: str | Path) -> str:
    """sha256 of a file; for a folder, sha256 of its sorted "relative/path<TAB>sha256" lines."""
    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    lines = [f"{f.relative_to(path).as_posix()}\t{sha256_file(f)}\n"
             for f in sorted(p for p in path.rglob("*") if p.is_file() and p.name != SNAKEMAKE_MARK)]
    return hashlib.sha256("".join(lines).encode()).hexdigest()


LOCK_HEADER = """\
# Checksums of the workflow's inputs (src/safety_compliance/resources.py names their sources).
# sha256 of the file; for a folder, sha256 of its sorted "relative/path<TAB>sha256" lines.
# Every copy and download is checked against its entry. The first download of a source with no entry
# records one here, with the hub revision it resolved (so later downloads are pinned): commit it.
"""


def read_lock(path: str | Path = LOCK) -> dict[str, dict[str, str]]:
    path = Path(path)
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.is_file() else {}


def record(path: str | Path, name: str, entry: dict[str, str]) -> None:
    """Add `name` to the lock file; jobs fetching at once take turns (an exclusive lock on the file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        entries = yaml.safe_load(handle.read()) or {}
        entries[name] = entry
        handle.seek(0)
        handle.truncate()
        handle.write(LOCK_HEADER + yaml.safe_dump(dict(sorted(entries.items())), sort_keys=True))


# ------------------------------------------------------------------------------------- providing
def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _copy(src: Path, dest: Path) -> None:
    """Copy a file or folder without its modes (a read-only data folder must not give read-only
    outputs, which Snakemake could not replace) and without Snakemake's marker of a made folder."""
    if src.is_dir():
        shutil.copytree(src, dest, copy_function=shutil.copyfile, ignore=shutil.ignore_patterns(SNAKEMAKE_MARK))
        for folder in (dest, *(p for p in dest.rglob("*") if p.is_dir())):
            folder.chmod(folder.stat().st_mode | stat.S_IWUSR)
    else:
        shutil.copyfile(src, dest)


def _download_github(source: Source, staging: Path, local_hint: str) -> None:
    if source.folder:
        staging.mkdir(parents=True)
    for url, member in source.origin.files():
        dest = staging / member if member else staging
        request = urllib.request.Request(url, headers={"User-Agent": "safety-compliance/0.1"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response, open(dest, "wb") as handle:
                shutil.copyfileobj(response, handle)
        except OSError as err:
            raise InputUnavailable(
                f"{source.name}: could not download {url} ({err}). Without a network, put a copy at "
                f"{local_hint} (config `shared_data`, CLI --local)") from None


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def gated_message(what: str, page: str) -> str:
    """How to get a gated hub repository (a dataset or a model); `what` names it."""
    return (f"{what} is gated on the Hugging Face hub: request access at {page} with your account, "
            f"create a read token at {TOKEN_PAGE} and set {TOKEN_VARIABLE} to it, then rerun")


def _download_hub(source: Source, staging: Path, revision: str | None, local_hint: str) -> str:
    """Download the source's files into `staging`; returns the commit they were taken at."""
    origin: Hub = source.origin
    from huggingface_hub import HfApi, get_token, hf_hub_download
    from huggingface_hub.errors import (EntryNotFoundError, GatedRepoError, HfHubHTTPError,
                                        LocalEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError)

    token = get_token()     # HF_TOKEN, or the token `hf auth login` stored
    label = f"{source.name} ({origin.repo})"
    if origin.gated and not token:
        raise InputUnavailable(gated_message(label, origin.page))
    if hub_offline():
        raise InputUnavailable(f"{source.name}: HF_HUB_OFFLINE is set, so {origin.repo} cannot be downloaded; "
                               f"unset it on a machine with a network, or put a copy at {local_hint}")
    api = HfApi(token=token)
    try:
        sha = api.dataset_info(origin.repo, revision=revision or "main").sha
        files = sorted(f for f in api.list_repo_files(origin.repo, repo_type="dataset", revision=sha)
                       if any(fnmatch.fnmatch(f, p) for p in origin.patterns))
        if not files:
            raise InputUnavailable(f"{source.name}: no file of {origin.repo} at {sha} matches "
                                   f"{', '.join(origin.patterns)}; fix the pattern in resources.py")
        if source.folder:
            staging.mkdir(parents=True)
        for name in files:
            cached = hf_hub_download(origin.repo, name, repo_type="dataset", revision=sha, token=token)
            dest = staging / name if source.folder else staging
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(cached, dest)
        return sha
    except GatedRepoError:
        raise InputUnavailable(f"the token in {TOKEN_VARIABLE} has no access to {origin.repo} yet. "
                               + gated_message(label, origin.page)) from None
    except LocalEntryNotFoundError as err:     # the hub could not be reached and nothing was cached
        raise InputUnavailable(_unreachable(source, err, local_hint)) from None
    except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError) as err:
        raise InputUnavailable(f"{source.name}: {origin.describe()} is not on the hub ({err})") from None
    except InputUnavailable:
        raise
    except Exception as err:
        # httpx's transport errors (no route, no DNS) are not OSErrors
        if isinstance(err, (HfHubHTTPError, OSError)) or type(err).__module__.startswith(("httpx", "httpcore")):
            raise InputUnavailable(_unreachable(source, err, local_hint)) from None
        raise


def _unreachable(source: Source, err: BaseException, local_hint: str) -> str:
    return (f"{source.name}: could not download {source.origin.repo} from huggingface.co ({err}). "
            f"Without a network, put a copy at {local_hint}")


def _check(source: Source, digest: str, recorded: dict[str, str] | None, came_from: str, lock: Path) -> None:
    if recorded and recorded.get("sha256") != digest:
        raise InputUnavailable(
            f"{source.name}: {came_from} has sha256 {digest}, but {lock} records {recorded['sha256']} for "
            f"{source.origin.describe()}. The copy is damaged or the source changed: remove it and fetch "
            f"again, or, after checking the new data, delete the entry from {lock}")


def provide(source: Source, dest: str | Path = "resources", local: str | Path | None = None,
            lock: str | Path = LOCK) -> str:
    """Make `dest/source.path` (copied from `local` when it holds the source, downloaded otherwise) and
    check it against the lock; returns one line saying what was done."""
    target, lock = Path(dest) / source.path, Path(lock)
    if target.exists():
        return f"present    {target}"
    local_hint = f"{local or 'the folder config `shared_data` names'}/{source.path}"
    copy = Path(local) / source.path if local else None
    recorded = read_lock(lock).get(source.name)
    pinned = source.origin.commit if isinstance(source.origin, GitHub) else source.origin.revision
    if recorded and pinned and recorded.get("revision") != pinned:
        recorded = None                 # the entry is for another revision than the one now pinned
    staging = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove(staging)
    try:
        if copy is not None and copy.exists():
            _copy(copy, staging)
            digest = checksum(staging)
            _check(source, digest, recorded, str(copy), lock)
            line = f"copied     {target} from {copy}"
        else:
            if isinstance(source.origin, Hub):
                revision = source.origin.revision or (recorded or {}).get("revision")
                resolved = _download_hub(source, staging, revision, local_hint)
            else:
                _download_github(source, staging, local_hint)
                resolved = source.origin.commit
            digest = checksum(staging)
            _check(source, digest, recorded, f"the download of {source.origin.describe()}", lock)
            line = f"downloaded {target} from {source.origin.describe()}"
            if not recorded:
                record(lock, source.name, {"sha256": digest, "revision": resolved})
                line += f"; recorded its sha256 and revision in {lock} (commit it)"
    except BaseException:
        _remove(staging)
        raise
    staging.rename(target)
    if recorded:
        return f"{line}; sha256 {digest[:12]} as recorded"
    return line if line.startswith("downloaded") else f"{line}; no checksum recorded for it yet"


def fetch(names: Iterable[str] | None = None, dest: str | Path = "resources",
          local: str | Path | None = "../shared/data", lock: str | Path = LOCK) -> tuple[list[str], list[str]]:
    """Provide the named sources (default: all). One failing source does not stop the others;
    returns (a line per source provided, a message per source that failed)."""
    done, failed = [], []
    for name in names if names is not None else source_names():
        try:
            done.append(provide(get_source(name), dest, local, lock))
        except InputUnavailable as err:
            failed.append(str(err))
    return done, failed
