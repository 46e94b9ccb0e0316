#!/usr/bin/env python3
"""Reference dequantization of AWQ, GPTQ and block-FP8 checkpoints, written from the format descriptions
(docs/quantization.md), and the goldens that check Hearth's readers and kernels against it.

    python3 tools/quant_reference.py --out tests/goldens/quant      (needs numpy only)

Each case is a folder with a minimal config.json (carrying quantization_config) and model.safetensors holding
one quantized module "layer.proj" in the published layout, plus three float32 tensors the C# test compares
with: expected.dequantized [out, in] (the weight this script reconstructs), expected.x [rows, in] and
expected.y = x @ dequantized^T (computed in float64).
"""
from __future__ import annotations

import argparse
import json
import os
import struct

import numpy as np

# AWQ (AutoAWQ GEMM): 8 output columns per int32; nibble slot s (bits 4s..4s+3) holds column 8w + AWQ_SLOT_COLUMN[s].
AWQ_SLOT_COLUMN = [0, 2, 4, 6, 1, 3, 5, 7]


def e4m3_to_float(b: np.ndarray) -> np.ndarray:
    """float8_e4m3fn: sign, 4 exponent bits (bias 7), 3 mantissa bits; e=0 is subnormal 2^-6 * m/8; 0x7F/0xFF NaN."""
    b = b.astype(np.int64)
    sign = np.where(b & 0x80, -1.0, 1.0)
    e = (b >> 3) & 15
    m = b & 7
    value = np.where(e == 0, 2.0 ** -6 * (m / 8.0), 2.0 ** (e - 7) * (1 + m / 8.0))
    value = np.where((b & 0x7F) == 0x7F, np.nan, value)
    return sign * value


