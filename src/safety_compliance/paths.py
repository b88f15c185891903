"""Where the project lives, so notebooks and scripts resolve relative paths the same way."""

from __future__ import annotations

import os
from pathlib import Path


def project_root(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` (default: the working directory) holding a Snakefile.

    Notebooks run by nbval start in notebooks/, papermill runs from the repository root; both must
    read and write the same files.
    """
    env = os.environ.get("SAFETY_COMPLIANCE_ROOT")
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "Snakefile").is_file():
            return folder
    raise FileNotFoundError(f"no Snakefile at or above {here}; run from inside the project checkout")


def enter_project_root() -> Path:
    """chdir to the project root and return it (the first line of every notebook)."""
    root = project_root()
    os.chdir(root)
    return root
