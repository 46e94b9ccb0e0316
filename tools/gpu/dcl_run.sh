#!/usr/bin/env bash
# Session 10 (branch dcl): the batch-1 decode attention's cluster/early-load kernels, ON THE GPU MACHINE:
#   bash <carry>/dcl_run.sh            (carry = this script, cuda-parity/, hearth/, hf_baseline.py, graph_gap.sh,
#                                       tree/ = src/Hearth.Backends/Cuda/Kernels + tools/gpu copied from the worktree)
# 1. nvcc: common.cu + decode_mma.cu for sm_90 and sm_80, registers and spills of the decode kernels (stops on an error);
#    tools/gpu/harness_compile_check.sh over the carried tree in the background (every module, sm_80 and sm_90).
# 2. The parity runner's --dcl: ClusterDecodeChecks, TensorCoreDecodeChecks, PdlChecks, then ClusterDecodeTiming
#    (attention per layer at each setting alternated, and the whole 14B batch-1 step per setting).
# 2b. noprewait: the timings again with HEARTH_CUDA_KERNEL_DEFINES="HEARTH_DECODE_PREWAIT=0" (the cluster combine alone).
# 3. engine: graph_gap.sh (hearth bench batch 1, fp8 and awq-int4) with HEARTH_CUDA_DECODE_CLUSTER=8 and =0
#    alternated (makes the random 14B model and quantizes it: ~2 min). STAGES picks (default "compile parity").
# Logs in $OUT.
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
carry="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/dcl-out}"
mkdir -p "$out"
stages="${STAGES:-compile parity}"
k="$carry/tree/src/Hearth.Backends/Cuda/Kernels"
nvidia-smi --query-gpu=name,driver_version,clocks.max.memory --format=csv
if [[ $stages == *compile* ]]; then
  cat "$k/common.cu" "$k/decode_mma.cu" > /tmp/dcl_decode_mma.cu
  for arch in 90 80; do
    if ! /usr/local/cuda/bin/nvcc -arch=sm_$arch -std=c++17 -I"$k" -cubin -Xptxas -v /tmp/dcl_decode_mma.cu -o /tmp/dcl_$arch.cubin > "$out/ptxas-$arch.log" 2>&1; then
      echo "nvcc FAILED on decode_mma.cu sm_$arch"; grep -m12 -E "error" "$out/ptxas-$arch.log"; exit 3
    fi
    echo "== sm_$arch registers"
    grep -E -A2 "entry function '(decode_attention_mma_(cl|cl4|o4)_d128|decode_attention_mma_cl_fp8_d128)'" "$out/ptxas-$arch.log" | grep -E "entry|registers|spill"
  done
  ( cd "$carry/tree" && OUT="$out/harness" bash tools/gpu/harness_compile_check.sh > "$out/harness-check.log" 2>&1; echo "harness check exit $?" >> "$out/harness-check.log" ) &
  harness=$!
fi
rc=0
if [[ $stages == *parity* ]]; then
  runner="$carry/cuda-parity/Hearth.Cuda.Parity"
  chmod +x "$runner"
  timeout "${PARITY_TIMEOUT:-400}" "$runner" --dcl 2>&1 | tee "$out/dcl-parity.log" \
    | grep -E "^FAIL|passed,|decode attention|batch .* context|whole step|full step|kernel modules|Exception|error"
  rc=${PIPESTATUS[0]}
  grep -c "^PASS" "$out/dcl-parity.log" | sed 's/^/PASS lines: /'
fi
if [[ $stages == *noprewait* ]]; then   # the timings again with the early loads compiled out (the cluster combine alone)
  echo "== HEARTH_DECODE_PREWAIT=0"
  HEARTH_DCL_TIMING_ONLY=1 HEARTH_CUDA_KERNEL_DEFINES="HEARTH_DECODE_PREWAIT=0" timeout 200 "$carry/cuda-parity/Hearth.Cuda.Parity" --dcl 2>&1 \
    | tee "$out/dcl-noprewait.log" | grep -E "batch .* context|full step|whole step|Exception|error"
fi
if [[ $stages == *compile* ]]; then wait "$harness"; grep -E "FAILED|exit|==" "$out/harness-check.log" | head -20; fi
if [[ $stages == *engine* ]]; then
  FORMATS="fp8 awq-int4" BATCHES=1 DECODE_TOKENS="${DECODE_TOKENS:-128}" \
    VARIANTS="${VARIANTS:-HEARTH_CUDA_DECODE_CLUSTER=8 HEARTH_CUDA_DECODE_CLUSTER=0}" \
    OUT="$out" bash "$carry/graph_gap.sh"
fi
exit $rc
