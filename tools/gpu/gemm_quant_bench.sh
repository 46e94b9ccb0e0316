#!/usr/bin/env bash
# Issue 8, session 5: whole-model numbers at Qwen3-14B's shape, run ON THE GPU MACHINE: bash <carry>/gemm_quant_bench.sh
# (carry = the folder holding this script, hf_baseline.py and hearth/). Writes the random bf16 model (local disk),
# benches it, then per format in FORMATS quantizes it once and benches it (fp8 twice: W8A16, the default, and
# HEARTH_CUDA_FP8_W8A8=1, i.e. W8A8), the same hearth bench arguments as bench_quant_cuda.sh (decode batch 1
# at a 512-token context, prefill 2048, batch-32 decode). No format starts after BUDGET_S seconds. Logs in $OUT.
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export PYTHONUNBUFFERED=1
carry="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/gemm-bench-out}"
mkdir -p "$out"
hearth="$carry/hearth/hearth"
chmod +x "$hearth" 2>/dev/null || true
model=/tmp/qwen3-14b-random
log="$out/bench-gemm.log"
begin=$(date +%s)
bench() { timeout "${BENCH_TIMEOUT:-120}" "$hearth" bench --model "$1" --device cuda --prompt-tokens 512 --decode-tokens 128 --prefill-tokens 2048 --batch 32 2>&1; }
[ -f "$model/config.json" ] || python3 "$carry/hf_baseline.py" make --dir "$model" 2>&1 | grep -v Warning | tail -2
echo "== model written after $(( $(date +%s) - begin )) s" | tee -a "$log"
[ "${SKIP_BF16:-0}" = 1 ] || { echo "== bf16" | tee -a "$log"; bench "$model" | tee -a "$log"; }
for fmt in ${FORMATS:-fp8 awq-int4 gguf-q4_k_m}; do
  if [ $(( $(date +%s) - begin )) -gt "${BUDGET_S:-100000}" ]; then echo "== $fmt: skipped (time budget)" | tee -a "$log"; continue; fi
  dir="/tmp/qwen3-14b-$fmt"
  rm -rf "$dir"; mkdir -p "$dir"
  target="$dir"; [[ $fmt == gguf-* ]] && target="$dir/model.gguf"
  start=$(date +%s)
  timeout "${QUANTIZE_TIMEOUT:-200}" "$hearth" quantize --model "$model" --to "$fmt" --out "$target" > "$out/quantize-14b-$fmt.log" 2>&1
  rc=$?
  echo "== $fmt: quantize exit $rc in $(( $(date +%s) - start )) s" | tee -a "$log"
  if [ "$rc" -eq 0 ]; then
    bench "$target" | tee -a "$log"
    if [ "$fmt" = fp8 ]; then
      echo "== fp8 with HEARTH_CUDA_FP8_W8A8=1 (W8A8)" | tee -a "$log"
      HEARTH_CUDA_FP8_W8A8=1 bench "$target" | tee -a "$log"
    fi
  fi
  rm -rf "$dir"
done
echo "== total $(( $(date +%s) - begin )) s" | tee -a "$log"
grep -E "^==|^prefill|^decode|weights on the GPU" "$log" | head -60
