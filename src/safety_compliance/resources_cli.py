"""`safety-compliance resources fetch`: copy or download the workflow's inputs."""

from __future__ import annotations

from .resources import fetch


def register(sub) -> None:
    resources = sub.add_parser("resources", help="provide law texts, reference data and datasets")
    actions = resources.add_subparsers(dest="action", required=True)
    get = actions.add_parser("fetch", help="copy from the local data folder, or download")
    get.add_argument("--dest", default="resources")
    get.add_argument("--local", default="../shared/data", help="a folder holding copies of the sources")
    get.set_defaults(run=lambda a: print("\n".join(fetch(a.dest, a.local))))
