#!/usr/bin/env bash
# CUDA session 4, ON THE GPU MACHINE from the repository root, in one call: run_all.sh with PARITY_ONCE=1 (parity
# once with --baseline kernel timings, hearth generate, the 14B-shape hearth bench), then `hearth bench` at batch 32
# with each decode-attention setting in DECODE_VARIANTS, then HF transformers eager on the same weights (batch 1
# and 32, no torch.compile) under HF_TIMEOUT. Logs into $OUT. Expects cuda-parity/, hearth/, parrot-qwen3/,
# the scripts and hf_baseline.py beside this script.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export PYTHONUNBUFFERED=1
out="${OUT:-/tmp/session4-out}"
mkdir -p "$out"
export OUT="$out"
PARITY_ONCE=1 bash "$here/run_all.sh" --skip-hf 2>&1 | grep -v "Writing model shards" > "$out/run-all.log"
rc=${PIPESTATUS[0]}
grep -E "^FAIL|passed,|kernel modules|attention decode|rows=(16|32|64) |prefill of|^  (qkv|qk_norm_rope|write_kv|attention|silu_mul|add_rms_norm|gate_up|down|o) |decode step" "$out/parity-all.log"
cat "$out/bench-hearth.log"
model=/tmp/qwen3-14b-random
hearth="$here/hearth/hearth"
for variant in ${DECODE_VARIANTS:-HEARTH_CUDA_DECODE_BLOCKS_PER_SM=8 HEARTH_CUDA_DECODE_BLOCKS_PER_SM=4}; do
  env ${variant//,/ } "$hearth" bench --model "$model" --device cuda --prompt-tokens 512 --decode-tokens 128 --prefill-tokens 0 \
    --batch 32 2>&1 | grep -E "^decode|warning" | sed "s/^/$variant: /" | tee -a "$out/bench-variants.log"
done
timeout "${HF_TIMEOUT:-200}" python3 "$here/hf_baseline.py" measure --dir "$model" --skip-compile 2>&1 | grep -E '^\{|Error|error' | tee "$out/bench-hf.log"
echo "run_all exit code: $rc"
exit $rc
