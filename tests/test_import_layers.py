"""Stages depend only downward: no module of one stage package imports another stage package, and the
shared modules at the package's top level import no stage at all (only the command line, which
gathers every stage's commands, and the package's lazy `ComplianceReasoner` stand above the stages).

Every import counts: absolute and relative, at module level and inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "safety_compliance"
STAGES = ("law", "benchmark", "train", "evaluate", "extrapolate", "report")
ABOVE_THE_STAGES = {PACKAGE, f"{PACKAGE}.cli", f"{PACKAGE}.__main__"}
SRC = Path(__file__).resolve().parents[1] / "src" / PACKAGE


def module_name(path: Path, src: Path) -> tuple[str, bool]:
    """(dotted module name, whether it is a package's __init__) of a file under `src`."""
    parts = list(path.relative_to(src.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def imported(tree: ast.AST, module: str, is_package: bool):
    """(line, the import as written, every module it may name): `from a import b` may name a.b."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, f"import {alias.name}", [alias.name]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if is_package else module.split(".")[:-1]
                here = here[:len(here) - (node.level - 1)]
                base = ".".join(here + ([node.module] if node.module else []))
            written = f"from {'.' * node.level}{node.module or ''} import {', '.join(a.name for a in node.names)}"
            yield node.lineno, written, [base] + [f"{base}.{a.name}" for a in node.names]


def stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == PACKAGE and parts[1] in STAGES else None


def violations(src: Path) -> list[str]:
    """Every import that goes sideways (stage to stage) or upward (shared module to stage)."""
    found = []
    for path in sorted(src.rglob("*.py")):
        module, is_package = module_name(path, src)
        if module in ABOVE_THE_STAGES:
            continue
        own = stage_of(module)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, written, targets in imported(tree, module, is_package):
            for target in targets:
                stage = stage_of(target)
                if stage and stage != own:
                    where = f"stage {own}" if own else "shared module"
                    found.append(f"{path.relative_to(src.parent)}:{line}: `{written}` ({where} imports stage {stage})")
                    break
    return found


def test_stages_import_only_shared_modules():
    assert violations(SRC) == []


def test_the_check_sees_sideways_upward_and_function_level_imports(tmp_path):
    package = tmp_path / PACKAGE
    for folder in (package, package / "evaluate", package / "extrapolate"):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "__init__.py").write_text("")
    (package / "metrics.py").write_text("from .evaluate import guard\n")
    (package / "extrapolate" / "jobs.py").write_text(
        "from .. import metrics\n\n\ndef run():\n    from ..evaluate.families import get_family\n")
    (package / "extrapolate" / "more.py").write_text("import safety_compliance.evaluate.run\nfrom ..evaluate import x\n")
    (package / "evaluate" / "own.py").write_text("from . import guard\nfrom ..metrics import f\n")
    assert violations(package) == [
        f"{PACKAGE}/extrapolate/jobs.py:5: `from ..evaluate.families import get_family` "
        "(stage extrapolate imports stage evaluate)",
        f"{PACKAGE}/extrapolate/more.py:1: `import safety_compliance.evaluate.run` "
        "(stage extrapolate imports stage evaluate)",
        f"{PACKAGE}/extrapolate/more.py:2: `from ..evaluate import x` (stage extrapolate imports stage evaluate)",
        f"{PACKAGE}/metrics.py:1: `from .evaluate import guard` (shared module imports stage evaluate)",
    ]
