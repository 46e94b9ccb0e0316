"""Torch-free parts of make_parity_goldens.py: prompts, top-k records, the golden file's layout.

Kept separate so they can be tested on a machine without torch (tools/test_tools.py).
"""
from __future__ import annotations

import json
import math

import hearth_synthetic as hs

FORMAT_VERSION = 1
PROMPT_TOP_K = 10
GREEDY_TOP_K = 5
GREEDY_STEPS = 16
# Greedy continuations are only a fair exact-match test when no step is a near tie: float32 engines
# differ by ~1e-5 in logits, so a prompt whose greedy path has a top-2 gap below this is replaced.
MIN_GREEDY_TOP2_GAP = 5e-3
MAX_PROMPT_VARIANTS = 16
MAX_GOLDEN_BYTES = 200_000

IM_START, IM_END, NEWLINE, USER, ASSISTANT = 151644, 151645, 198, 872, 77091
LONG_PROMPT_TOKENS = 80  # longer than the YaRN model's original 64 positions, so the scaling matters


def prompt_slots() -> list[str]:
    return ["short", "chat", "long"]


def make_prompt(seed: int, slot: str, variant: int) -> list[int]:
    label = f"prompt/{slot}/{variant}"
    if slot == "short":
        return hs.random_token_ids(seed, label, 7)
    if slot == "chat":
        body = hs.random_token_ids(seed, label, 12)
        return [IM_START, USER, NEWLINE] + body + [IM_END, NEWLINE, IM_START, ASSISTANT, NEWLINE]
    if slot == "long":
        return hs.random_token_ids(seed, label, LONG_PROMPT_TOKENS)
    raise ValueError(f"unknown prompt slot {slot!r}")


def round_logprob(x: float) -> float:
    # 1e-7 resolution is far below the 1e-3 tolerance and keeps the files small.
    if not math.isfinite(x):
        raise ValueError(f"non-finite logprob {x}")
    return round(float(x), 7)


def top_record(ids: list[int], logprobs: list[float]) -> dict:
    return {"ids": [int(i) for i in ids], "logprobs": [round_logprob(v) for v in logprobs]}


def prompt_record(slot: str, variant: int, prompt_ids: list[int], prompt_tops: list[dict], greedy_ids: list[int],
                  greedy_tops: list[dict], min_gap: float, fp64_max_abs_diff: float) -> dict:
    if len(prompt_tops) != len(prompt_ids):
        raise ValueError("one top-k record per prompt position expected")
    if len(greedy_ids) != GREEDY_STEPS or len(greedy_tops) != GREEDY_STEPS:
        raise ValueError(f"{GREEDY_STEPS} greedy steps expected")
    for step, (token, top) in enumerate(zip(greedy_ids, greedy_tops)):
        if top["ids"][0] != token:
            raise ValueError(f"greedy step {step}: token {token} is not the top-1 id {top['ids'][0]}")
    return {
        "slot": slot,
        "variant": variant,
        "prompt_ids": [int(i) for i in prompt_ids],
        "prompt_top": prompt_tops,
        "greedy_ids": [int(i) for i in greedy_ids],
        "greedy_top": greedy_tops,
        "greedy_min_top2_logit_gap": round(float(min_gap), 7),
        "fp64_max_abs_logprob_diff": float(f"{fp64_max_abs_diff:.3e}"),
    }


def shape_record(shape: hs.Shape) -> dict:
    return {
        "name": shape.name,
        "seed": f"0x{shape.seed:016x}",
        "hidden_size": shape.hidden_size,
        "num_hidden_layers": shape.num_layers,
        "num_attention_heads": shape.num_heads,
        "num_key_value_heads": shape.num_kv_heads,
        "head_dim": shape.head_dim,
        "intermediate_size": shape.intermediate_size,
        "vocab_size": shape.vocab_size,
        "tie_word_embeddings": shape.tied,
        "rope_theta": shape.rope_theta,
        "rope_type": "yarn" if shape.yarn_factor is not None else "default",
        "yarn_factor": shape.yarn_factor,
        "yarn_original_max_position_embeddings": shape.yarn_original_max_position_embeddings,
        "max_position_embeddings": shape.max_position_embeddings,
        "rms_norm_eps": shape.rms_norm_eps,
        "config_style": shape.config_style,
    }


def golden_document(shape: hs.Shape, environment: dict, rope: dict, tensors: list[dict], prompts: list[dict]) -> dict:
    return {
        "format": FORMAT_VERSION,
        "spec": "docs/random-models.md",
        "generator": "tools/make_parity_goldens.py",
        "shape": shape_record(shape),
        "config_json": shape.config_json(),
        "environment": environment,
        "rope": rope,
        "tensors": tensors,
        "prompts": prompts,
    }


def dump_golden(doc: dict) -> str:
    """One line per prompt position / greedy step: diffable, and small enough to commit."""
    def compact(v) -> str:
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))

    def prompt_text(p: dict) -> str:
        lines = []
        for key, value in p.items():
            if key in ("prompt_top", "greedy_top"):
                lines.append(f'    "{key}": [\n' + ",\n".join("     " + compact(v) for v in value) + "\n    ]")
            else:
                lines.append(f'    "{key}": {compact(value)}')
        return "   {\n" + ",\n".join(lines) + "\n   }"

    parts = []
    for key, value in doc.items():
        if key == "prompts":
            parts.append(' "prompts": [\n' + ",\n".join(prompt_text(p) for p in value) + "\n ]")
        elif key == "tensors":
            parts.append(' "tensors": [\n' + ",\n".join("  " + compact(t) for t in value) + "\n ]")
        else:
            parts.append(f" {compact(key)}: {compact(value)}")
    text = "{\n" + ",\n".join(parts) + "\n}\n"
    if json.loads(text) != doc:
        raise AssertionError("golden dump does not round-trip")
    if len(text.encode("utf-8")) > MAX_GOLDEN_BYTES:
        raise ValueError(f"golden for {doc['shape']['name']} is {len(text)} bytes, over {MAX_GOLDEN_BYTES}")
    return text
