#!/usr/bin/env python3
"""Tests of the torch-free tool code: python3 tools/test_tools.py (numpy checks run when numpy is present)."""
from __future__ import annotations

import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hearth_synthetic as hs  # noqa: E402
import parity_records as pr  # noqa: E402

VECTORS = os.path.join(os.path.dirname(HERE), "tests", "goldens", "prng-vectors.json")

try:
    import numpy  # noqa: F401
    HAVE_NUMPY = True
except ImportError:
    HAVE_NUMPY = False


def load_vectors() -> dict:
    with open(VECTORS, encoding="utf-8") as f:
        return json.load(f)


class PrngTests(unittest.TestCase):
    def test_known_public_values(self):
        self.assertEqual(hs.fnv1a64(b"a"), 0xAF63DC4C8601EC8C)  # FNV-1a 64 reference value
        self.assertEqual(hs.mix64(1234567 + hs.GOLDEN_GAMMA), 6457827717110365317)  # splitmix64(1234567) #1

    def test_committed_vectors_are_current(self):
        v = load_vectors()
        for case in v["fills"]:
            got = hs.fill_bf16(int(case["seed"], 16), case["name"], case["scale"], len(case["bf16"]), case["start_index"])
            self.assertEqual(got, case["bf16"], case["name"])
        for entry, shape in zip(v["shapes"], hs.ALL_SHAPES):
            self.assertEqual(entry["config_json"], shape.config_json())
            self.assertEqual([t["name"] for t in entry["tensors"]], [n for n, _, _ in shape.tensors()])

    def test_values_are_bf16_in_range_and_norms_centered_on_one(self):
        for name, center in (("model.norm.weight", 1.0), ("model.layers.0.mlp.up_proj.weight", 0.0)):
            vals = [hs.bf16_to_f32(b) for b in hs.fill_bf16(3, name, 0.25, 2000)]
            self.assertTrue(all(center - 0.25 <= x <= center + 0.25 for x in vals))
            mean = sum(vals) / len(vals)
            self.assertAlmostEqual(mean, center, delta=0.02)
            self.assertGreater(len(set(vals)), 20)

    def test_bf16_rounding_is_nearest_even(self):
        self.assertEqual(hs.bf16_from_f32(hs.bf16_to_f32(0x3F80) + 2 ** -8), 0x3F80)  # tie, even stays
        self.assertEqual(hs.bf16_from_f32(hs.bf16_to_f32(0x3F81) + 2 ** -8), 0x3F82)  # tie, odd rounds up
        self.assertEqual(hs.bf16_from_f32(1.0 + 2 ** -7 + 2 ** -20), 0x3F81)

    @unittest.skipUnless(HAVE_NUMPY, "numpy not installed")
    def test_numpy_twin_matches_pure_python(self):
        for case in load_vectors()["fills"]:
            got = hs.fill_bf16_numpy(int(case["seed"], 16), case["name"], case["scale"], len(case["bf16"]), case["start_index"])
            self.assertEqual(got.tolist(), case["bf16"], case["name"])
        shape = hs.PARITY_SHAPES[0]
        for name, dims, scale in shape.tensors()[:6]:
            n = 1
            for d in dims:
                n *= d
            start = max(0, n - 100)
            self.assertEqual(hs.fill_bf16_numpy(shape.seed, name, scale, n - start, start).tolist(),
                             hs.fill_bf16(shape.seed, name, scale, n - start, start))


