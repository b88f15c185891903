"""Hidden-state features for the representation-space guards: one layer's last-token state per prompt.

The base model is loaded with transformers directly (no generation is needed). Each prompt is the
chat-formatted verifier prompt, so the guard reads the model in the state where it would start its
answer. Features are cached on disk keyed by the model, the layer and the exact texts, so the train
split is encoded once per law however many guards read it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np


def feature_key(model_path: str, layer: int | None, texts: list[str], dtype: str = "float32") -> str:
    payload = json.dumps({"model": str(model_path), "layer": layer, "dtype": dtype, "texts": texts},
                         ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def resolve_layer(layer: int | None, num_layers: int) -> int:
    """Index into `hidden_states` (0 is the embeddings): None means the middle layer, negatives count
    from the top."""
    if layer is None:
        return max(1, num_layers // 2)
    index = layer if layer >= 0 else num_layers + 1 + layer
    if not 0 <= index <= num_layers:
        raise ValueError(f"layer {layer} is outside the model's 0..{num_layers} hidden states")
    return index


def hidden_features(model_path: str | Path, conversations: list[list[dict[str, str]]], *,
                    layer: int | None = None, batch_size: int = 8, max_length: int = 2048,
                    cache_dir: str | Path | None = None, device: str = "auto",
                    dtype: str = "float32") -> tuple[np.ndarray, np.ndarray]:
    """An (n x hidden) float32 array, the state of `layer` at each prompt's last real token, and the
    prompts' token counts."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_path))
    texts = [tokenizer.apply_chat_template(list(c), tokenize=False, add_generation_prompt=True)
             for c in conversations]
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"{feature_key(str(model_path), layer, texts, dtype)}.npz"
        if cache.is_file():
            with np.load(cache) as stored:
                return stored["features"], stored["tokens"]
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(str(model_path), dtype=getattr(torch, dtype)).to(device)
    model.eval()
    index = resolve_layer(layer, model.config.num_hidden_layers)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    rows, tokens = [], []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(texts[start:start + batch_size], return_tensors="pt", padding=True,
                              truncation=True, max_length=max_length, add_special_tokens=False).to(device)
            states = model(**batch, output_hidden_states=True).hidden_states[index]
            lengths = batch["attention_mask"].sum(dim=1)
            tokens.extend(int(n) for n in lengths)
            last = lengths - 1
            rows.append(states[torch.arange(states.shape[0]), last].float().cpu().numpy())
    features = np.concatenate(rows) if rows else np.zeros((0, model.config.hidden_size), dtype=np.float32)
    counts = np.array(tokens, dtype=np.int64)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, features=features, tokens=counts)
    return features, counts
