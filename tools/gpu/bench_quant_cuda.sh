#!/usr/bin/env bash
# Quantized models on CUDA at Qwen3-14B's exact shape, run ON THE GPU MACHINE: bash <carry>/bench_quant_cuda.sh
# (carry = the folder holding this script, hf_baseline.py and hearth/). Writes the random bf16 model with
# hf_baseline.py make (local disk, never carried), benches it (unless SKIP_BF16=1), then for each format in FORMATS
# quantizes it with `hearth quantize` (timed), benches the result (decode batch 1 at a 512-token context, prefill
# 2048, batch-32 decode) and deletes it (the disk is 64 GB). For awq-int4 it then serves one real ~32K-token request
# with --gpu-memory-utilization set to a 24 GB card's share of this GPU (MEMORY_CHECK=0 skips it). Each step has a
# time limit, and no new format starts after BUDGET_S seconds, so one slow format cannot cost the others. Logs in $OUT.
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
begin=$(date +%s)
# BENCH_EXTRA (default "--prefill-tokens 2048 --batch 32"; set it empty for batch-1 decode alone).
bench() {
  # shellcheck disable=SC2086
  timeout "${BENCH_TIMEOUT:-150}" "$hearth" bench --model "$1" --device cuda --prompt-tokens 512 --decode-tokens 128 ${BENCH_EXTRA---prefill-tokens 2048 --batch 32} 2>&1
}
[ -f "$model/config.json" ] || python3 "$carry/hf_baseline.py" make --dir "$model" 2>&1 | grep -v Warning | tail -2
echo "== model written after $(( $(date +%s) - begin )) s" | tee -a "$log"
if [ "${SKIP_BF16:-0}" != 1 ]; then
  echo "== bf16" | tee -a "$log"
  bench "$model" | tee -a "$log"
fi
for fmt in $formats; do
  if [ $(( $(date +%s) - begin )) -gt "${BUDGET_S:-100000}" ]; then echo "== $fmt: skipped (time budget)" | tee -a "$log"; continue; fi
  dir="/tmp/qwen3-14b-$fmt"
  rm -rf "$dir"; mkdir -p "$dir"
  target="$dir"; [[ $fmt == gguf-* ]] && target="$dir/model.gguf"
  start=$(date +%s)
  timeout "${QUANTIZE_TIMEOUT:-200}" "$hearth" quantize --model "$model" --to "$fmt" --out "$target" > "$out/quantize-14b-$fmt.log" 2>&1
  rc=$?
  echo "== $fmt: quantize exit $rc in $(( $(date +%s) - start )) s, $(du -sh "$dir" | cut -f1)" | tee -a "$log"
  [ "$rc" -eq 0 ] && bench "$target" | tee -a "$log"
  if [ "$rc" -eq 0 ] && [ "$fmt" = awq-int4 ] && [ "${MEMORY_CHECK:-1}" = 1 ]; then
    # A 24 GB card (RTX 4090: 24,564 MiB) as a share of this GPU's total, as --gpu-memory-utilization reads it.
    total=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits | head -1)
    util=$(python3 -c "print(f'{24564 / $total:.4f}')")
    echo "== $fmt: one 32,760-token request at --gpu-memory-utilization $util (24,564 of $total MiB)" | tee -a "$log"
    timeout "${MEMORY_TIMEOUT:-200}" "$hearth" bench --model "$target" --device cuda --prompt-tokens 32760 --decode-tokens 4 \
      --gpu-memory-utilization "$util" 2>&1 | tee -a "$log"
  fi
  rm -rf "$dir"
done
grep -E "^==|^prefill|^decode|^run-ahead|^graph replay|weights on the GPU|GPU memory|KV|^roofline|^bandwidth" "$log" | head -100
