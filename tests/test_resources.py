"""Every input made by a rule: pinned sources, copies and downloads checked against the lock, a
gated dataset without a token failing alone with the way to get it, and a fresh clone with no
`../shared` building the paper-scale DAG. No test downloads anything: the network is replaced by
a function serving the checkout's own copies, or is never reached."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from safety_compliance import resources as res
from safety_compliance.cli import main
from safety_compliance.config import deep_merge
from safety_compliance.resources import InputUnavailable, get_source, provide, source_at, sources
from safety_compliance.safety_datasets import DATASETS
from safety_compliance.sources import GitHub, Hub

sys.path.insert(0, str(Path(__file__).parent / "cluster"))
from workflow_run import ROOT, clone_env, fresh_checkout, parse_jobs, snakemake  # noqa: E402

HEX40 = re.compile(r"[0-9a-f]{40}")


def configs() -> dict[str, dict]:
    demo = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    return {"demo": demo, "paper": deep_merge(demo, yaml.safe_load((ROOT / "config/paper.yaml").read_text()))}


@pytest.fixture
def no_token(monkeypatch, tmp_path):
    """No Hugging Face token anywhere, and any attempt to reach the hub fails the test."""
    import huggingface_hub
    from huggingface_hub import constants

    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))

    def no_hub(*args, **kwargs):
        raise AssertionError("the hub was contacted")

    monkeypatch.setattr(huggingface_hub, "HfApi", no_hub)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_hub)


def serve_from(folder: Path, seen: list[str]):
    """An urlopen that answers a pinned GitHub URL with the checkout's copy of that source."""
    by_url = {}
    for source in sources():
        if isinstance(source.origin, GitHub):
            for url, member in source.origin.files():
                by_url[url] = folder / source.path / member if member else folder / source.path

    def urlopen(request, timeout=None):
        seen.append(request.full_url)
        return open(by_url[request.full_url], "rb")
    return urlopen


# --- the sources -----------------------------------------------------------------------------------

def test_every_input_a_config_reads_has_one_pinned_source():
    assert len({s.name for s in sources()}) == len({s.path for s in sources()}) == len(sources())
    for name, dataset in DATASETS.items():
        assert get_source(name).path == f"safety/{dataset.local}", name
    for scale, cfg in configs().items():
        paths = [p for ps in res.input_paths(cfg).values() for p in ps]
        assert paths and all(source_at(p) for p in paths if p.startswith("resources/")), scale
    lock = res.read_lock(ROOT / res.LOCK)
    for source in sources():
        if isinstance(source.origin, GitHub):
            assert HEX40.fullmatch(source.origin.commit), source.name
            assert lock[source.name]["revision"] == source.origin.commit, source.name
        else:
            assert source.origin.revision is None or HEX40.fullmatch(source.origin.revision), source.name
    # the paper's sets come from the hub; the ones behind a form say so
    assert {s.name for s in sources() if isinstance(s.origin, Hub) and s.origin.gated} == {"wildguard", "aegis2"}
    assert "%253A" in get_source("law_eu_ai_act").origin.files()[0][0]     # the file name holds '%3A'


def test_each_config_needs_only_the_sources_its_jobs_read():
    cfgs = configs()
    demo = {s.name for s in res.needed_sources(cfgs["demo"])}
    paper = {s.name for s in res.needed_sources(cfgs["paper"])}
    kb_and_laws = {"law_eu_ai_act", "law_gdpr", "privaci_kb_eu_ai_act", "privaci_kb_gdpr"}
    cases = {"privaci_cases_eu_ai_act", "privaci_cases_gdpr"}
    assert demo == kb_and_laws | cases | {"aegis1", "openai_mod"}
    assert paper == kb_and_laws | cases | {"aegis2", "wildguard", "openai_mod", "saferlhf"}
    kb_only = deep_merge(cfgs["demo"], {"laws": ["gdpr"], "law": {"seed_source": "privaci_kb"},
                                        "evaluate": {"models": ["smollm2-135m-instruct"]},
                                        "extrapolate": {"datasets": []}})
    assert [s.name for s in res.needed_sources(kb_only)] == ["privaci_kb_gdpr"]


# --- copies and downloads --------------------------------------------------------------------------

