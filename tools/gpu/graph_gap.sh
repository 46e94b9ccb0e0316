#!/usr/bin/env bash
# Where the bench's decode step goes beyond its graph, and what a launch setting is worth, ON THE GPU MACHINE:
#   bash <carry>/graph_gap.sh      (carry = the folder holding this script, hearth/ and hf_baseline.py)
# Writes the random 14B-shape bf16 model if missing (and each quantized format of FORMATS, e.g. "bf16 awq-int4", with
# `hearth quantize`), then runs `hearth bench` at batch 1 and at each of BATCHES (default 32; each prints its graph
# replayed back to back beside the engine's step) once per VARIANTS entry (environment settings joined by commas,
# e.g. "HEARTH_CUDA_PDL=0"; PROFILE=1 adds the engine's step profile, host phases and GPU stretches). Logs in $OUT.
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
carry="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/graph-gap-out}"
mkdir -p "$out"
hearth="$carry/hearth/hearth"
chmod +x "$hearth" 2>/dev/null || true
model=/tmp/qwen3-14b-random
[ -f "$model/config.json" ] || python3 "$carry/hf_baseline.py" make --dir "$model" > "$out/make.log" 2>&1
for fmt in ${FORMATS:-bf16}; do
  target="$model"
  if [ "$fmt" != bf16 ]; then
    target="/tmp/qwen3-14b-$fmt"; [[ $fmt == gguf-* ]] && target="$target/model.gguf"
    [ -e "$target" ] || { mkdir -p "/tmp/qwen3-14b-$fmt"; timeout 200 "$hearth" quantize --model "$model" --to "$fmt" --out "$target" > "$out/quantize-$fmt.log" 2>&1; }
  fi
  for batch in ${BATCHES:-32}; do
    for variant in ${VARIANTS:-HEARTH_CUDA_PDL=1 HEARTH_CUDA_PDL=0}; do
      echo "== $fmt batch $batch $variant" | tee -a "$out/graph-gap.log"
      # shellcheck disable=SC2046
      env $(tr ',' ' ' <<< "$variant") HEARTH_STEP_PROFILE="${PROFILE:-0}" timeout "${BENCH_TIMEOUT:-150}" "$hearth" bench --model "$target" \
        --device cuda --prompt-tokens 512 --decode-tokens "${DECODE_TOKENS:-128}" --batch "$batch" 2>&1 | tee -a "$out/graph-gap.log" \
        | grep -E "^decode|graph replay|^run-ahead|step profile, (decode batch|bucket) (1|$batch) \("
    done
  done
done
