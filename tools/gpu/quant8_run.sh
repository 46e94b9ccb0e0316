#!/usr/bin/env bash
# Issue 8, session 4, run ON THE GPU MACHINE: bash <carry>/quant8_run.sh [parity] [bench] [memory]
# (carry = the folder holding this script, the kernels' sources (kernels/), cuda-parity/, hearth/, parrot-qwen3/,
# quant_cuda_parity.sh, bench_quant_cuda.sh and hf_baseline.py). parity: an nvcc compile of the quantized kernels
# (readable errors first), then quant_cuda_parity.sh with the 14B-shape GEMV timings (--quant-timing).
# bench: bench_quant_cuda.sh (FORMATS, as there). Logs go to $OUT.
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
carry="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/quant8-out}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,clocks.max.memory --format=csv,noheader | tee "$out/gpu.txt"
rc=0
for stage in "$@"; do
  case "$stage" in
    parity)
      cat "$carry/kernels/common.cu" "$carry/kernels/gemv_quant.cu" > /tmp/gemv_quant_all.cu
      /usr/local/cuda/bin/nvcc -arch=sm_80 -cubin -o /tmp/gemv_quant.cubin /tmp/gemv_quant_all.cu 2>&1 | head -30
      /usr/local/cuda/bin/cuobjdump -res-usage /tmp/gemv_quant.cubin 2>&1 | grep -A1 "gemv_" | head -12
      OUT="$out" bash "$carry/quant_cuda_parity.sh" --quant-timing > "$out/parity-stdout.log" 2>&1
      rc=$?
      grep -E "^FAIL|passed|quantized GEMV|  (awq|fp8|gguf)|took" "$out/quant-parity.log" | head -60
      echo "parity exit $rc"
      # The bench goes on unless a check outside the sampler's (whose two known failures are not this issue's) failed.
      others=$(grep "^FAIL" "$out/quant-parity.log" | grep -vc "sample_rows")
      [ "$others" -eq 0 ] || [ "${BENCH_ANYWAY:-0}" = 1 ] || exit 1
      ;;
    bench) OUT="$out" bash "$carry/bench_quant_cuda.sh" ;;
  esac
done
