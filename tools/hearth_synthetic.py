"""Deterministic random-weight Qwen3 models, as specified in docs/random-models.md.

Pure Python (no numpy/torch needed) so it can be tested anywhere; `fill_bf16_numpy` is the vectorized
twin used by make_parity_goldens.py on the GPU machine. The C# twin is src/Hearth.Models/Synthetic/.
Any change here must be mirrored there and in the doc, and the goldens regenerated.
"""
from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field

MASK64 = (1 << 64) - 1
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
GOLDEN_GAMMA = 0x9E3779B97F4A7C15
MIX_M1 = 0xBF58476D1CE4E5B9
MIX_M2 = 0x94D049BB133111EB
VOCAB_SIZE = 151936
NORM_SCALE = 0.25


def fnv1a64(data: bytes) -> int:
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & MASK64
    return h


def mix64(z: int) -> int:
    """The splitmix64 output function (finalizer), on a 64-bit unsigned integer."""
    z &= MASK64
    z = ((z ^ (z >> 30)) * MIX_M1) & MASK64
    z = ((z ^ (z >> 27)) * MIX_M2) & MASK64
    return z ^ (z >> 31)


def tensor_key(model_seed: int, tensor_name: str) -> int:
    return mix64((model_seed & MASK64) ^ fnv1a64(tensor_name.encode("utf-8")))


def f32(x: float) -> float:
    """Round a Python float (binary64) to the nearest binary32 value."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def f32_bits(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def bf16_from_f32(x: float) -> int:
    """Round-to-nearest-even to bfloat16, as torch's .to(torch.bfloat16); inputs here are never NaN."""
    bits = f32_bits(x)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) & 0xFFFF


def bf16_to_f32(bits: int) -> float:
    return struct.unpack("<f", struct.pack("<I", (bits & 0xFFFF) << 16))[0]


def center_for(tensor_name: str) -> float:
    """RMSNorm weights are centred on 1 (a real model's norm weights are), everything else on 0."""
    return 1.0 if tensor_name.endswith("norm.weight") else 0.0


def value_f32(model_seed: int, tensor_name: str, scale: float, index: int) -> float:
    """Element `index` (row-major) of the tensor, as the float32 before bf16 rounding."""
    key = tensor_key(model_seed, tensor_name)
    x = mix64(key + ((index + 1) * GOLDEN_GAMMA))
    m = x >> 40  # 24 random bits
    t = f32((m - (1 << 23)) * (2.0 ** -23))  # exact: uniform on [-1, 1)
    product = f32(t * f32(scale))
    return f32(center_for(tensor_name) + product)


def fill_bf16(model_seed: int, tensor_name: str, scale: float, count: int, start_index: int = 0) -> list[int]:
    return [bf16_from_f32(value_f32(model_seed, tensor_name, scale, start_index + i)) for i in range(count)]


def fill_bf16_numpy(model_seed: int, tensor_name: str, scale: float, count: int, start_index: int = 0):
    """Vectorized twin of fill_bf16; returns a numpy uint16 array. Needs numpy."""
    import numpy as np

    u64 = np.uint64
    key = u64(tensor_key(model_seed, tensor_name))
    scale32 = np.float32(f32(scale))
    center32 = np.float32(center_for(tensor_name))
    out = np.empty(count, dtype=np.uint16)
    chunk = 1 << 22
    with np.errstate(over="ignore"):
        for lo in range(0, count, chunk):
            hi = min(count, lo + chunk)
            z = np.arange(start_index + lo + 1, start_index + hi + 1, dtype=np.uint64)
            z *= u64(GOLDEN_GAMMA)
            z += key
            z ^= z >> u64(30)
            z *= u64(MIX_M1)
            z ^= z >> u64(27)
            z *= u64(MIX_M2)
            z ^= z >> u64(31)
            m = (z >> u64(40)).astype(np.int64) - (1 << 23)
            t = m.astype(np.float32) * np.float32(2.0 ** -23)
            v = (t * scale32) + center32
            bits = v.view(np.uint32)
            rounded = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)
            out[lo:hi] = rounded.astype(np.uint16)
    return out


def python_float_repr(x: float) -> str:
    return repr(float(x))


