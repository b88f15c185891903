"""The workflow's inputs: copied from a local data folder when one exists, downloaded otherwise.

Machines without a network (CI, air-gapped clusters) keep a copy of the public sources in a folder
(`shared_data` in the config, `../shared/data` here); users with a network get the originals.
"""

from __future__ import annotations

import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Source:
    path: str          # relative to resources/ and to the local data folder
    url: str | None    # where a user with a network gets it; None: loaded from the hub by name instead
    note: str


SOURCES = (
    Source("law/eu_ai_act_2024_1689_oj.html",
           "https://eur-lex.europa.eu/legal-content/EN/TXT/HTML/?uri=OJ:L_202401689",
           "EU AI Act, Official Journal HTML (CELEX 32024R1689)"),
    Source("law/gdpr_2016_679_gdprtext.json",
           "https://raw.githubusercontent.com/coolharsh55/GDPRtEXT/master/gdpr.json",
           "GDPR as GDPRtEXT JSON (CC-BY-4.0)"),
    Source("reference/privaci_bench", None,
           "PrivaCI-Bench knowledge base and cases (github HKUST-KnowComp/PrivaCI-Bench)"),
    Source("safety", None,
           "safety datasets; with a network the loaders read them from the Hugging Face hub by name"),
)


def _copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dest, dirs_exist_ok=True)
    else:
        tmp = dest.with_name(dest.name + ".part")
        shutil.copyfile(src, tmp)
        tmp.replace(dest)


def _download(url: str, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    request = urllib.request.Request(url, headers={"User-Agent": "safety-compliance/0.1"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response, open(tmp, "wb") as handle:
            shutil.copyfileobj(response, handle)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise OSError(f"could not download {dest} from {url} ({err}); without a network, point --local "
                      f"(config `shared_data`) at a folder holding a copy") from None
    tmp.replace(dest)


def fetch(dest: str | Path = "resources", local: str | Path | None = "../shared/data") -> list[str]:
    """Provide every source under `dest`; returns one line per source saying what was done."""
    dest, done = Path(dest), []
    local = Path(local) if local and Path(local).is_dir() else None
    for source in SOURCES:
        target = dest / source.path
        if target.exists():
            done.append(f"present    {target}")
        elif local is not None and (local / source.path).exists():
            _copy(local / source.path, target)
            done.append(f"copied     {target} from {local / source.path}")
        elif source.url:
            _download(source.url, target)
            done.append(f"downloaded {target} from {source.url}")
        else:
            done.append(f"skipped    {target}: {source.note}")
    return done
