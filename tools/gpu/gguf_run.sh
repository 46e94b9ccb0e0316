#!/usr/bin/env bash
# Issue 8, session 7 (branch gguf7): GGUF Q4_K_M decode at batch 1. Run ON THE GPU MACHINE:
#   bash <carry>/gguf_run.sh [quick] [make-bg] [parity] [bench] [ab]
# (carry = the folder holding this script, cuda-parity/, hearth/, parrot-qwen3/, quant_cuda_parity.sh,
# bench_quant_cuda.sh, hf_baseline.py). Stages, in the order given:
#   quick:   the parity runner's --gguf-only (GgufMixChecks, QuantSiluChecks, then GgufStepTiming), nothing else.
#   make-bg: writes the random Qwen3-14B-shaped model (hf_baseline.py make) in the background; bench and ab wait for it.
#   parity:  quant_cuda_parity.sh --gguf-timing (every op check incl. GgufMixChecks, the quantized parrots and the engine
#            cases, then GgufStepTiming: the Q4_K_M step op by op and whole, mixed q|k|v launch off/on).
#   bench:   FORMATS=gguf-q4_k_m SKIP_BF16=1 MEMORY_CHECK=0 bench_quant_cuda.sh (batch 1, prefill 2048, batch 32).
#   ab:      quantizes once more and runs hearth bench at batch 1 on session 6's path (HEARTH_CUDA_KQUANT_MIXED=0
#            HEARTH_CUDA_KQUANT_RING_TILES=0) then the defaults; skipped after AB_BEFORE_S (default 240) seconds.
# Logs in $OUT.
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
carry="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/gguf-out}"
mkdir -p "$out"
begin=$(date +%s)
nvidia-smi --query-gpu=name,memory.total,clocks.max.memory --format=csv,noheader | tee "$out/gpu.txt"
runner="$carry/cuda-parity/Hearth.Cuda.Parity"
hearth="$carry/hearth/hearth"
chmod +x "$runner" "$hearth" 2>/dev/null || true
model=/tmp/qwen3-14b-random
rc=0
make_pid=""
elapsed() { echo $(( $(date +%s) - begin )); }
wait_model() { if [ -n "$make_pid" ]; then wait "$make_pid"; make_pid=""; tail -2 "$out/make.log"; fi; }
for stage in "$@"; do
  case "$stage" in
    quick)
      "$runner" --gguf-only 2>&1 | tee "$out/gguf-quick.log"
      r=${PIPESTATUS[0]}; [ "$r" -ne 0 ] && rc=$r
      echo "== quick: exit $r after $(elapsed) s"
      ;;
    make-bg)
      python3 "$carry/hf_baseline.py" make --dir "$model" > "$out/make.log" 2>&1 &
      make_pid=$!
      ;;
    parity)
      OUT="$out" bash "$carry/quant_cuda_parity.sh" --gguf-timing > "$out/parity-console.log" 2>&1
      r=$?; [ "$r" -ne 0 ] && rc=$r
      grep -E "^FAIL|passed, .* failed|took|gguf mixed-family.*(rows=1 f32|rows=8 bf16)|^  " "$out/quant-parity.log" | grep -v "^PASS" | tail -60
      echo "== parity: exit $r after $(elapsed) s"
      ;;
    bench)
      wait_model
      FORMATS=gguf-q4_k_m SKIP_BF16=1 MEMORY_CHECK=0 OUT="$out" bash "$carry/bench_quant_cuda.sh"
      grep -iE "slower|warning" "$out/bench-quant.log" | head -5
      echo "== bench: after $(elapsed) s"
      ;;
    ab)
      if [ "$(elapsed)" -gt "${AB_BEFORE_S:-240}" ]; then echo "== ab: skipped (rc $rc, $(elapsed) s)"; continue; fi
      wait_model
      dir=/tmp/qwen3-14b-gguf-ab; rm -rf "$dir"; mkdir -p "$dir"
      timeout 120 "$hearth" quantize --model "$model" --to gguf-q4_k_m --out "$dir/model.gguf" > "$out/quantize-ab.log" 2>&1
      for mixed in 0 1; do
        ring=$([ "$mixed" = 1 ] && echo -1 || echo 0)
        echo "== ab: HEARTH_CUDA_KQUANT_MIXED=$mixed HEARTH_CUDA_KQUANT_RING_TILES=$ring"
        HEARTH_CUDA_KQUANT_MIXED=$mixed HEARTH_CUDA_KQUANT_RING_TILES=$ring timeout 90 "$hearth" bench --model "$dir/model.gguf" --device cuda --prompt-tokens 512 --decode-tokens 128 2>&1 \
          | tee "$out/ab-mixed$mixed.log" | grep -E "^decode|graph|replay|slower"
      done
      rm -rf "$dir"
      echo "== ab: after $(elapsed) s"
      ;;
    *) echo "unknown stage $stage"; rc=2 ;;
  esac
done
wait_model
echo "== done after $(elapsed) s, exit $rc"
exit "$rc"