def bf16_round(x: np.ndarray) -> np.ndarray:
    """float32 -> bf16 bits, round to nearest even."""
    bits = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def bf16_to_float(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def pack_awq(q: np.ndarray) -> np.ndarray:
    """q [rows, cols] 0..15 -> int32 [rows, cols/8], columns interleaved as AWQ stores them."""
    rows, cols = q.shape
    out = np.zeros((rows, cols // 8), dtype=np.uint32)
    for w in range(cols // 8):
        for s in range(8):
            out[:, w] |= q[:, 8 * w + AWQ_SLOT_COLUMN[s]].astype(np.uint32) << np.uint32(4 * s)
    return out.view(np.int32)


def unpack_awq(packed: np.ndarray) -> np.ndarray:
    u = packed.view(np.uint32)
    rows, words = u.shape
    q = np.zeros((rows, words * 8), dtype=np.int64)
    for w in range(words):
        for s in range(8):
            q[:, 8 * w + AWQ_SLOT_COLUMN[s]] = (u[:, w] >> np.uint32(4 * s)) & 15
    return q


def pack_sequential(q: np.ndarray, axis: int) -> np.ndarray:
    """GPTQ packing: 8 consecutive values along `axis` per int32, value k at bits 4k."""
    q = np.moveaxis(q.astype(np.uint32), axis, 0)
    n = q.shape[0] // 8
    out = np.zeros((n,) + q.shape[1:], dtype=np.uint32)
    for k in range(8):
        out |= (q[k::8] & 15) << np.uint32(4 * k)
    return np.moveaxis(out, 0, axis).view(np.int32)


def unpack_sequential(packed: np.ndarray, axis: int) -> np.ndarray:
    u = np.moveaxis(packed.view(np.uint32), axis, 0)
    out = np.zeros((u.shape[0] * 8,) + u.shape[1:], dtype=np.int64)
    for k in range(8):
        out[k::8] = (u >> np.uint32(4 * k)) & 15
    return np.moveaxis(out, 0, axis)


def dequantize_awq(qweight, qzeros, scales, group_size):
    """qweight [in, out/8], qzeros [groups, out/8], scales f16 [groups, out] -> W [out, in] = (q - z) * s."""
    q = unpack_awq(qweight)  # [in, out]
    z = unpack_awq(qzeros)  # [groups, out]
    g = np.arange(q.shape[0]) // group_size
    return ((q - z[g]) * scales.astype(np.float64)[g]).T


def dequantize_gptq(qweight, qzeros, scales, g_idx, zeros_minus_one):
    """qweight [in/8, out], qzeros [groups, out/8], scales [groups, out], g_idx [in]; "gptq" stores zero - 1."""
    q = unpack_sequential(qweight, 0)  # [in, out]
    z = unpack_sequential(qzeros, 1) + (1 if zeros_minus_one else 0)  # [groups, out]
    return ((q - z[g_idx]) * scales.astype(np.float64)[g_idx]).T


def dequantize_fp8(weight_bytes, scale_inv, block_rows, block_cols):
    """weight e4m3 [out, in], scale_inv [ceil(out/br), ceil(in/bc)] -> W = fp8 * scale of its block."""
    w = e4m3_to_float(weight_bytes)
    rows = np.arange(w.shape[0]) // block_rows
    cols = np.arange(w.shape[1]) // block_cols
    return w * scale_inv[rows][:, cols]


def write_safetensors(path, tensors):
    """tensors: list of (name, dtype name, numpy array) written in order, header padded to 8 bytes."""
    header, offset, blobs = {}, 0, []
    for name, dtype, array in tensors:
        data = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def write_case(root, name, quantization_config, module_tensors, dequantized, rng):
    folder = os.path.join(root, name)
    os.makedirs(folder, exist_ok=True)
    out_features, in_features = dequantized.shape
    config = {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": in_features,
              "intermediate_size": out_features, "num_hidden_layers": 1, "num_attention_heads": 1,
              "num_key_value_heads": 1, "head_dim": 32, "vocab_size": 8, "max_position_embeddings": 64,
              "torch_dtype": "bfloat16", "quantization_config": quantization_config}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    x = rng.standard_normal((2, in_features)).astype(np.float32)
    y = x.astype(np.float64) @ dequantized.T
    tensors = [("layer.proj." + n, d, a) for n, d, a in module_tensors]
    tensors += [("expected.dequantized", "F32", dequantized.astype(np.float32)), ("expected.x", "F32", x),
                ("expected.y", "F32", y.astype(np.float32))]
    write_safetensors(os.path.join(folder, "model.safetensors"), tensors)
    print(f"{name}: W [{out_features}, {in_features}], |W| mean {np.abs(dequantized).mean():.4g}")


def awq_case(root, rng, out_features, in_features, group):
    groups = in_features // group
    q = rng.integers(0, 16, (in_features, out_features))
    z = rng.integers(0, 16, (groups, out_features))
    s = (rng.random((groups, out_features)) * 0.02 + 0.001).astype(np.float16)
    qweight, qzeros = pack_awq(q), pack_awq(z)
    w = dequantize_awq(qweight, qzeros, s, group)
    config = {"quant_method": "awq", "bits": 4, "group_size": group, "version": "gemm", "zero_point": True}
    write_case(root, f"awq-g{group}", config, [("qweight", "I32", qweight), ("qzeros", "I32", qzeros), ("scales", "F16", s)], w, rng)


def gptq_case(root, rng, name, out_features, in_features, group, sym, desc_act, fmt):
    groups = in_features // group
    q = rng.integers(0, 16, (in_features, out_features))
    if sym:
        stored_zeros = np.full((groups, out_features), 7 if fmt == "gptq" else 8)
    else:
        stored_zeros = rng.integers(0, 16, (groups, out_features))  # 15 in "gptq" reads back as zero 16
    s = (rng.random((groups, out_features)) * 0.02 + 0.001).astype(np.float16)
    if desc_act:
        order = rng.permutation(in_features)
        g_idx = np.empty(in_features, dtype=np.int32)
        g_idx[order] = np.arange(in_features) // group
    else:
        g_idx = (np.arange(in_features) // group).astype(np.int32)
    qweight, qzeros = pack_sequential(q, 0), pack_sequential(stored_zeros, 1)
    w = dequantize_gptq(qweight, qzeros, s, g_idx, fmt == "gptq")
    config = {"quant_method": "gptq", "bits": 4, "group_size": group, "desc_act": desc_act, "sym": sym, "checkpoint_format": fmt}
    tensors = [("qweight", "I32", qweight), ("qzeros", "I32", qzeros), ("scales", "F16", s), ("g_idx", "I32", g_idx)]
    write_case(root, name, config, tensors, w, rng)


def fp8_case(root, rng, name, out_features, in_features, scale_dtype):
    b = rng.integers(0, 256, (out_features, in_features)).astype(np.uint8)
    b[(b & 0x7F) == 0x7F] = 0x3F  # no NaN codes in weights
    shape = (-(-out_features // 128), -(-in_features // 128))
    scale = (rng.random(shape) * 0.01 + 0.0005).astype(np.float32)
    if scale_dtype == "BF16":
        stored = bf16_round(scale)
        scale64 = bf16_to_float(stored)
    else:
        stored, scale64 = scale, scale.astype(np.float64)
    w = dequantize_fp8(b, scale64, 128, 128)
    config = {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic", "weight_block_size": [128, 128]}
    write_case(root, name, config, [("weight", "F8_E4M3", b), ("weight_scale_inv", scale_dtype, stored)], w, rng)


def self_check():
    """Format facts the packers must honour, independent of the goldens."""
    assert e4m3_to_float(np.array([0x7E]))[0] == 448.0
    assert e4m3_to_float(np.array([0x38]))[0] == 1.0
    assert e4m3_to_float(np.array([0x01]))[0] == 2.0 ** -9
    assert e4m3_to_float(np.array([0xC0]))[0] == -2.0
    q = np.arange(16).reshape(2, 8)
    assert (unpack_awq(pack_awq(q)) == q).all()
    # column 1 of the first word sits in bits 16..19 (slot 4), column 2 in bits 4..7 (slot 1)
    word = int(pack_awq(np.array([[0, 1, 2, 0, 0, 0, 0, 0]]))[0, 0]) & 0xFFFFFFFF
    assert (word >> 16) & 15 == 1 and (word >> 4) & 15 == 2
    assert (unpack_sequential(pack_sequential(q.T, 0), 0) == q.T).all()
    assert int(pack_sequential(np.array([[1], [2], [0], [0], [0], [0], [0], [3]]), 0)[0, 0]) & 0xFFFFFFFF == 0x30000021


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "goldens", "quant"))
    args = parser.parse_args()
    self_check()
    rng = np.random.default_rng(20260701)
    awq_case(args.out, rng, 32, 256, 128)
    gptq_case(args.out, rng, "gptq-asym-descact-g64", 16, 256, 64, sym=False, desc_act=True, fmt="gptq")
    gptq_case(args.out, rng, "gptq-sym-g32-v2", 24, 128, 32, sym=True, desc_act=False, fmt="gptq_v2")
    gptq_case(args.out, rng, "gptq-sym-g128", 16, 256, 128, sym=True, desc_act=False, fmt="gptq")
    fp8_case(args.out, rng, "fp8-f32-scales", 136, 200, "F32")
    fp8_case(args.out, rng, "fp8-bf16-scales", 64, 160, "BF16")


if __name__ == "__main__":
    main()
