"""Providing the workflow's inputs: copies from a local folder, idempotent, a clear error otherwise."""

from __future__ import annotations


from safety_compliance import resources
from safety_compliance.cli import main


def test_copies_from_the_local_folder_once(tmp_path):
    local = tmp_path / "shared"
    for source in resources.SOURCES:
        target = local / source.path
        if "." in target.name:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(source.path)
        else:
            (target / "part").mkdir(parents=True)
            (target / "part" / "file.txt").write_text("x")
    first = resources.fetch(tmp_path / "res", local)
    assert all(line.startswith("copied") for line in first)
    assert (tmp_path / "res/law/gdpr_2016_679_gdprtext.json").read_text() == "law/gdpr_2016_679_gdprtext.json"
    assert (tmp_path / "res/safety/part/file.txt").is_file()
    assert all(line.startswith("present") for line in resources.fetch(tmp_path / "res", local))


def test_a_failed_download_names_the_file_and_the_way_out(tmp_path, monkeypatch, capsys):
    def offline(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(resources.urllib.request, "urlopen", offline)
    assert main(["resources", "fetch", "--dest", str(tmp_path / "res"), "--local", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert "eu_ai_act_2024_1689_oj.html" in err and "eur-lex.europa.eu" in err and "--local" in err
    assert not list((tmp_path / "res").rglob("*.part"))

