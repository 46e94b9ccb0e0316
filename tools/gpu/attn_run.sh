#!/usr/bin/env bash
# Decode-attention iteration run ON THE GPU MACHINE (branch attn, session 5), from the repository root:
# register/spill report of the decode kernels (nvcc -Xptxas -v on common.cu + the kernel file), then the parity
# runner's op checks with the kernel timings (--ops-only --baseline). Expects beside this script: cuda-parity/
# (the published runner) and kernels/ (copies of src/Hearth.Backends/Cuda/Kernels/*.cu). Logs go to $OUT.
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/attn-out}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,clocks.max.memory --format=csv
# Every module through nvcc first: a compile error shows here with its line, not as a failed backend start.
for k in elementwise norm attention gemv decode_attention flash_attention gemv_quant decode_fused decode_mma sampling; do
  cat "$here/kernels/common.cu" "$here/kernels/$k.cu" > "/tmp/$k.cu"
  /usr/local/cuda/bin/nvcc -arch=sm_90 -std=c++17 -I"$here/kernels" -cubin -Xptxas -v "/tmp/$k.cu" -o "/tmp/$k.cubin" > "/tmp/ptxas-$k.log" 2>&1 \
    || { echo "nvcc FAILED on $k.cu"; grep -m8 -E "error" "/tmp/ptxas-$k.log"; }
  grep -E -A3 "entry function '(decode_attention_mma|decode_attention_fused_tr_g5_d128|qk_norm_rope_kv_warp_d128)" "/tmp/ptxas-$k.log" | grep -E "entry|registers|spill"
done
runner="$here/cuda-parity/Hearth.Cuda.Parity"
chmod +x "$runner"
timeout "${PARITY_TIMEOUT:-420}" "$runner" --ops-only --baseline "$@" 2>&1 | tee "$out/attn-parity.log" \
  | grep -E "^FAIL|attention decode|passed,|took|batch|replay|step|error|Exception"
