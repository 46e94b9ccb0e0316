#!/usr/bin/env python3
"""Reference goldens for the synthetic Qwen3 models, from Hugging Face transformers in float32.

For every shape in hearth_synthetic.PARITY_SHAPES: writes its config.json, loads it the way a checkpoint is
loaded (AutoConfig), builds Qwen3ForCausalLM in float32 with eager attention, sets every parameter to the
bf16-representable values of docs/random-models.md, and records, per prompt, the top-10 logprobs at every
prompt position and a 16-token greedy continuation with the top-5 logprobs of each step.

    python3 tools/make_parity_goldens.py [--out tests/goldens/parity] [--device auto|cpu|cuda] [--only NAME]

Needs torch, transformers (Qwen3) and numpy. Deterministic: TF32 off, deterministic algorithms on.
"""
from __future__ import annotations

import argparse
import copy
import os
import platform
import sys
import tempfile
import time

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # before torch: deterministic cuBLAS

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hearth_synthetic as hs  # noqa: E402
import parity_records as pr  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoConfig, Qwen3ForCausalLM  # noqa: E402


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def configure_torch() -> None:
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.set_default_dtype(torch.float32)
    torch.manual_seed(0)  # only the init we overwrite uses it


def load_config(shape: hs.Shape):
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "config.json"), "w", encoding="utf-8") as f:
            f.write(shape.config_json())
        try:
            config = AutoConfig.from_pretrained(tmp, attn_implementation="eager")
        except Exception as e:  # noqa: BLE001 - some versions reject the keyword; set it below instead
            log(f"  AutoConfig rejected attn_implementation ({e}); setting it on the config")
            config = AutoConfig.from_pretrained(tmp)
    try:
        config._attn_implementation = "eager"
    except Exception as e:  # noqa: BLE001 - older/newer setters differ; the check below reports the outcome
        log(f"  could not set eager attention on the config: {e}")
    return config


def bf16_bits_to_tensor(bits: np.ndarray, dims: list[int]) -> torch.Tensor:
    as_f32 = (bits.astype(np.uint32) << np.uint32(16)).view(np.float32)
    return torch.from_numpy(as_f32.copy()).reshape(dims)


def first_bf16_bits(t: torch.Tensor, count: int) -> list[int]:
    head = t.detach().reshape(-1)[:count].to("cpu", torch.float32)
    bits = head.numpy().view(np.uint32)
    if not np.all((bits & np.uint32(0xFFFF)) == 0):
        raise AssertionError("parameter is not bf16-representable")
    return [int(b >> 16) for b in bits]


def build_model(shape: hs.Shape, device: torch.device):
    config = load_config(shape)
    model = Qwen3ForCausalLM(config).to(dtype=torch.float32)
    model.eval()
    spec = shape.tensors()
    expected = {name for name, _, _ in spec}
    if shape.tied and model.lm_head.weight is not model.model.embed_tokens.weight:
        try:
            model.tie_weights()
        except Exception as e:  # noqa: BLE001 - the copy fallback below still gives a correct tied model
            log(f"  tie_weights() failed: {e}")
    params = dict(model.named_parameters())
    tied_in_torch = model.lm_head.weight is model.model.embed_tokens.weight
    if not shape.tied and tied_in_torch:
        raise AssertionError("tie_word_embeddings=false but lm_head is tied")
    copy_lm_head = shape.tied and not tied_in_torch
    if copy_lm_head:
        log("  lm_head is not tied in this transformers version; giving it the embedding's values instead")
        params.pop("lm_head.weight", None)
    if set(params) != expected:
        raise AssertionError(f"parameter names differ from the spec: only in torch {sorted(set(params) - expected)}, "
                             f"only in spec {sorted(expected - set(params))}")
    tensors = []
    with torch.no_grad():
        for name, dims, scale in spec:
            p = params[name]
            if list(p.shape) != dims:
                raise AssertionError(f"{name}: torch shape {list(p.shape)} != spec {dims}")
            count = int(np.prod(dims))
            bits = hs.fill_bf16_numpy(shape.seed, name, scale, count)
            if bits[:8].tolist() != hs.fill_bf16(shape.seed, name, scale, 8):
                raise AssertionError(f"{name}: numpy PRNG disagrees with the pure-Python one")
            p.copy_(bf16_bits_to_tensor(bits, dims))
            tensors.append({"name": name, "shape": dims, "scale": scale, "center": hs.center_for(name),
                            "first8_bf16": first_bf16_bits(p, 8)})
        if copy_lm_head:
            model.lm_head.weight.copy_(model.model.embed_tokens.weight)
    model.to(device)
    for name, p in model.named_parameters():
        if p.dtype != torch.float32:
            raise AssertionError(f"{name} is {p.dtype}, float32 expected")
    return model, tensors