def test_copies_from_the_local_folder_once_and_checks_them(tmp_path, resources):
    lock = ROOT / res.LOCK
    first, failed = res.fetch(["law_gdpr", "privaci_kb_gdpr"], tmp_path / "res", resources, lock)
    assert not failed
    assert all(line.startswith("copied") and line.endswith("as recorded") for line in first), first
    assert (tmp_path / "res/reference/privaci_bench/KBs/GDPR/dataset_info.json").is_file()
    again, _ = res.fetch(["law_gdpr", "privaci_kb_gdpr"], tmp_path / "res", resources, lock)
    assert all(line.startswith("present") for line in again)

    # a folder Snakemake made (its marker inside), read-only: copied writable, marker left out
    made = tmp_path / "made/reference/privaci_bench/cases/GDPR"
    shutil.copytree(resources / "reference/privaci_bench/cases/GDPR", made)
    (made / ".snakemake_timestamp").write_text("")
    made.chmod(0o555)
    line = provide(get_source("privaci_cases_gdpr"), tmp_path / "res", tmp_path / "made", lock)
    made.chmod(0o755)
    copied = tmp_path / "res/reference/privaci_bench/cases/GDPR"
    assert line.endswith("as recorded") and not (copied / ".snakemake_timestamp").exists()
    assert copied.stat().st_mode & 0o200 and all(f.stat().st_mode & 0o200 for f in copied.iterdir())

    damaged = tmp_path / "damaged"
    shutil.copytree(resources / "reference/privaci_bench/KBs/GDPR", damaged / "reference/privaci_bench/KBs/GDPR")
    with open(damaged / "reference/privaci_bench/KBs/GDPR/state.json", "a") as handle:
        handle.write(" ")
    with pytest.raises(InputUnavailable, match=r"privaci_kb_gdpr: .* has sha256 .* but .* records"):
        provide(get_source("privaci_kb_gdpr"), tmp_path / "res2", damaged, lock)
    assert not (tmp_path / "res2/reference/privaci_bench/KBs/GDPR").exists()
    assert not list((tmp_path / "res2").rglob("*.part"))


