#!/usr/bin/env bash
# Session 6 (branch att2) kernel iteration run ON THE GPU MACHINE, from the repository root: nvcc -Xptxas -v of the
# decode kernels (compile errors with their lines; registers and spills of the tensor-core decode kernels), then the
# parity runner's decode-attention checks and the pipeline / GEMM-autotune timings (--att2). Expects beside this
# script: cuda-parity/ (the published runner) and kernels/ (copies of src/Hearth.Backends/Cuda/Kernels/*.cu).
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/att2-out}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,clocks.max.memory --format=csv
for k in decode_mma decode_mma_pipe; do
  cat "$here/kernels/common.cu" "$here/kernels/$k.cu" > "/tmp/$k.cu"
  /usr/local/cuda/bin/nvcc -arch=sm_90 -std=c++17 -I"$here/kernels" -cubin -Xptxas -v "/tmp/$k.cu" -o "/tmp/$k.cubin" > "/tmp/ptxas-$k.log" 2>&1 \
    || { echo "nvcc FAILED on $k.cu"; grep -m12 -E "error" "/tmp/ptxas-$k.log"; }
  /usr/local/cuda/bin/nvcc -arch=sm_80 -std=c++17 -I"$here/kernels" -cubin "/tmp/$k.cu" -o "/tmp/$k-80.cubin" > /dev/null 2>&1 \
    && echo "$k.cu compiles for sm_80" || echo "nvcc FAILED on $k.cu for sm_80"
  grep -E -A3 "entry function 'decode_attention_mma_(o4_d128|pipe2_d128|pipe3_d128)" "/tmp/ptxas-$k.log" | grep -E "entry|registers|spill"
done
runner="$here/cuda-parity/Hearth.Cuda.Parity"
chmod +x "$runner"
timeout "${PARITY_TIMEOUT:-300}" "$runner" --att2 "$@" 2>&1 | tee "$out/att2-parity.log" \
  | grep -E "^FAIL|pipelined decode|unpipelined|attention batch|linear |tuned |whole decode|batch 32:|batch  1:|passed,|error|Exception"