class ShapeTests(unittest.TestCase):
    def test_parity_shapes_cover_the_issue(self):
        by_name = {s.name: s for s in hs.PARITY_SHAPES}
        self.assertEqual({s.num_heads // s.num_kv_heads for s in hs.PARITY_SHAPES}, {1, 4, 8})
        self.assertTrue(any(s.tied for s in hs.PARITY_SHAPES) and any(not s.tied for s in hs.PARITY_SHAPES))
        self.assertTrue(any(s.head_dim != s.hidden_size // s.num_heads for s in hs.PARITY_SHAPES))
        self.assertEqual(sorted({s.num_layers for s in hs.PARITY_SHAPES}), [2, 3, 4])
        self.assertTrue(all(s.vocab_size == 151936 and s.max_position_embeddings >= 256 for s in hs.PARITY_SHAPES))
        yarn = by_name["d-gqa4-yarn"]
        self.assertEqual((yarn.yarn_factor, yarn.yarn_original_max_position_embeddings), (4.0, 64))
        self.assertGreater(pr.LONG_PROMPT_TOKENS, yarn.yarn_original_max_position_embeddings)

    def test_config_styles(self):
        cfg4 = hs.PARITY_SHAPES[0].config()
        self.assertEqual(cfg4["rope_theta"], 10000.0)
        self.assertIsNone(cfg4["rope_scaling"])
        self.assertNotIn("rope_parameters", cfg4)
        cfg5 = json.loads(hs.PARITY_SHAPES[3].config_json())
        self.assertEqual(cfg5["rope_parameters"], {"rope_theta": 1000000.0, "factor": 4.0,
                                                   "original_max_position_embeddings": 64, "rope_type": "yarn"})
        self.assertNotIn("rope_theta", cfg5)

    def test_tied_models_have_no_lm_head(self):
        for s in hs.ALL_SHAPES:
            names = [n for n, _, _ in s.tensors()]
            self.assertEqual("lm_head.weight" in names, not s.tied)
            self.assertEqual(len(names), len(set(names)))
            self.assertEqual(len(names), 2 + 11 * s.num_layers + (0 if s.tied else 1))

    def test_qwen3_0_6b_parameter_count(self):
        total = sum(_numel(d) for _, d, _ in hs.QWEN3_0_6B.tensors())
        self.assertEqual(total, 596_049_920)  # Qwen3-0.6B's published count with tied embeddings


def _numel(dims):
    n = 1
    for d in dims:
        n *= d
    return n


class RecordTests(unittest.TestCase):
    def test_prompts(self):
        chat = pr.make_prompt(1, "chat", 0)
        self.assertEqual(chat[:3], [pr.IM_START, pr.USER, pr.NEWLINE])
        self.assertEqual(chat[-3:], [pr.IM_START, pr.ASSISTANT, pr.NEWLINE])
        self.assertIn(pr.IM_END, chat)
        self.assertNotEqual(pr.make_prompt(1, "short", 0), pr.make_prompt(1, "short", 1))
        self.assertEqual(pr.make_prompt(1, "long", 3), pr.make_prompt(1, "long", 3))
        for slot in pr.prompt_slots():
            p = pr.make_prompt(7, slot, 0)
            self.assertTrue(5 <= len(p) <= 96)
            self.assertTrue(all(0 <= t < 151936 for t in p))

    def test_greedy_record_checks_top1(self):
        tops = [pr.top_record([5, 6, 7, 8, 9], [-1.0, -2, -3, -4, -5])] * pr.GREEDY_STEPS
        pr.prompt_record("short", 0, [1], [pr.top_record([1], [-0.5])], [5] * pr.GREEDY_STEPS, tops, 1.0, 1e-6)
        with self.assertRaises(ValueError):
            pr.prompt_record("short", 0, [1], [pr.top_record([1], [-0.5])], [6] * pr.GREEDY_STEPS, tops, 1.0, 1e-6)

    def test_largest_golden_fits_the_size_budget(self):
        shape = hs.PARITY_SHAPES[2]
        prompts = []
        for slot in pr.prompt_slots():
            prompt = pr.make_prompt(shape.seed, slot, 0)
            ptop = [pr.top_record(list(range(151925, 151935)), [-12.3456789] * 10) for _ in prompt]
            gtop = [pr.top_record([151930 + i for i in range(5)], [-1.2345678] * 5) for _ in range(pr.GREEDY_STEPS)]
            prompts.append(pr.prompt_record(slot, 15, prompt, ptop, [151930] * pr.GREEDY_STEPS, gtop, 0.1234567, 1.5e-6))
        tensors = [{"name": n, "shape": d, "scale": s, "center": 0.0, "first8_bf16": [48000] * 8}
                   for n, d, s in shape.tensors()]
        rope = {"rope_type": "default", "attention_scaling": 1.0, "inv_freq": [0.123456789] * (shape.head_dim // 2)}
        env = {"torch": "2.11.0+cu130", "transformers": "5.17.0", "device": "NVIDIA H100 80GB HBM3"}
        text = pr.dump_golden(pr.golden_document(shape, env, rope, tensors, prompts))
        self.assertLess(len(text), pr.MAX_GOLDEN_BYTES)
        self.assertEqual(json.loads(text)["config_json"], shape.config_json())


if __name__ == "__main__":
    unittest.main(verbosity=1)