@dataclass(frozen=True)
class Shape:
    """One synthetic Qwen3 checkpoint; mirrors Hearth.Models.Synthetic.SyntheticModelShape."""

    name: str
    seed: int
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    tied: bool
    rope_theta: float
    max_position_embeddings: int
    config_style: str = "4.x"  # "4.x": rope_theta + rope_scaling; "5.x": rope_parameters
    yarn_factor: float | None = None
    yarn_original_max_position_embeddings: int | None = None
    vocab_size: int = VOCAB_SIZE
    rms_norm_eps: float = 1e-6

    def tensors(self) -> list[tuple[str, list[int], float]]:
        """Every checkpoint tensor as (HF name, shape [rows, cols] or [n], uniform half-width)."""
        h, q_dim, kv_dim, inter = self.hidden_size, self.num_heads * self.head_dim, self.num_kv_heads * self.head_dim, self.intermediate_size
        out: list[tuple[str, list[int], float]] = [("model.embed_tokens.weight", [self.vocab_size, h], embedding_scale(h))]
        for i in range(self.num_layers):
            p = f"model.layers.{i}."
            out += [
                (p + "input_layernorm.weight", [h], NORM_SCALE),
                (p + "self_attn.q_proj.weight", [q_dim, h], linear_scale(h)),
                (p + "self_attn.k_proj.weight", [kv_dim, h], linear_scale(h)),
                (p + "self_attn.v_proj.weight", [kv_dim, h], linear_scale(h)),
                (p + "self_attn.o_proj.weight", [h, q_dim], linear_scale(q_dim)),
                (p + "self_attn.q_norm.weight", [self.head_dim], NORM_SCALE),
                (p + "self_attn.k_norm.weight", [self.head_dim], NORM_SCALE),
                (p + "post_attention_layernorm.weight", [h], NORM_SCALE),
                (p + "mlp.gate_proj.weight", [inter, h], linear_scale(h)),
                (p + "mlp.up_proj.weight", [inter, h], linear_scale(h)),
                (p + "mlp.down_proj.weight", [h, inter], linear_scale(inter)),
            ]
        out.append(("model.norm.weight", [h], NORM_SCALE))
        if not self.tied:
            out.append(("lm_head.weight", [self.vocab_size, h], embedding_scale(h)))
        return [(n, s, f32(sc)) for n, s, sc in out]

    def config(self) -> dict:
        """config.json as a dict, keys in the order they are written."""
        c: dict = {
            "architectures": ["Qwen3ForCausalLM"],
            "attention_bias": False,
            "attention_dropout": 0.0,
            "bos_token_id": 151643,
            "eos_token_id": 151645,
            "head_dim": self.head_dim,
            "hidden_act": "silu",
            "hidden_size": self.hidden_size,
            "initializer_range": 0.02,
            "intermediate_size": self.intermediate_size,
            "max_position_embeddings": self.max_position_embeddings,
            "max_window_layers": self.num_layers,
            "model_type": "qwen3",
            "num_attention_heads": self.num_heads,
            "num_hidden_layers": self.num_layers,
            "num_key_value_heads": self.num_kv_heads,
            "rms_norm_eps": self.rms_norm_eps,
        }
        if self.config_style == "4.x":
            c["rope_scaling"] = self._rope_scaling_4x()
            c["rope_theta"] = self.rope_theta
        else:
            rp: dict = {"rope_theta": self.rope_theta}
            if self.yarn_factor is None:
                rp["rope_type"] = "default"
            else:
                rp["factor"] = self.yarn_factor
                rp["original_max_position_embeddings"] = self.yarn_original_max_position_embeddings
                rp["rope_type"] = "yarn"
            c["rope_parameters"] = rp
        c["sliding_window"] = None
        c["tie_word_embeddings"] = self.tied
        if self.config_style == "4.x":
            c["torch_dtype"] = "bfloat16"
            c["transformers_version"] = "4.51.0"
        else:
            c["dtype"] = "bfloat16"
            c["transformers_version"] = "5.17.0"
        c["use_cache"] = True
        c["use_sliding_window"] = False
        c["vocab_size"] = self.vocab_size
        return c

    def _rope_scaling_4x(self):
        if self.yarn_factor is None:
            return None
        return {"factor": self.yarn_factor, "original_max_position_embeddings": self.yarn_original_max_position_embeddings, "rope_type": "yarn"}

    def config_json(self) -> str:
        return json.dumps(self.config(), indent=2) + "\n"


def embedding_scale(hidden_size: int) -> float:
    # Half-width 4/sqrt(H): a normalized hidden state dotted with a row gives logits of std ~ 4/sqrt(3) ~ 2.3.
    return 4.0 / math.sqrt(hidden_size)


def linear_scale(fan_in: int) -> float:
    # Half-width sqrt(3/fan_in): unit-variance outputs for unit-variance inputs.
    return math.sqrt(3.0 / fan_in)


PARITY_SHAPES = [
    Shape("a-gqa1-tied", seed=0xA001, hidden_size=64, num_layers=2, num_heads=4, num_kv_heads=4, head_dim=16,
          intermediate_size=128, tied=True, rope_theta=10000.0, max_position_embeddings=256),
    Shape("b-gqa4-untied", seed=0xB002, hidden_size=96, num_layers=3, num_heads=8, num_kv_heads=2, head_dim=32,
          intermediate_size=256, tied=False, rope_theta=1000000.0, max_position_embeddings=256),
    Shape("c-gqa8-tied", seed=0xC003, hidden_size=128, num_layers=4, num_heads=8, num_kv_heads=1, head_dim=64,
          intermediate_size=384, tied=True, rope_theta=1000000.0, max_position_embeddings=512, config_style="5.x"),
    Shape("d-gqa4-yarn", seed=0xD004, hidden_size=96, num_layers=3, num_heads=8, num_kv_heads=2, head_dim=32,
          intermediate_size=256, tied=False, rope_theta=1000000.0, max_position_embeddings=256, config_style="5.x",
          yarn_factor=4.0, yarn_original_max_position_embeddings=64),
]

QWEN3_0_6B = Shape("qwen3-0.6b", seed=0x0600, hidden_size=1024, num_layers=28, num_heads=16, num_kv_heads=8,
                   head_dim=128, intermediate_size=3072, tied=True, rope_theta=1000000.0, max_position_embeddings=40960)

ALL_SHAPES = PARITY_SHAPES + [QWEN3_0_6B]


REGULAR_VOCAB_SIZE = 151643  # ids >= this are special tokens (<|endoftext|> = 151643, ...)


def random_token_ids(seed: int, label: str, count: int) -> list[int]:
    """Prompt token ids drawn from the regular (non-special) vocabulary with the same counter PRNG."""
    key = tensor_key(seed, label)
    return [mix64(key + (i + 1) * GOLDEN_GAMMA) % REGULAR_VOCAB_SIZE for i in range(count)]
