#!/usr/bin/env bash
# Session-4 probe ON THE GPU MACHINE: the parity runner once (op checks, parrot, goldens, --baseline kernel timings
# including the decode-attention variants, GEMMs at 16-64 rows and a random-weight prefill), then `hearth bench`
# on the random 14B-shape model with the defaults and with each decode-attention setting in DECODE_VARIANTS
# (batch 32 and the 64-request load run only). No HF. Logs into $OUT. Expects cuda-parity/, hearth/,
# parrot-qwen3/ and hf_baseline.py beside this script.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
out="${OUT:-/tmp/probe-out}"
mkdir -p "$out"
PARITY_ONCE=1 bash "$here/cuda_parity.sh" > "$out/parity-all.log" 2>&1
echo "parity exit code: $?"
grep -E "^FAIL|passed,|kernel modules|attention decode|rows=(16|32|64)|prefill of|^  (qkv|qk_norm|attention|silu|add_rms|gate_up|down|o) " "$out/parity-all.log"
model=/tmp/qwen3-14b-random
python3 "$here/hf_baseline.py" make --dir "$model" 2>&1 | grep -v Warning | tail -2
hearth="$here/hearth/hearth"; chmod +x "$hearth"
"$hearth" bench --model "$model" --device cuda --prompt-tokens 512 --decode-tokens 128 --prefill-tokens 2048 \
  --batch 32 --concurrent 64 --output-tokens 256 2>&1 | tee "$out/bench-hearth.log"
for variant in ${DECODE_VARIANTS:-HEARTH_CUDA_DECODE_BLOCKS_PER_SM=8 HEARTH_CUDA_DECODE_PREFETCH=1 HEARTH_CUDA_DECODE_PREFETCH=1,HEARTH_CUDA_DECODE_BLOCKS_PER_SM=8 HEARTH_CUDA_DECODE_BLOCKS_PER_SM=4}; do
  echo "== $variant"
  env ${variant//,/ } "$hearth" bench --model "$model" --device cuda --prompt-tokens 512 --decode-tokens 128 --prefill-tokens 0 \
    --batch 32 2>&1 | grep -E "^decode|warning" | sed "s/^/$variant: /" | tee -a "$out/bench-variants.log"
done
