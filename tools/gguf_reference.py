#!/usr/bin/env python3
"""Independent GGUF reference: writes a GGUF v3 file of random quantized blocks and the NumPy dequantization
of each, written from the GGUF specification and the ggml block layouts (not from Hearth's code).

For every type T in Q8_0, Q4_0, Q4_K, Q5_K, Q6_K (and F16, BF16) the file holds tensor "<t>" of type T with
random blocks (random bytes, f16 scales drawn from a sane range) and tensor "<t>.expected" (F32) with its
dequantized values. Metadata holds one key per GGUF value type, nested arrays included; reference.json lists
their expected values. Alignment is 64 (general.alignment) to exercise non-default alignment.

Usage: python3 tools/gguf_reference.py OUT_DIR     (needs numpy)
"""
import json
import struct
import sys

import numpy as np

QK_K = 256
ALIGN = 64
RNG = np.random.default_rng(20261121)

TYPES = {"F32": 0, "F16": 1, "Q4_0": 2, "Q8_0": 8, "Q4_K": 12, "Q5_K": 13, "Q6_K": 14, "BF16": 30}
BLOCK = {"F16": (1, 2), "BF16": (1, 2), "Q8_0": (32, 34), "Q4_0": (32, 18), "Q4_K": (256, 144), "Q5_K": (256, 176), "Q6_K": (256, 210)}


def f16_bytes(values):
    return np.asarray(values, dtype=np.float16).tobytes()


def random_scale(n):
    return RNG.uniform(0.0005, 0.05, n).astype(np.float16)


def make_blocks(t, nblocks):
    """Random but valid block bytes: random bits everywhere except the f16 scales."""
    elems, size = BLOCK[t]
    raw = RNG.integers(0, 256, size=(nblocks, size), dtype=np.uint8)
    if t == "F16":
        raw = RNG.normal(0, 1, nblocks).astype(np.float16).view(np.uint8).reshape(nblocks, 2)
    elif t == "BF16":
        f = RNG.normal(0, 1, nblocks).astype(np.float32).view(np.uint32)
        raw = (f >> 16).astype(np.uint16).view(np.uint8).reshape(nblocks, 2)
    elif t in ("Q8_0", "Q4_0"):
        raw[:, 0:2] = random_scale(nblocks).view(np.uint8).reshape(nblocks, 2)
    elif t in ("Q4_K", "Q5_K"):
        raw[:, 0:2] = random_scale(nblocks).view(np.uint8).reshape(nblocks, 2)
        raw[:, 2:4] = random_scale(nblocks).view(np.uint8).reshape(nblocks, 2)
    elif t == "Q6_K":
        raw[:, 208:210] = random_scale(nblocks).view(np.uint8).reshape(nblocks, 2)
    return raw


def f16(b):
    return b.copy().view(np.float16).astype(np.float32).reshape(-1)


def scale_min_k4(scales):
    """scales: [n, 12] uint8 -> (sc [n, 8], m [n, 8]) 6-bit values, per the K-quant packing."""
    sc = np.zeros((scales.shape[0], 8), dtype=np.int32)
    m = np.zeros_like(sc)
    s = scales.astype(np.int32)
    for j in range(8):
        if j < 4:
            sc[:, j] = s[:, j] & 63
            m[:, j] = s[:, j + 4] & 63
        else:
            sc[:, j] = (s[:, j + 4] & 0xF) | ((s[:, j - 4] >> 6) << 4)
            m[:, j] = (s[:, j + 4] >> 4) | ((s[:, j] >> 6) << 4)
    return sc, m