def rope_record(model, shape: hs.Shape) -> dict:
    rotary = model.model.rotary_emb
    inv_freq = rotary.inv_freq.detach().to("cpu", torch.float32)
    scaling = float(getattr(rotary, "attention_scaling", 1.0))
    rope_type = str(getattr(rotary, "rope_type", "default"))
    default = 1.0 / (shape.rope_theta ** (torch.arange(0, shape.head_dim, 2, dtype=torch.int64).float() / shape.head_dim))
    if shape.yarn_factor is None:
        if rope_type != "default" or scaling != 1.0 or not torch.allclose(inv_freq, default, rtol=1e-6, atol=0):
            raise AssertionError(f"{shape.name}: rope not as configured (type {rope_type}, scaling {scaling})")
    elif rope_type != "yarn" or scaling == 1.0 or torch.allclose(inv_freq, default, rtol=1e-6, atol=0):
        raise AssertionError(f"{shape.name}: YaRN not active (type {rope_type}, scaling {scaling})")
    return {"rope_type": rope_type, "attention_scaling": scaling,
            "inv_freq": [float(f"{v:.9g}") for v in inv_freq.tolist()]}


def logprobs_of(model, ids: list[int], device: torch.device) -> torch.Tensor:
    """log_softmax in float64 of the model's logits; [len(ids), vocab] on the CPU."""
    with torch.no_grad():
        x = torch.tensor([ids], dtype=torch.long, device=device)
        logits = model(input_ids=x, use_cache=False).logits[0]
        return torch.log_softmax(logits.to(torch.float64), dim=-1).cpu()


def top_records(logprobs: torch.Tensor, k: int) -> list[dict]:
    values, ids = torch.topk(logprobs, k, dim=-1)
    return [pr.top_record(i, v) for i, v in zip(ids.tolist(), values.tolist())]


def greedy(model, prompt: list[int], device: torch.device):
    ids = list(prompt)
    tops, min_gap = [], float("inf")
    for _ in range(pr.GREEDY_STEPS):
        last = logprobs_of(model, ids, device)[-1]
        values, top_ids = torch.topk(last, pr.GREEDY_TOP_K)
        min_gap = min(min_gap, float(values[0] - values[1]))
        tops.append(pr.top_record(top_ids.tolist(), values.tolist()))
        ids.append(int(top_ids[0]))
    return ids[len(prompt):], tops, min_gap


def fp64_diff(model64, full_ids: list[int], prompt_len: int, prompt_tops: list[dict], greedy_tops: list[dict],
              device: torch.device) -> float:
    """Largest |float32 - float64 model| over every recorded logprob: how much of the 1e-3 budget float32 uses."""
    ref = logprobs_of(model64, full_ids, device)
    worst = 0.0
    for pos, top in enumerate(prompt_tops):
        worst = max(worst, max(abs(ref[pos, i].item() - v) for i, v in zip(top["ids"], top["logprobs"])))
    for step, top in enumerate(greedy_tops):
        row = ref[prompt_len - 1 + step]
        worst = max(worst, max(abs(row[i].item() - v) for i, v in zip(top["ids"], top["logprobs"])))
    return worst


def run_shape(shape: hs.Shape, device: torch.device, environment: dict) -> str:
    started = time.time()
    model, tensors = build_model(shape, device)
    model64 = copy.deepcopy(model).to(torch.float64)
    rope = rope_record(model, shape)
    prompts = []
    for slot in pr.prompt_slots():
        best = None
        for variant in range(pr.MAX_PROMPT_VARIANTS):
            prompt = pr.make_prompt(shape.seed, slot, variant)
            generated, greedy_tops, gap = greedy(model, prompt, device)
            if best is None or gap > best[3]:
                best = (variant, prompt, generated, gap, greedy_tops)
            if gap >= pr.MIN_GREEDY_TOP2_GAP:
                break
            log(f"  {shape.name}/{slot}: variant {variant} has a near tie (gap {gap:.2e}), trying another")
        variant, prompt, generated, gap, greedy_tops = best
        if gap < pr.MIN_GREEDY_TOP2_GAP:
            log(f"  WARNING {shape.name}/{slot}: best greedy top-2 gap is only {gap:.2e}")
        prompt_tops = top_records(logprobs_of(model, prompt, device), pr.PROMPT_TOP_K)
        diff = fp64_diff(model64, prompt + generated, len(prompt), prompt_tops, greedy_tops, device)
        prompts.append(pr.prompt_record(slot, variant, prompt, prompt_tops, generated, greedy_tops, gap, diff))
        log(f"  {shape.name}/{slot}: {len(prompt)} prompt tokens, variant {variant}, min gap {gap:.3f}, "
            f"fp64 diff {diff:.1e}, greedy {generated}")
    text = pr.dump_golden(pr.golden_document(shape, environment, rope, tensors, prompts))
    log(f"{shape.name}: {len(text)} bytes in {time.time() - started:.1f} s")
    return text


def main() -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(root, "tests", "goldens", "parity"))
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--only", action="append", help="shape name (repeatable); default: all parity shapes")
    args = ap.parse_args()
    device = torch.device("cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else "cpu")
    configure_torch()
    environment = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({platform.machine()})",
        "compute": "float32 weights and activations, eager attention, TF32 off; log_softmax in float64",
    }
    log(f"environment: {environment}")
    shapes = [s for s in hs.PARITY_SHAPES if not args.only or s.name in args.only]
    if not shapes:
        ap.error(f"no shape named {args.only}; known: {[s.name for s in hs.PARITY_SHAPES]}")
    os.makedirs(args.out, exist_ok=True)
    for shape in shapes:
        text = run_shape(shape, device, environment)
        path = os.path.join(args.out, f"{shape.name}.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
