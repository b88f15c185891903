"""Where an input of the workflow comes from: a pinned public origin and the path it takes under resources/.

The law registry (laws.py) names each law's text this way, and resources.py provides every source;
this module is apart from both so that a law's entry can name its source without importing how
sources are fetched.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass


@dataclass(frozen=True)
class GitHub:
    """A file, or listed files of a folder, of a public repository at one commit."""

    repo: str
    commit: str
    path: str                           # the file, or the folder holding `members`
    members: tuple[str, ...] = ()

    @property
    def folder(self) -> bool:
        return bool(self.members)

    def describe(self) -> str:
        return f"github.com/{self.repo} at commit {self.commit[:12]}, {self.path}"

    def files(self) -> list[tuple[str, str]]:
        """(raw URL, path under the target) for every file; '' for a single file."""
        base = f"https://raw.githubusercontent.com/{self.repo}/{self.commit}/"
        if not self.members:
            return [(base + urllib.parse.quote(self.path), "")]
        return [(base + urllib.parse.quote(f"{self.path}/{m}"), m) for m in self.members]


@dataclass(frozen=True)
class Hub:
    """Files of a Hugging Face dataset repository, matched by patterns, at one revision."""

    repo: str
    patterns: tuple[str, ...]           # fnmatch patterns; one literal file name makes a file input
    revision: str | None = None         # None: the revision the first download resolves (then recorded)
    gated: bool = False

    @property
    def folder(self) -> bool:
        return len(self.patterns) > 1 or any(c in self.patterns[0] for c in "*?[")

    @property
    def page(self) -> str:
        return f"https://huggingface.co/datasets/{self.repo}"

    def describe(self) -> str:
        pin = f"revision {self.revision[:12]}" if self.revision else "the revision the lock records (first: main)"
        return f"huggingface.co/datasets/{self.repo} at {pin}, {', '.join(self.patterns)}"


@dataclass(frozen=True)
class Source:
    name: str                   # the rule is fetch_{name}; the key in the lock file
    path: str                   # relative to resources/ and to the local data folder
    what: str                   # what it is, where it comes from, its licence
    origin: GitHub | Hub

    @property
    def folder(self) -> bool:
        return self.origin.folder
