"""Writes rope-reference.json: the RoPE inverse frequencies (float32 bit patterns) and attention scaling that
transformers' Qwen3RotaryEmbedding computes at init on the CPU, for the cases RopeReferenceTests checks.
Run where torch and transformers 5.x are installed (the GPU machine):
    python3 rope_reference.py > rope-reference.json
"""
import json
import sys

import torch
from transformers import Qwen3Config
from transformers.models.qwen3.modeling_qwen3 import Qwen3RotaryEmbedding

CASES = [
    ("default-1e6-128", "default", 1e6, 128, {}),
    ("default-1e4-64", "default", 1e4, 64, {}),
    ("linear-1e4-64-x2.5", "linear", 1e4, 64, {"factor": 2.5}),
    ("yarn-1e6-128-x4", "yarn", 1e6, 128, {"factor": 4.0, "original_max_position_embeddings": 32768}),
    ("yarn-1e4-64-x3-notrunc", "yarn", 1e4, 64, {
        "factor": 3.0, "original_max_position_embeddings": 4096, "truncate": False,
        "beta_fast": 16.0, "beta_slow": 2.0, "mscale": 0.707, "mscale_all_dim": 1.0}),
    ("llama3-5e5-128-x8", "llama3", 5e5, 128, {
        "factor": 8.0, "original_max_position_embeddings": 8192, "low_freq_factor": 1.0, "high_freq_factor": 4.0}),
]

out = {"torch": torch.__version__, "cases": []}
for name, rope_type, theta, head_dim, extra in CASES:
    max_positions = extra.get("original_max_position_embeddings", 4096) * int(extra.get("factor", 1))
    config = Qwen3Config(head_dim=head_dim, max_position_embeddings=max_positions,
                         rope_parameters=dict(extra, rope_type=rope_type, rope_theta=theta))
    rotary = Qwen3RotaryEmbedding(config=config, device="cpu")
    bits = rotary.inv_freq.float().contiguous().view(torch.int32).tolist()
    out["cases"].append({"name": name, "inv_freq_bits": bits, "attention_scaling": float(rotary.attention_scaling)})
json.dump(out, sys.stdout)
