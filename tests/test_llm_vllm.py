"""The vllm backend: run where vLLM and a GPU are present, skipped with the reason elsewhere."""

from __future__ import annotations

import json

import pytest

from llm_helpers import ask, llm_cfg
from safety_compliance.llm import Constraint, make_generator
from safety_compliance.registry import ModelEntry


def test_without_vllm_the_error_says_what_to_install(tmp_path):
    try:
        import vllm  # noqa: F401
        pytest.skip("vllm is installed here; the missing-package message cannot be shown")
    except ImportError:
        pass
    with pytest.raises(ImportError, match=r"pip install -e \.\[vllm\]"):
        make_generator(ModelEntry(name="v", model="x", backend="vllm"), llm_cfg(tmp_path), stage="t")


def test_vllm_generates_under_json_and_regex_constraints(smollm2, tmp_path):
    pytest.importorskip("vllm", reason="vllm is an optional extra for GPU nodes (pip install -e .[vllm]); "
                                       "not installed in this environment")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("vLLM's engine needs a GPU and none is visible")
    schema = {"type": "object", "properties": {"label": {"enum": ["prohibited", "permitted"]}},
              "required": ["label"], "additionalProperties": False}
    entry = ModelEntry(name="smollm2-vllm", model=str(smollm2), backend="vllm", dtype="float16",
                       options={"engine": {"gpu_memory_utilization": 0.3, "max_model_len": 2048}})
    with make_generator(entry, llm_cfg(tmp_path), stage="t") as gen:
        out = gen.generate([ask("Is this permitted?", max_tokens=32, constraint=Constraint("json_schema", schema)),
                            ask("Pick a chapter.", max_tokens=8, constraint=Constraint("regex", r"chapter [1-9]"))])
        assert json.loads(out[0].text)["label"] in ("prohibited", "permitted")
        assert out[1].text.startswith("chapter ")
        assert gen.generate([ask("Is this permitted?", max_tokens=32,
                                 constraint=Constraint("json_schema", schema))])[0].cached
