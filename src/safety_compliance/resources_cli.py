"""`safety-compliance resources fetch`: copy or download the workflow's inputs."""

from __future__ import annotations

import sys

from .resources import LOCK, fetch, needed_sources, source_names
from .slices import runtime_from_env


def _run(args) -> int:
    if args.only:
        names = args.only
    elif args.config:
        from .config import load_config

        names = [s.name for s in needed_sources(load_config(args.config))]
    else:
        names = source_names()
    local = args.local or runtime_from_env().get("shared_data") or "../shared/data"
    done, failed = fetch(names, args.dest, local, args.lock)
    print("\n".join(done))
    for message in failed:
        print(f"safety-compliance: error: {message}", file=sys.stderr)
    return 2 if failed else 0


def register(sub) -> None:
    resources = sub.add_parser("resources", help="provide law texts, reference data and datasets")
    actions = resources.add_subparsers(dest="action", required=True)
    get = actions.add_parser(
        "fetch", help="copy from the local data folder, or download; each source checked against the lock",
        description="Provide the workflow's inputs under --dest: every source, the ones a config reads "
                    "(--config), or the named ones (--only). A source that fails is reported and the others "
                    "are still provided; the exit status is 2 when any failed.")
    get.add_argument("--only", action="append", choices=sorted(source_names()), metavar="NAME",
                     help=f"one source (repeatable): {', '.join(source_names())}")
    get.add_argument("--config", nargs="+", metavar="YAML",
                     help="the sources these configs' jobs read (config files, later ones overlaying earlier)")
    get.add_argument("--dest", default="resources")
    get.add_argument("--local", default=None,
                     help="a folder holding copies of the sources (default: the workflow's shared_data, "
                          "else ../shared/data)")
    get.add_argument("--lock", default=str(LOCK), help="the checksum file (default: %(default)s)")
    get.set_defaults(run=_run)
