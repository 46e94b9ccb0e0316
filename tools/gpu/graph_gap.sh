#!/usr/bin/env bash
# Where the bench's decode step goes beyond its graph, ON THE GPU MACHINE: bash <carry>/graph_gap.sh
# (carry = the folder holding this script, hearth/ and hf_baseline.py). Writes the random 14B-shape bf16 model if
# missing, then runs `hearth bench` at batch 1 and 32 (each prints its graph replayed back to back beside the
# engine's step) once per VARIANTS entry (environment settings joined by commas, e.g. "HEARTH_CUDA_PDL=0";
# PROFILE=1 adds the engine's step profile). Logs in $OUT.
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
carry="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/graph-gap-out}"
mkdir -p "$out"
hearth="$carry/hearth/hearth"
chmod +x "$hearth" 2>/dev/null || true
model=/tmp/qwen3-14b-random
[ -f "$model/config.json" ] || python3 "$carry/hf_baseline.py" make --dir "$model" > "$out/make.log" 2>&1
for variant in ${VARIANTS:-HEARTH_CUDA_PDL=1 HEARTH_CUDA_PDL=0}; do
  echo "== $variant" | tee -a "$out/graph-gap.log"
  # shellcheck disable=SC2046
  env $(tr ',' ' ' <<< "$variant") HEARTH_STEP_PROFILE="${PROFILE:-0}" timeout "${BENCH_TIMEOUT:-150}" "$hearth" bench --model "$model" \
    --device cuda --prompt-tokens 512 --decode-tokens 128 --batch 32 2>&1 | tee -a "$out/graph-gap.log" \
    | grep -E "^decode|graph replay|step profile, decode batch (1|32) \("
done