def test_downloads_the_pinned_commit_and_records_a_first_checksum(tmp_path, resources, monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(res.urllib.request, "urlopen", serve_from(resources, seen))
    lock = tmp_path / "inputs.lock.yaml"
    shutil.copyfile(ROOT / res.LOCK, lock)
    # a recorded source: every file from its commit, checked
    line = provide(get_source("privaci_cases_gdpr"), tmp_path / "res", None, lock)
    assert line.startswith("downloaded") and line.endswith("as recorded"), line
    commit = get_source("privaci_cases_gdpr").origin.commit
    assert len(seen) == 3 and all(f"/HKUST-KnowComp/PrivaCI-Bench/{commit}/HF_cache/cases/GDPR/" in u for u in seen)
    # a source the lock does not know yet: the first download records its checksum and revision
    entries = yaml.safe_load(lock.read_text())
    del entries["openai_mod"]
    lock.write_text(yaml.safe_dump(entries))
    line = provide(get_source("openai_mod"), tmp_path / "res", None, lock)
    assert "recorded its sha256 and revision" in line
    recorded = yaml.safe_load(lock.read_text())["openai_mod"]
    assert recorded == {"sha256": res.checksum(resources / "safety/openai_moderation_samples-1680.jsonl.gz"),
                        "revision": get_source("openai_mod").origin.commit}
    assert lock.read_text().startswith("# Checksums of the workflow's inputs")
    # a download that differs from the record is refused and leaves nothing behind
    entries = yaml.safe_load(lock.read_text())
    entries["law_gdpr"]["sha256"] = "0" * 64
    lock.write_text(yaml.safe_dump(entries))
    with pytest.raises(InputUnavailable, match="law_gdpr: the download of github.com/coolharsh55/GDPRtEXT"):
        provide(get_source("law_gdpr"), tmp_path / "res", None, lock)
    assert not (tmp_path / "res/law").exists() or not list((tmp_path / "res/law").iterdir())


def test_a_failed_download_names_the_file_and_the_way_out(tmp_path, monkeypatch, capsys):
    def offline(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(res.urllib.request, "urlopen", offline)
    code = main(["resources", "fetch", "--only", "law_eu_ai_act", "--dest", str(tmp_path / "res"),
                 "--local", str(tmp_path / "none"), "--lock", str(ROOT / res.LOCK)])
    assert code == 2
    err = capsys.readouterr().err
    assert "law_eu_ai_act" in err and "raw.githubusercontent.com/Atypis/cartho/" in err
    assert f"{tmp_path / 'none'}/law/eu_ai_act_2024_1689_oj.html" in err and "shared_data" in err
    assert not list((tmp_path / "res").rglob("*.part"))


def test_a_gated_dataset_without_a_token_fails_alone(tmp_path, resources, no_token, capsys):
    code = main(["resources", "fetch", "--only", "wildguard", "--only", "aegis2", "--only", "openai_mod",
                 "--dest", str(tmp_path / "res"), "--local", str(resources),
                 "--lock", str(ROOT / res.LOCK)])
    out, err = capsys.readouterr()
    assert code == 2
    # wildguard has a local copy, so it is copied; aegis2 has none and is gated
    assert "copied" in out and "wildguardtest.parquet" in out and "openai_moderation" in out
    assert (tmp_path / "res/safety/openai_moderation_samples-1680.jsonl.gz").is_file()
    assert "aegis2 (nvidia/Aegis-AI-Content-Safety-Dataset-2.0) is gated" in err
    assert "https://huggingface.co/datasets/nvidia/Aegis-AI-Content-Safety-Dataset-2.0" in err and "HF_TOKEN" in err
    assert not (tmp_path / "res/safety/aegis2_test.json").exists()
    # with no copy at all, WildGuardTest fails the same way and names its own page
    done, failed = res.fetch(["wildguard"], tmp_path / "res3", tmp_path / "none", ROOT / res.LOCK)
    assert not done and len(failed) == 1
    assert "allenai/wildguardmix" in failed[0] and "https://huggingface.co/datasets/allenai/wildguardmix" in failed[0]


def test_the_hub_offline_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_unused")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputUnavailable, match="saferlhf: HF_HUB_OFFLINE is set") as err:
        provide(get_source("saferlhf"), tmp_path / "res", tmp_path / "copies", tmp_path / "lock.yaml")
    assert f"{tmp_path / 'copies'}/safety/pku_saferlhf_test" in str(err.value)


class FakeHub:
    """The hub's answers to our downloader (which revision `main` is, the files there, their bytes)."""

    def __init__(self, files: dict[str, bytes], sha: str, gated: bool = False):
        self.files, self.sha, self.gated, self.asked = files, sha, gated, []

    def api(self, token=None):
        return self

    def dataset_info(self, repo, revision):
        self.asked.append(revision)
        if self.gated:
            from huggingface_hub.errors import GatedRepoError

            error = GatedRepoError.__new__(GatedRepoError)
            Exception.__init__(error, "403 Client Error: access to this repository is restricted")
            raise error
        return type("Info", (), {"sha": self.sha})()

    def list_repo_files(self, repo, repo_type, revision):
        assert revision == self.sha and repo_type == "dataset"
        return sorted(self.files)

    def download(self, tmp: Path):
        def hf_hub_download(repo, name, repo_type, revision, token):
            assert revision == self.sha
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_bytes(self.files[name])
            return str(tmp / name)
        return hf_hub_download


def use_hub(monkeypatch, tmp_path, hub: FakeHub):
    import huggingface_hub

    monkeypatch.setenv("HF_TOKEN", "hf_test")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub, "HfApi", hub.api)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hub.download(tmp_path / "cache"))


def test_hub_downloads_pin_the_revision_they_resolved(tmp_path, monkeypatch):
    lock = tmp_path / "lock.yaml"
    first = FakeHub({"test/wildguard_test.parquet": b"v1", "train/wildguard_train.parquet": b"x"}, "a" * 40)
    use_hub(monkeypatch, tmp_path, first)
    line = provide(get_source("wildguard"), tmp_path / "res", None, lock)
    assert "recorded its sha256 and revision" in line and first.asked == ["main"]
    assert (tmp_path / "res/safety/wildguardtest.parquet").read_bytes() == b"v1"
    assert yaml.safe_load(lock.read_text())["wildguard"]["revision"] == "a" * 40
    # the next download asks for the recorded revision, and a changed file there is refused
    second = FakeHub({"test/wildguard_test.parquet": b"v2"}, "a" * 40)
    use_hub(monkeypatch, tmp_path, second)
    with pytest.raises(InputUnavailable, match="wildguard: the download of .* has sha256"):
        provide(get_source("wildguard"), tmp_path / "res2", None, lock)
    assert second.asked == ["a" * 40]
    # a folder source takes every file its pattern matches, at its pinned revision
    pku = FakeHub({"data/Alpaca-7B/test.jsonl": b"{}\n", "data/Alpaca3-8B/test.jsonl": b"{}\n",
                   "data/Alpaca-7B/train.jsonl": b"{}\n"}, "b" * 40)
    use_hub(monkeypatch, tmp_path, pku)
    provide(get_source("saferlhf"), tmp_path / "res", None, lock)
    assert pku.asked == [get_source("saferlhf").origin.revision]
    got = sorted(p.relative_to(tmp_path / "res/safety/pku_saferlhf_test").as_posix()
                 for p in (tmp_path / "res/safety/pku_saferlhf_test").rglob("*") if p.is_file())
    assert got == ["data/Alpaca-7B/test.jsonl", "data/Alpaca3-8B/test.jsonl"]


