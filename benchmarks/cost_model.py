"""What the paper's training costs: one SFT step and one GRPO step of a Qwen3-8B-shaped model, measured,
then extrapolated to the paper's full runs.

The model is randomly initialised from a Qwen3Config with Qwen3-8B's shape (no weights are downloaded):
step time does not depend on the values of the weights. Prints tokens/s, model FLOPs utilisation (MFU)
against the device's peak dense bf16 FLOP/s, peak memory, and GPU-hours for the paper's SFT (10 epochs
over the train traces, one sequence of `--sft-length` tokens per micro-step) and GRPO (3 epochs over
the train prompts, G rollouts of `--completion-length` tokens each).

    python benchmarks/cost_model.py            # on a GPU: the real shape (about 16 GB of bf16 weights)
    python benchmarks/cost_model.py --tiny     # anywhere: a shrunken model that runs the same code path

Adam states are kept in bf16 (torch AdamW on bf16 parameters) so that the 8B model, its gradients and
optimizer state fit one 80 GB GPU; the paper's 8-GPU ZeRO-3 run shards them instead.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
# Qwen3-8B (config.json of Qwen/Qwen3-8B).
QWEN3_8B = dict(vocab_size=151936, hidden_size=4096, intermediate_size=12288, num_hidden_layers=36,
                num_attention_heads=32, num_key_value_heads=8, head_dim=128, max_position_embeddings=40960,
                tie_word_embeddings=False, rope_theta=1000000.0)
TINY = dict(vocab_size=1024, hidden_size=64, intermediate_size=192, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, head_dim=16, max_position_embeddings=4096, tie_word_embeddings=False)
# Dense bf16 peak FLOP/s by device name fragment (vendor data sheets; without sparsity).
PEAK_BF16 = {"H200": 989e12, "H100 SXM": 989e12, "H100 PCIe": 756e12, "H100": 989e12, "A100": 312e12,
             "L40S": 362e12, "A10G": 70e12}


def paper_workload() -> dict:
    """Trace and prompt counts (half of the paper's cases are train) and the paper's training settings."""
    figures = yaml.safe_load((ROOT / "config/paper_results.yaml").read_text())["text_figures"]
    paper = yaml.safe_load((ROOT / "config/paper.yaml").read_text())["train"]
    train_cases = sum(n // 2 for n in figures["benchmark_cases"].values())
    return {"train_cases": train_cases, "sft_epochs": paper["sft"]["epochs"], "grpo_epochs": paper["grpo"]["epochs"],
            "G": paper["grpo"]["num_generations"], "sft_length": paper["sft"]["max_length"],
            "prompt_length": paper["grpo"]["max_prompt_length"],
            "completion_length": paper["grpo"]["max_completion_length"], "beta": paper["grpo"]["beta"]}


def flops_per_token(params: int, layers: int, hidden: int, context: int, train: bool) -> float:
    """Dense matmul FLOPs per token: 2N forward (6N with backward) plus causal attention over `context`."""
    attention = 2 * layers * hidden * context  # QK^T and AV, halved for the causal mask, x2 FLOPs per MAC
    return (6 if train else 2) * params + (3 if train else 1) * attention


def peak_flops(device: torch.device, override: float | None) -> float | None:
    if override:
        return override * 1e12
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16.items() if k in name), None)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_memory_gb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 1e9
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # KiB -> GB, whole process


def build(shape: dict, device: torch.device, dtype: torch.dtype, checkpointing: bool):
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen3ForCausalLM(Qwen3Config(**shape, dtype=dtype)).to(dtype)
    if checkpointing:
        model.gradient_checkpointing_enable()
    model.config.use_cache = False
    return model


def time_sft_step(model, optimizer, length: int, device, repeats: int) -> float:
    """Seconds per micro-step: forward and backward of one `length`-token sequence, then Adam."""
    ids = torch.randint(0, model.config.vocab_size, (1, length), device=device)
    model.train()
    times = []
    for i in range(repeats + 1):  # the first is a warm-up
        synchronize(device)
        start = time.perf_counter()
        model(input_ids=ids, labels=ids).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        synchronize(device)
        if i:
            times.append(time.perf_counter() - start)
    return sum(times) / len(times)


def time_grpo_step(model, optimizer, prompt: int, completion: int, group: int, beta: float, device,
                   repeats: int) -> tuple[float, float]:
    """Seconds for one prompt's GRPO step: G rollouts of exactly `completion` new tokens, a reference
    forward when beta > 0, and forward + backward over each rollout (micro-batch 1); also the rollout
    share of that time."""
    ids = torch.randint(0, model.config.vocab_size, (1, prompt), device=device).repeat(group, 1)
    totals, rollouts = [], []
    for i in range(repeats + 1):
        synchronize(device)
        start = time.perf_counter()
        model.eval()
        model.config.use_cache = True
        with torch.no_grad():
            sequences = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=True,
                                       max_new_tokens=completion, min_new_tokens=completion,
                                       repetition_penalty=1.2, eos_token_id=None, pad_token_id=0)
        synchronize(device)
        rolled = time.perf_counter() - start
        model.config.use_cache = False
        model.train()
        if beta > 0:  # the reference model has the policy's shape; one more forward pass per rollout
            with torch.no_grad():
                for row in sequences:
                    model(input_ids=row[None])
        for row in sequences:
            model(input_ids=row[None], labels=row[None]).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        synchronize(device)
        if i:
            totals.append(time.perf_counter() - start)
            rollouts.append(rolled)
    return sum(totals) / len(totals), sum(rollouts) / len(rollouts)


def main(argv: list[str] | None = None) -> int:
    work = paper_workload()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="shrink model and lengths (a CPU check of the code path)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--sft-length", type=int, default=work["sft_length"])
    parser.add_argument("--prompt-length", type=int, default=work["prompt_length"])
    parser.add_argument("--completion-length", type=int, default=work["completion_length"])
    parser.add_argument("--group", type=int, default=work["G"], help="rollouts per prompt (G)")
    parser.add_argument("--repeats", type=int, default=2, help="timed steps after one warm-up")
    parser.add_argument("--peak-tflops", type=float, default=None, help="device peak bf16 TFLOP/s for MFU")
    args = parser.parse_args(argv)
    if args.tiny:
        args.sft_length, args.prompt_length, args.completion_length = 256, 64, 16
        args.group = min(args.group, 4)
    device = torch.device(args.device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    shape = TINY if args.tiny else QWEN3_8B

    model = build(shape, device, dtype, checkpointing=not args.tiny)
    params = sum(p.numel() for p in model.parameters()) - model.model.embed_tokens.weight.numel()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.0)
    layers, hidden = shape["num_hidden_layers"], shape["hidden_size"]
    peak = peak_flops(device, args.peak_tflops)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"model: {'tiny ' if args.tiny else ''}Qwen3-8B shape, {params / 1e6:,.1f} M parameters (without "
          f"input embeddings), {dtype}, on {name}; peak bf16 {peak / 1e12 if peak else float('nan'):.0f} TFLOP/s")

    sft_seconds = time_sft_step(model, optimizer, args.sft_length, device, args.repeats)
    sft_flops = flops_per_token(params, layers, hidden, args.sft_length, True) * args.sft_length
    print(f"SFT step (1 x {args.sft_length} tokens): {sft_seconds:.3f} s, {args.sft_length / sft_seconds:,.0f} "
          f"tokens/s, MFU {sft_flops / sft_seconds / peak:.1%}" if peak else
          f"SFT step (1 x {args.sft_length} tokens): {sft_seconds:.3f} s, {args.sft_length / sft_seconds:,.0f} "
          "tokens/s, MFU n/a (no peak known for this device; pass --peak-tflops)")
    print(f"  peak memory so far: {peak_memory_gb(device):.2f} GB")

    grpo_seconds, rollout_seconds = time_grpo_step(model, optimizer, args.prompt_length, args.completion_length,
                                                   args.group, work["beta"], device, args.repeats)
    sequence = args.prompt_length + args.completion_length
    grpo_flops = args.group * (
        args.completion_length * flops_per_token(params, layers, hidden, sequence, False)       # rollouts
        + sequence * flops_per_token(params, layers, hidden, sequence, True)                    # policy
        + (sequence * flops_per_token(params, layers, hidden, sequence, False) if work["beta"] else 0))
    generated = args.group * args.completion_length
    mfu = f"MFU {grpo_flops / grpo_seconds / peak:.1%}" if peak else "MFU n/a"
    print(f"GRPO step (G={args.group} rollouts of {args.completion_length} tokens after {args.prompt_length}): "
          f"{grpo_seconds:.3f} s ({rollout_seconds / grpo_seconds:.0%} in rollouts), "
          f"{generated / rollout_seconds:,.0f} generated tokens/s, {mfu}")
    print(f"  peak memory: {peak_memory_gb(device):.2f} GB")

    sft_hours = work["train_cases"] * work["sft_epochs"] * sft_seconds / 3600
    grpo_hours = work["train_cases"] * work["grpo_epochs"] * grpo_seconds / 3600
    print(f"extrapolated single-GPU hours at these lengths{' (tiny model: meaningless)' if args.tiny else ''}: "
          f"SFT {sft_hours:,.1f} ({work['train_cases']} traces x {work['sft_epochs']} epochs, every trace at "
          f"{args.sft_length} tokens, an upper bound), GRPO {grpo_hours:,.1f} ({work['train_cases']} prompts x "
          f"{work['grpo_epochs']} epochs, every rollout at full length; HF generate, vLLM rollouts are faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
