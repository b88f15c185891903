"""`safety-compliance law build`, and bad configurations caught by load_config and by Snakemake."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import yaml

from safety_compliance.cli import main
from safety_compliance.config import ConfigError, load_config
from safety_compliance.jsonl import read_jsonl


def _config(root, tmp_path, law_block: dict, laws=("eu_ai_act", "gdpr")) -> str:
    cfg = yaml.safe_load((root / "config" / "config.yaml").read_text(encoding="utf-8"))
    cfg["laws"] = list(laws)
    cfg["law"] = law_block
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return str(path)


def test_cli_builds_the_official_pool(root, resources, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(root)
    out = tmp_path / "gdpr"
    assert main(["law", "build", "--law", "gdpr", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    seeds = read_jsonl(out / "seeds.jsonl")
    assert summary["seeds"] == len(seeds) and summary["seed_source"] == "official"
    assert "gdpr/ch03/art017/p1/a" in {s["id"] for s in seeds}
    assert json.loads((out / "tree.json").read_text())["root"]["id"] == "gdpr"


def test_cli_follows_the_config_to_the_kb_pool(root, resources, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(root)
    config = _config(root, tmp_path, {"seed_source": "privaci_kb", "include_recitals": False,
                                "include_annexes": False, "max_depth": None})
    assert main(["law", "build", "--law", "eu_ai_act", "--out", str(tmp_path / "kb"), "--config", config]) == 0
    assert json.loads(capsys.readouterr().out)["seeds"] == 842
    assert len(read_jsonl(tmp_path / "kb" / "seeds.jsonl")) == 842


def test_cli_reports_bad_input_without_a_traceback(root, resources, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(root)
    broken = tmp_path / "gdpr.json"
    broken.write_text('{"chapters": []}', encoding="utf-8")
    assert main(["law", "build", "--law", "gdpr", "--out", str(tmp_path / "x"), "--source", str(broken)]) == 2
    assert "missing chapters 1-11; missing articles 1-99" in capsys.readouterr().err
    with pytest.raises(SystemExit):                      # argparse: not one of the known laws
        main(["law", "build", "--law", "ccpa", "--out", str(tmp_path / "y")])
    assert "invalid choice: 'ccpa'" in capsys.readouterr().err


def test_load_config_names_a_misspelt_key_and_an_unknown_law(root, monkeypatch):
    monkeypatch.chdir(root)
    with pytest.raises(ConfigError, match="'seed_sourse' was unexpected"):
        load_config("config/config.yaml", {"law": {"seed_sourse": "official"}})
    with pytest.raises(ConfigError, match="unknown law\\(s\\) 'ccpa'; the law registry .* has eu_ai_act, gdpr"):
        load_config("config/config.yaml", {"laws": ["eu_ai_act", "ccpa"]})
    with pytest.raises(ConfigError, match="law/seed_source: 'eurlex' is not one of"):
        load_config("config/config.yaml", {"law": {"seed_source": "eurlex"}})


@pytest.mark.slow
@pytest.mark.parametrize("bad,said,named", [
    ({"law": {"seed_sourse": "official"}}, "Error validating config file", "seed_sourse"),
    ({"laws": ["eu_ai_act", "ccpa"]}, "unknown law(s)", "ccpa")])     # the law registry, not the schema
def test_snakemake_refuses_a_bad_configfile(root, tmp_path, bad, said, named):
    configfile = tmp_path / "bad.yaml"
    configfile.write_text(yaml.safe_dump(bad), encoding="utf-8")
    snakemake = [sys.executable, "-m", "snakemake"]
    done = subprocess.run([*snakemake, "-n", "--cores", "1", "--nolock", "--configfile", str(configfile)],
                          cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert said in done.stderr + done.stdout
    assert named in done.stderr + done.stdout


@pytest.mark.slow
def test_snakemake_plans_one_law_tree_job_per_law(root):
    # Targets before --forcerun, which takes every name after it.
    done = subprocess.run([sys.executable, "-m", "snakemake", "results/law/eu_ai_act/seeds.jsonl",
                           "results/law/gdpr/seeds.jsonl", "-n", "--cores", "1", "--nolock", "--forcerun", "law_tree"],
                          cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "results/notebooks/01_law_tree_eu_ai_act.ipynb" in done.stdout
    assert "results/notebooks/01_law_tree_gdpr.ipynb" in done.stdout
    assert len(re.findall(r"^(?:local)?rule law_tree:", done.stdout, flags=re.M)) == 2
