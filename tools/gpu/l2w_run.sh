#!/usr/bin/env bash
# Session 10 (branch l2w): the next linear's weights pulled into L2 by the short decode kernels, ON THE GPU MACHINE:
#   bash <carry>/l2w_run.sh     (carry = the folder holding this script, hearth/, cuda-parity/, graph_gap.sh, hf_baseline.py)
# 1. In the background: the random 14B model and its FORMATS copies (default "fp8 awq-int4") for step 4.
# 2. Parity runner --l2-prefetch --l2-prefetch-timing: L2PrefetchChecks (hinted steps bit for bit against the
#    prefetch off, eager and graph replay) and PdlChecks, then the whole batch-1 14B step (int4, fp8) under each
#    prefetch setting, twice in one process, and the o projection's cost in the step; it prints the best setting.
# 3. DEFINES="HEARTH_L2P_ATTENTION_AT_END HEARTH_L2P_LINES" (each optional): the checks and the timing again, one process
#    per kernel define: the attention's prefetch after its work, the sm_80 path (prefetch.global.L2 lines).
# 4. hearth bench at batch 1 per format (graph_gap.sh): the prefetch off, then the best setting of step 2, then both again
#    (ROUNDS, default 1). Logs in $OUT.
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
carry="$(cd "$(dirname "$0")" && pwd)"
export OUT="${OUT:-/tmp/l2w-out}"
mkdir -p "$OUT"
export HEARTH_KERNEL_CACHE="${HEARTH_KERNEL_CACHE:-/tmp/hearth-kernels}"
runner="$carry/cuda-parity/Hearth.Cuda.Parity"
hearth="$carry/hearth/hearth"
chmod +x "$runner" "$hearth" 2>/dev/null || true
formats="${FORMATS:-fp8 awq-int4}"
model=/tmp/qwen3-14b-random
start=$SECONDS

if [ "${BENCH:-1}" = "1" ]; then
  (
    [ -f "$model/config.json" ] || python3 "$carry/hf_baseline.py" make --dir "$model" > "$OUT/make.log" 2>&1
    for fmt in $formats; do
      target="/tmp/qwen3-14b-$fmt"
      [ -e "$target" ] || { mkdir -p "$target"; timeout 200 "$hearth" quantize --model "$model" --to "$fmt" --out "$target" > "$OUT/quantize-$fmt.log" 2>&1; }
    done
    echo "model and quantized copies ready at $((SECONDS - start)) s" >> "$OUT/make.log"
  ) &
  maker=$!
fi

timeout "${PARITY_TIMEOUT:-300}" "$runner" --l2-prefetch --l2-prefetch-timing > "$OUT/parity.log" 2>&1
status=$?
echo "parity + timing exit $status at $((SECONDS - start)) s"
if [ "$status" = 2 ]; then   # CUDA unusable or a kernel failed to compile: nothing below can run
  tail -30 "$OUT/parity.log"; [ -n "${maker:-}" ] && kill "$maker"; exit 2
fi
grep -E "FAIL|passed, |round|o in the step|mean of|best setting" "$OUT/parity.log" | grep -v "^PASS"
best="$(sed -n 's/^best setting: //p' "$OUT/parity.log" | tail -1)"

for define in ${DEFINES:-}; do   # e.g. HEARTH_L2P_ATTENTION_AT_END, HEARTH_L2P_LINES: checks and timing again, compiled with it
  HEARTH_CUDA_KERNEL_DEFINES="$define" timeout 200 "$runner" --l2-prefetch --l2-prefetch-timing > "$OUT/$define.log" 2>&1
  echo "== $define: exit $? at $((SECONDS - start)) s"
  grep -E "FAIL|passed, |round|o in the step|mean of|best setting" "$OUT/$define.log" | grep -v "^PASS"
done

if [ "${BENCH:-1}" = "1" ]; then
  wait "$maker"
  tail -2 "$OUT/make.log"
  [ -n "$best" ] && [ "${best#HEARTH_CUDA_L2_PREFETCH=0,}" = "$best" ] || best="HEARTH_CUDA_L2_PREFETCH=3"
  variants="HEARTH_CUDA_L2_PREFETCH=0 $best"
  [ "${ROUNDS:-1}" = "2" ] && variants="$variants $variants"
  echo "bench variants: $variants (at $((SECONDS - start)) s)"
  FORMATS="$formats" BATCHES=1 VARIANTS="$variants" bash "$carry/graph_gap.sh"
  echo "bench done at $((SECONDS - start)) s"
fi