def test_a_token_without_access_names_the_access_page(tmp_path, monkeypatch):
    use_hub(monkeypatch, tmp_path, FakeHub({}, "c" * 40, gated=True))
    with pytest.raises(InputUnavailable, match="HF_TOKEN has no access to nvidia/Aegis-AI-Content-Safety-Dataset-2.0"):
        provide(get_source("aegis2"), tmp_path / "res", None, tmp_path / "lock.yaml")
    assert not (tmp_path / "res/safety").exists() or not list((tmp_path / "res/safety").iterdir())


def test_fetch_for_a_config_provides_what_its_jobs_read(tmp_path, resources, capsys):
    code = main(["resources", "fetch", "--config", "config/config.yaml", "--dest", str(tmp_path / "res"),
                 "--local", str(resources), "--lock", str(ROOT / res.LOCK)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert len(out.splitlines()) == 8
    assert (tmp_path / "res/safety/aegis1_test_359.json").is_file()
    assert not (tmp_path / "res/safety/aegis2_test.json").exists()
    assert not (tmp_path / "res/safety/wildguardtest.parquet").exists()    # the rehearsal's, not the demo's


# --- the workflow, from a fresh clone with no ../shared ---------------------------------------------

@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    return fresh_checkout(tmp_path_factory.mktemp("first-contact") / "clone")


@pytest.mark.parametrize("overlay", [[], ["config/paper.yaml"]], ids=["demo", "paper"])
def test_a_fresh_clone_builds_the_dag(clone, overlay):
    assert not (clone.parent / "shared").exists() and not (clone / "resources/law").exists()
    args = ["-n", "--configfile", "config/config.yaml", *overlay, "--", "all"]
    run = snakemake(args, cwd=clone, env=clone_env(clone))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    jobs = parse_jobs(run.stdout + "\n" + run.stderr)
    fetched = {j.rule.removeprefix("fetch_") for j in jobs if j.rule.startswith("fetch_")}
    cfg = configs()["paper" if overlay else "demo"]
    assert fetched == {s.name for s in res.needed_sources(cfg)}


def test_a_gated_input_blocks_only_its_own_jobs(tmp_path_factory, resources):
    """Run for real, in a fresh clone beside a `shared/data` folder (the checkout's resources/, laid
    out the same way), with the default config: one dataset is copied from there and sampled, the
    gated one, which the folder lacks, fails alone with its message."""
    clone = fresh_checkout(tmp_path_factory.mktemp("beside-shared") / "clone")
    (clone.parent / "shared").mkdir()
    (clone.parent / "shared" / "data").symlink_to(resources.resolve())
    run = snakemake(["--cores", "2", "--keep-going", "--", "results/extrapolate/aegis1/samples.jsonl",
                     "resources/safety/aegis2_test.json"], cwd=clone, env=clone_env(clone))
    assert run.returncode != 0
    log = (clone / "results/logs/fetch/aegis2.log").read_text()
    assert "aegis2 (nvidia/Aegis-AI-Content-Safety-Dataset-2.0) is gated" in log
    assert "https://huggingface.co/datasets/nvidia/Aegis-AI-Content-Safety-Dataset-2.0" in log and "HF_TOKEN" in log
    copied = (clone / "results/logs/fetch/aegis1.log").read_text()
    assert "from ../shared/data/safety/aegis1_test_359.json" in copied and "as recorded" in copied
    samples = (clone / "results/extrapolate/aegis1/samples.jsonl").read_text().splitlines()
    assert len(samples) == configs()["demo"]["extrapolate"]["samples_per_dataset"]
    assert not (clone / "resources/safety/aegis2_test.json").exists()
