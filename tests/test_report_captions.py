"""Every table and figure the workflow makes reaches the HTML report with a caption of its own."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "cluster"))
from workflow_run import ROOT, dry_run  # noqa: E402


def test_every_report_page_has_a_caption_file():
    jobs = dry_run(["--cores", "1", "all"])
    stems = {j.wildcards["stem"] for j in jobs if j.rule in ("report_table", "report_figure")}
    assert {"table_seeds", "figure_seeds"} <= stems, "the law stage's table and figure are not in the report"
    missing = sorted(s for s in stems if not (ROOT / "workflow" / "report" / f"{s}.rst").is_file())
    assert not missing, f"tables/figures without a caption: write workflow/report/{{stem}}.rst for {missing}"


def test_reproduction_runs_after_every_other_job():
    """Everything `all` makes is upstream of the reproduction report, so it sees the whole run."""
    every = dry_run(["--cores", "1", "all"])
    upstream = dry_run(["--cores", "1", "results/reproduction.md"])
    count = lambda jobs: sorted((j.rule, sorted(j.wildcards.items())) for j in jobs if j.rule != "all")
    assert count(upstream) == count(every)