def dequant(t, raw):
    n = raw.shape[0]
    if t == "F16":
        return raw.copy().view(np.float16).astype(np.float32).reshape(-1)
    if t == "BF16":
        return (raw.copy().view(np.uint16).astype(np.uint32) << 16).view(np.float32).reshape(-1)
    if t == "Q8_0":
        d = f16(raw[:, 0:2])
        return (d[:, None] * raw[:, 2:34].view(np.int8).astype(np.float32)).reshape(-1)
    if t == "Q4_0":
        d = f16(raw[:, 0:2])
        qs = raw[:, 2:18].astype(np.int32)
        q = np.concatenate([qs & 0xF, qs >> 4], axis=1) - 8
        return (d[:, None] * q).reshape(-1)
    if t in ("Q4_K", "Q5_K"):
        d, dmin = f16(raw[:, 0:2]), f16(raw[:, 2:4])
        sc, m = scale_min_k4(raw[:, 4:16])
        if t == "Q4_K":
            qs, qh = raw[:, 16:144].astype(np.int32), None
        else:
            qh, qs = raw[:, 16:48].astype(np.int32), raw[:, 48:176].astype(np.int32)
        y = np.zeros((n, QK_K), dtype=np.float32)
        for chunk in range(4):
            q = qs[:, 32 * chunk:32 * chunk + 32]
            for half, vals in ((0, q & 0xF), (1, q >> 4)):
                sub = 2 * chunk + half
                if qh is not None:
                    vals = vals + (((qh >> sub) & 1) << 4)
                y[:, 32 * sub:32 * sub + 32] = (d * sc[:, sub])[:, None] * vals - (dmin * m[:, sub])[:, None]
        return y.reshape(-1)
    if t == "Q6_K":
        ql, qh = raw[:, 0:128].astype(np.int32), raw[:, 128:192].astype(np.int32)
        sc = raw[:, 192:208].view(np.int8).astype(np.float32)
        d = f16(raw[:, 208:210])
        y = np.zeros((n, QK_K), dtype=np.float32)
        for h in range(2):
            l_ = ql[:, 64 * h:64 * h + 64]
            hh = qh[:, 32 * h:32 * h + 32]
            parts = [
                (l_[:, 0:32] & 0xF) | (((hh >> 0) & 3) << 4),
                (l_[:, 32:64] & 0xF) | (((hh >> 2) & 3) << 4),
                (l_[:, 0:32] >> 4) | (((hh >> 4) & 3) << 4),
                (l_[:, 32:64] >> 4) | (((hh >> 6) & 3) << 4),
            ]
            for g, q in enumerate(parts):
                for half16 in range(2):
                    e0 = 128 * h + 32 * g + 16 * half16
                    s = sc[:, e0 // 16]
                    y[:, e0:e0 + 16] = (d * s)[:, None] * (q[:, 16 * half16:16 * half16 + 16] - 32)
        return y.reshape(-1)
    raise ValueError(t)


def gguf_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


VALUE_PACK = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


def gguf_value(vtype, value):
    if vtype == 8:
        return gguf_string(value)
    if vtype == 9:
        etype, items = value
        out = struct.pack("<IQ", etype, len(items))
        for item in items:
            out += gguf_value(etype, item)
        return out
    return struct.pack(VALUE_PACK[vtype], value)


def main(out_dir):
    metadata = [
        ("general.architecture", 8, "reference"),
        ("general.alignment", 4, ALIGN),
        ("test.u8", 0, 200), ("test.i8", 1, -100), ("test.u16", 2, 60000), ("test.i16", 3, -30000),
        ("test.u32", 4, 4000000000), ("test.i32", 5, -2000000000), ("test.f32", 6, 1.5), ("test.bool", 7, True),
        ("test.string", 8, "héllo, 世界"), ("test.u64", 10, 18000000000000000000), ("test.i64", 11, -9000000000000000000),
        ("test.f64", 12, 2.25),
        ("test.strings", 9, (8, ["a", "", "ü b"])), ("test.i32s", 9, (5, [1, -2, 3])),
        ("test.nested", 9, (9, [(4, [1, 2]), (4, [3])])),
    ]
    tensors = []  # (name, type, dims ggml order, bytes)
    expected = {}
    shapes = {"F16": (2, 64), "BF16": (2, 64), "Q8_0": (3, 64), "Q4_0": (3, 64), "Q4_K": (2, 512), "Q5_K": (2, 512), "Q6_K": (2, 512)}
    for t, (rows, cols) in shapes.items():
        elems, _ = BLOCK[t]
        raw = make_blocks(t, rows * cols // elems)
        values = dequant(t, raw).reshape(rows, cols)
        key = t.lower()
        tensors.append((key, TYPES[t], [cols, rows], raw.tobytes()))
        tensors.append((key + ".expected", TYPES["F32"], [cols, rows], values.astype("<f4").tobytes()))
        expected[key] = [rows, cols]

    header = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata))
    for key, vtype, value in metadata:
        header += gguf_string(key) + struct.pack("<I", vtype) + gguf_value(vtype, value)
    offset = 0
    offsets = []
    for name, ttype, dims, data in tensors:
        offsets.append(offset)
        header += gguf_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        header += struct.pack("<IQ", ttype, offset)
        offset = (offset + len(data) + ALIGN - 1) // ALIGN * ALIGN
    pad = (-len(header)) % ALIGN
    body = bytearray()
    for (name, ttype, dims, data), off in zip(tensors, offsets):
        body += b"\0" * (off - len(body))
        body += data
    body += b"\0" * ((-len(body)) % ALIGN)
    with open(f"{out_dir}/reference.gguf", "wb") as f:
        f.write(header + b"\0" * pad + bytes(body))

    def plain(v):
        if isinstance(v, tuple):
            return [plain(x) for x in v[1]]
        return v
    with open(f"{out_dir}/reference.json", "w", encoding="utf-8") as f:
        json.dump({"alignment": ALIGN, "tensors": expected,
                   "metadata": {k: {"type": t, "value": plain(v) if t == 9 else v} for k, t, v in metadata}},
                  f, ensure_ascii=False, indent=1)
    print("wrote", len(tensors), "tensors")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
