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
for k in decode_mma decode_fused; do
  cat "$here/kernels/common.cu" "$here/kernels/$k.cu" > "/tmp/$k.cu"
  /usr/local/cuda/bin/nvcc -arch=sm_90 -std=c++17 -cubin -Xptxas -v "/tmp/$k.cu" -o "/tmp/$k.cubin" > "$out/ptxas-$k.log" 2>&1
  grep -E -A3 "entry function '(decode_attention_mma|decode_attention_fused_tr_g5_d128)" "$out/ptxas-$k.log" | grep -E "entry|registers|spill"
done
runner="$here/cuda-parity/Hearth.Cuda.Parity"
chmod +x "$runner"
timeout "${PARITY_TIMEOUT:-420}" "$runner" --ops-only --baseline "$@" 2>&1 | tee "$out/attn-parity.log" \
  | grep -E "^FAIL|tensor cores|attention decode|passed,|took|whole|replay|step|error|Exception"
