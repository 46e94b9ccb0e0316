#!/usr/bin/env bash
# Quantized models on CUDA at Qwen3-14B's exact shape, run ON THE GPU MACHINE: bash <carry>/bench_quant_cuda.sh
# (carry = the folder holding this script, hf_baseline.py and hearth/). Writes the random bf16 model with
# hf_baseline.py make (local disk, never carried), benches it, then for each format quantizes it with
# `hearth quantize` (timed), benches the result (decode batch 1 at a 512-token context, prefill 2048) and deletes
# it (the disk is 64 GB). Each step has a time limit so one slow format cannot cost the others. Logs go to $OUT.
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export PYTHONUNBUFFERED=1
carry="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/bench-out}"
mkdir -p "$out"
hearth="$carry/hearth/hearth"
chmod +x "$hearth" 2>/dev/null || true
model=/tmp/qwen3-14b-random
formats="${FORMATS:-awq-int4 fp8 gguf-q4_k_m}"
log="$out/bench-quant.log"
bench() { timeout "${BENCH_TIMEOUT:-150}" "$hearth" bench --model "$1" --device cuda --prompt-tokens 512 --decode-tokens 128 --prefill-tokens 2048 2>&1; }
[ -f "$model/config.json" ] || python3 "$carry/hf_baseline.py" make --dir "$model" 2>&1 | grep -v Warning | tail -2
echo "== bf16" | tee -a "$log"
bench "$model" | tee -a "$log"
for fmt in $formats; do
  dir="/tmp/qwen3-14b-$fmt"
  rm -rf "$dir"; mkdir -p "$dir"
  target="$dir"; [[ $fmt == gguf-* ]] && target="$dir/model.gguf"
  start=$(date +%s)
  timeout "${QUANTIZE_TIMEOUT:-200}" "$hearth" quantize --model "$model" --to "$fmt" --out "$target" > "$out/quantize-14b-$fmt.log" 2>&1
  rc=$?
  echo "== $fmt: quantize exit $rc in $(( $(date +%s) - start )) s, $(du -sh "$dir" | cut -f1)" | tee -a "$log"
  [ "$rc" -eq 0 ] && bench "$dir" | tee -a "$log"
  rm -rf "$dir"
done
grep -E "^==|^prefill 2048|^decode|weights on the GPU|GPU memory used" "$log"
