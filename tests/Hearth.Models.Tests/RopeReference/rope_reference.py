"""Prints torch's float32 RoPE inverse frequencies (as transformers computes them) for the cases in
RopeFrequenciesTests, as float32 bit patterns. Run where torch is installed:
    python3 rope_reference.py > rope-reference.json
Uses transformers' own functions when it is importable, otherwise the same torch expressions."""
import json, math, sys
import torch

CASES = [
    {"name": "default-1e6-128", "type": "default", "theta": 1000000.0, "head_dim": 128},
    {"name": "default-1e4-64", "type": "default", "theta": 10000.0, "head_dim": 64},
    {"name": "linear-1e4-64-x2.5", "type": "linear", "theta": 10000.0, "head_dim": 64, "factor": 2.5},
    {"name": "yarn-1e6-128-x4", "type": "yarn", "theta": 1000000.0, "head_dim": 128, "factor": 4.0, "original": 32768},
    {"name": "yarn-1e4-64-x3-notrunc", "type": "yarn", "theta": 10000.0, "head_dim": 64, "factor": 3.0, "original": 4096,
     "truncate": False, "beta_fast": 16.0, "beta_slow": 2.0, "mscale": 0.707, "mscale_all_dim": 1.0},
    {"name": "llama3-5e5-128-x8", "type": "llama3", "theta": 500000.0, "head_dim": 128, "factor": 8.0, "original": 8192,
     "low_freq_factor": 1.0, "high_freq_factor": 4.0},
]


def arange_exponent(dim):
    return torch.arange(0, dim, 2, dtype=torch.int64).to(dtype=torch.float) / dim


def compute(case):
    base, dim = case["theta"], case["head_dim"]
    t = case["type"]
    if t in ("default", "linear"):
        inv = 1.0 / (base ** arange_exponent(dim))
        if t == "linear":
            inv /= case["factor"]
        return inv, 1.0
    if t == "yarn":
        factor = case["factor"]
        orig = case["original"]

        def get_mscale(scale, m=1):
            return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

        ms, msa = case.get("mscale"), case.get("mscale_all_dim")
        att = float(get_mscale(factor, ms) / get_mscale(factor, msa)) if ms and msa else get_mscale(factor)
        bf, bs = case.get("beta_fast") or 32, case.get("beta_slow") or 1

        def corr_dim(r):
            return (dim * math.log(orig / (r * 2 * math.pi))) / (2 * math.log(base))

        low, high = corr_dim(bf), corr_dim(bs)
        if case.get("truncate", True):
            low, high = math.floor(low), math.ceil(high)
        low, high = max(low, 0), min(high, dim - 1)
        if low == high:
            high += 0.001
        ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
        pos = base ** (torch.arange(0, dim, 2).to(dtype=torch.float) / dim)
        extra, inter = 1.0 / pos, 1.0 / (factor * pos)
        ef = 1 - ramp
        return inter * (1 - ef) + extra * ef, att
    if t == "llama3":
        inv = 1.0 / (base ** arange_exponent(dim))
        factor, lo, hi, old = case["factor"], case["low_freq_factor"], case["high_freq_factor"], case["original"]
        low_wl, high_wl = old / lo, old / hi
        wl = 2 * math.pi / inv
        il = torch.where(wl > low_wl, inv / factor, inv)
        smooth = (old / wl - lo) / (hi - lo)
        smoothed = (1 - smooth) * il / factor + smooth * il
        medium = ~(wl < high_wl) * ~(wl > low_wl)
        return torch.where(medium, smoothed, il), 1.0
    raise ValueError(t)


def bits(tensor):
    return [int(x) for x in tensor.contiguous().view(torch.int32).tolist()]


def via_transformers(case):
    """transformers' own function, or None when transformers is missing or the call does not fit its version."""
    try:
        import transformers
        from transformers import Qwen3Config
        from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
    except Exception:
        return None
    scaling = {"rope_type": case["type"]}
    for key, name in [("factor", "factor"), ("original", "original_max_position_embeddings"),
                      ("truncate", "truncate"), ("beta_fast", "beta_fast"), ("beta_slow", "beta_slow"),
                      ("mscale", "mscale"), ("mscale_all_dim", "mscale_all_dim"),
                      ("low_freq_factor", "low_freq_factor"), ("high_freq_factor", "high_freq_factor")]:
        if key in case:
            scaling[name] = case[key]
    max_pos = case.get("original", 4096) * int(case.get("factor", 1))
    try:
        if int(transformers.__version__.split(".")[0]) >= 5:
            config = Qwen3Config(head_dim=case["head_dim"], max_position_embeddings=max_pos,
                                 rope_parameters=dict(scaling, rope_theta=case["theta"]))
        else:
            config = Qwen3Config(head_dim=case["head_dim"], max_position_embeddings=max_pos, rope_theta=case["theta"],
                                 rope_scaling=None if case["type"] == "default" else scaling)
        fn = ROPE_INIT_FUNCTIONS.get(case["type"]) if case["type"] != "default" else None
        if fn is None:
            fn = getattr(__import__("transformers.modeling_rope_utils", fromlist=["x"]), "_compute_default_rope_parameters")
        return fn(config, "cpu")
    except Exception as e:  # noqa: BLE001
        print(f"transformers path failed for {case['name']}: {e}", file=sys.stderr)
        return None


out = {"torch": torch.__version__, "cases": []}
try:
    import transformers
    out["transformers"] = transformers.__version__
except Exception:
    out["transformers"] = None
for case in CASES:
    inv, att = compute(case)
    ref = via_transformers(case)
    if ref is not None:
        same = bits(ref[0].to(torch.float32)) == bits(inv.to(torch.float32)) and float(ref[1]) == float(att)
        print(f"{case['name']}: transformers agrees with the torch expressions: {same}", file=sys.stderr)
        inv, att = ref[0], float(ref[1])
    out["cases"].append({"name": case["name"], "inv_freq_bits": bits(inv.to(torch.float32)),
                         "attention_scaling": att})
json.dump(out, sys.stdout, indent=1)
