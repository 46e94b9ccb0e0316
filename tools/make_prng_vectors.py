#!/usr/bin/env python3
"""Writes tests/goldens/prng-vectors.json: reference values of the synthetic-weight PRNG and of every
synthetic model's tensor list and config.json, from the pure-Python implementation in hearth_synthetic.py.
Needs only python3 (no numpy/torch); runs in a second. The C# tests compare against this file.

    python3 tools/make_prng_vectors.py [output path]
"""
from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hearth_synthetic as hs  # noqa: E402

HASH_INPUTS = ["", "a", "model.embed_tokens.weight", "lm_head.weight", "model.layers.27.mlp.down_proj.weight", "héllo wörld"]
MIX_INPUTS = [0, 1, 0x9E3779B97F4A7C15, 0xFFFFFFFFFFFFFFFF, 1234567 + 0x9E3779B97F4A7C15]
# (seed, name, scale, start index): small and huge start indices, negative-leaning and norm (centre 1) tensors.
FILL_CASES = [
    (0, "x", 1.0, 0),
    (1, "model.norm.weight", 0.25, 0),
    (0xFFFFFFFFFFFFFFFF, "model.layers.0.self_attn.q_proj.weight", 0.21650635, 1_000_003),
    (42, "model.embed_tokens.weight", 0.125, 155_582_463),
    (7, "lm_head.weight", 3.0, (1 << 33) + 7),
    (0xA001, "model.layers.1.self_attn.k_norm.weight", 0.25, 5),
]
# Values whose Python repr the C# config writer must reproduce (rms_norm_eps, rope_theta, factor, ...).
FLOAT_REPR_VALUES = [1e-06, 1e-05, 1.5e-05, 0.0001, 0.02, 0.5, 4.0, 2.5, 10000.0, 1000000.0, 5000000.0, 123.456, 1e16, 2.5e17]
FILL_COUNT = 37  # odd, so SIMD main loops and their tails are both exercised


def fill_case(seed: int, name: str, scale: float, start: int) -> dict:
    values = [hs.value_f32(seed, name, scale, start + i) for i in range(FILL_COUNT)]
    return {
        "seed": f"0x{seed:016x}",
        "name": name,
        "scale": hs.f32(scale),
        "scale_f32_bits": f"0x{hs.f32_bits(hs.f32(scale)):08x}",
        "start_index": start,
        "key": f"0x{hs.tensor_key(seed, name):016x}",
        "f32_bits": [f"0x{hs.f32_bits(v):08x}" for v in values],
        "bf16": [hs.bf16_from_f32(v) for v in values],
    }


def shape_entry(shape: hs.Shape) -> dict:
    tensors = []
    for name, dims, scale in shape.tensors():
        n = 1
        for d in dims:
            n *= d
        probes = sorted({n // 2 + 1, n - 1})
        tensors.append({
            "name": name,
            "shape": dims,
            "scale": scale,
            "scale_f32_bits": f"0x{hs.f32_bits(scale):08x}",
            "center": hs.center_for(name),
            "first8_bf16": hs.fill_bf16(shape.seed, name, scale, 8),
            "probes": [{"index": i, "bf16": hs.fill_bf16(shape.seed, name, scale, 1, i)[0]} for i in probes],
        })
    return {"name": shape.name, "seed": f"0x{shape.seed:016x}", "config_json": shape.config_json(), "tensors": tensors}


def dump_one_item_per_line(doc: dict) -> str:
    """Readable diffs without a 200 KB file: one line per list item (tensor, case), compact within it."""
    def compact(v) -> str:
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))

    def shape_text(shape: dict) -> str:
        head = {k: v for k, v in shape.items() if k != "tensors"}
        body = ",\n".join("    " + compact(t) for t in shape["tensors"])
        return "  " + compact(head)[:-1] + ',"tensors":[\n' + body + "\n  ]}"

    parts = []
    for key, value in doc.items():
        if key == "shapes":
            parts.append(' "shapes": [\n' + ",\n".join(shape_text(s) for s in value) + "\n ]")
        elif isinstance(value, list):
            parts.append(f" {compact(key)}: [\n" + ",\n".join("  " + compact(v) for v in value) + "\n ]")
        else:
            parts.append(f" {compact(key)}: {compact(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def main() -> None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "goldens", "prng-vectors.json")
    doc = {
        "spec": "docs/random-models.md",
        "generator": "tools/make_prng_vectors.py (pure Python)",
        "fnv1a64": [{"utf8": s, "hash": f"0x{hs.fnv1a64(s.encode('utf-8')):016x}"} for s in HASH_INPUTS],
        "mix64": [{"input": f"0x{z:016x}", "output": f"0x{hs.mix64(z):016x}"} for z in MIX_INPUTS],
        "fills": [fill_case(*c) for c in FILL_CASES],
        "float_repr": [{"value": v, "repr": repr(v)} for v in FLOAT_REPR_VALUES],
        "shapes": [shape_entry(s) for s in hs.ALL_SHAPES],
    }
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(dump_one_item_per_line(doc))
    print(f"wrote {out_path} ({os.path.getsize(out_path)} bytes)")


if __name__ == "__main__":
    main()
