"""Random-weight Qwen3-14B-shaped model and the Hugging Face transformers baselines, on the GPU machine.

  python3 tools/gpu/hf_baseline.py make --dir /tmp/qwen3-14b-random
      writes config.json + bf16 safetensors (29.5 GB) with transformers' own initialization (seeded)
  python3 tools/gpu/hf_baseline.py measure --dir /tmp/qwen3-14b-random [--skip-compile]
      prints one JSON line per measurement: prefill of one 2048-token prompt, batch-1 decode at a
      512-token context, eager and torch.compile with a static cache, and eager decode at --batch (32)

Used by tools/gpu/bench_cuda.sh, which then runs `hearth bench --device cuda` on the same folder.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import torch

SHAPE = dict(hidden_size=5120, num_hidden_layers=40, num_attention_heads=40, num_key_value_heads=8, head_dim=128,
             intermediate_size=17408, vocab_size=151936, max_position_embeddings=40960, rope_theta=1000000.0,
             rms_norm_eps=1e-6, tie_word_embeddings=False, attention_bias=False)


def emit(**record):
    print(json.dumps(record), flush=True)


def make(directory: str) -> None:
    from transformers import Qwen3Config, Qwen3ForCausalLM
    if os.path.exists(os.path.join(directory, "config.json")):
        emit(what="make", directory=directory, reused=True)
        return
    start = time.time()
    torch.manual_seed(14)
    config = Qwen3Config(**SHAPE, dtype="bfloat16", eos_token_id=151645, bos_token_id=151643)
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = Qwen3ForCausalLM(config)
    model.save_pretrained(directory, max_shard_size="4GB", safe_serialization=True)
    parameters = sum(p.numel() for p in model.parameters())
    emit(what="make", directory=directory, parameters=parameters, seconds=round(time.time() - start, 1))


def timed(fn, repeats: int) -> float:
    """Median wall seconds of fn() after one warm-up, with the GPU synchronized around each run."""
    fn()
    torch.cuda.synchronize()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def measure(directory: str, context: int, decode: int, prefill: int, skip_compile: bool, batch: int) -> None:
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.bfloat16, device_map="cuda", attn_implementation="sdpa")
    model.eval()
    generator = torch.Generator(device="cpu").manual_seed(1)
    vocab = model.config.vocab_size

    def ids(n: int) -> torch.Tensor:
        return torch.randint(100, vocab - 2000, (1, n), generator=generator).cuda()

    with torch.no_grad():
        prompt = ids(prefill)
        seconds = timed(lambda: model(prompt, use_cache=False, logits_to_keep=1), 3)
        emit(what="prefill", impl="hf eager (sdpa)", tokens=prefill, tok_per_s=round(prefill / seconds, 1), ms=round(seconds * 1000, 1))

        prompt = ids(context)
        attention = torch.ones_like(prompt)

        def generate(n: int, **kwargs):
            return model.generate(prompt, attention_mask=attention, max_new_tokens=n, min_new_tokens=n, do_sample=False, **kwargs)

        first = timed(lambda: generate(1), 2)
        full = timed(lambda: generate(decode + 1), 1)
        emit(what="decode", impl="hf eager", batch=1, context=context, tok_per_s=round(decode / (full - first), 2),
             ms_per_token=round((full - first) / decode * 1000, 2))

        if batch > 1:
            # Eager decode of `batch` prompts at once: the aggregate tokens/s that batching buys HF.
            prompts = torch.cat([ids(context) for _ in range(batch)])
            masks = torch.ones_like(prompts)

            def generate_batch(n: int):
                return model.generate(prompts, attention_mask=masks, max_new_tokens=n, min_new_tokens=n, do_sample=False)

            first = timed(lambda: generate_batch(1), 1)
            full = timed(lambda: generate_batch(decode + 1), 1)
            emit(what="decode", impl="hf eager", batch=batch, context=context, tok_per_s=round(batch * decode / (full - first), 1),
                 ms_per_token=round((full - first) / decode * 1000, 2))

        if not skip_compile:
            try:
                # Wrapping model.forward in torch.compile(mode="reduce-overhead") failed inside generate() with
                # transformers 5.17 ("accessing tensor output of CUDAGraphs that has been overwritten"); generate()
                # compiles the decoding forward itself when the cache is static (not yet verified on the device).
                kwargs = dict(cache_implementation="static")
                start = time.time()
                generate(decode + 1, **kwargs)
                generate(decode + 1, **kwargs)
                compile_seconds = time.time() - start
                first = timed(lambda: generate(1, **kwargs), 2)
                full = timed(lambda: generate(decode + 1, **kwargs), 2)
                emit(what="decode", impl="hf static cache, compiled by generate()", batch=1, context=context,
                     tok_per_s=round(decode / (full - first), 2), ms_per_token=round((full - first) / decode * 1000, 2),
                     warmup_seconds=round(compile_seconds, 1))
            except Exception as e:  # a failed compile is reported, not fatal: the other rows still count
                emit(what="decode", impl="hf static cache, compiled by generate()", error=f"{type(e).__name__}: {str(e).splitlines()[0][:300]}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["make", "measure"])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--context", type=int, default=512)
    parser.add_argument("--decode", type=int, default=64)
    parser.add_argument("--prefill", type=int, default=2048)
    parser.add_argument("--skip-compile", action="store_true")
    parser.add_argument("--batch", type=int, default=32, help="also measure eager decode of this many prompts at once (1: skip)")
    args = parser.parse_args()
    if args.action == "make":
        make(args.dir)
    else:
        measure(args.dir, args.context, args.decode, args.prefill, args.skip_compile, args.batch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
