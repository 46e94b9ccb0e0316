#!/usr/bin/env bash
# Issue 8, session 5, run ON THE GPU MACHINE: bash <carry>/qdec_run.sh [make-bg] [harness] [parity] [bench]
# (carry = the folder holding this script, kernels/{common,gemv_quant,gemv_quant_stream}.cu and quant_splitk.cuh,
# qdec_harness.cu, and for parity/bench
# cuda-parity/, hearth/, parrot-qwen3/, quant_cuda_parity.sh, bench_quant_cuda.sh, hf_baseline.py).
# harness: nvcc-compiles the GEMV kernels with qdec_harness.cu once per VARIANTS entry ("warps:loads:ring:minBlocks",
# a fifth field "nomath" drops the arithmetic to time the bare weight stream),
# checks the streaming kernels against the parity-checked ones and times both at the 14B layer shapes.
# make-bg: writes the random 14B-shape model (hf_baseline.py make) in the background while the next stages run;
# bench waits for it. parity: quant_cuda_parity.sh --quant-timing. bench: bench_quant_cuda.sh (FORMATS, SKIP_BF16,
# BUDGET_S, MEMORY_CHECK as there). Logs in $OUT.
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
carry="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/qdec-out}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,clocks.max.memory --format=csv,noheader | tee "$out/gpu.txt"
rc=0
make_pid=""
for stage in "$@"; do
  case "$stage" in
    make-bg)
      python3 "$carry/hf_baseline.py" make --dir /tmp/qwen3-14b-random > "$out/make.log" 2>&1 &
      make_pid=$!
      ;;
    harness)
      cat "$carry/kernels/common.cu" "$carry/kernels/gemv_quant.cu" "$carry/kernels/gemv_quant_stream.cu" "$carry/qdec_harness.cu" > /tmp/qdec_all.cu
      pids=()
      for v in ${VARIANTS:-8:2:4:2}; do
        IFS=: read -r w l r b x <<< "$v"
        extra=""; [ "${x:-}" = nomath ] && extra="-DQS_NO_MATH"
        ( /usr/local/cuda/bin/nvcc -O3 -arch=sm_90 -I"$carry/kernels" -DQS_WARPS=$w -DQS_LOADS=$l -DQS_RING=$r -DQS_MIN_BLOCKS=$b $extra -Xptxas -v \
            -o "/tmp/qdec_${v//:/-}" /tmp/qdec_all.cu > "/tmp/qdec_${v//:/-}.build" 2>&1 ) &
        pids+=($!)
      done
      for p in "${pids[@]}"; do wait "$p"; done
      for v in ${VARIANTS:-8:2:4:2}; do
        b="/tmp/qdec_${v//:/-}"
        echo "== variant $v (warps:loads:ring:minBlocks)" | tee -a "$out/harness.log"
        grep -A2 "entry function 'gemv_.*_stream'" "$b.build" | grep -E "registers|spill" | tee -a "$out/harness.log"
        grep -E "error" "$b.build" | head -20 | tee -a "$out/harness.log"
        [ -x "$b" ] && timeout 120 "$b" 2>&1 | grep -v "^  old" | tee -a "$out/harness.log"
      done
      ;;
    parity)
      OUT="$out" bash "$carry/quant_cuda_parity.sh" --quant-timing > "$out/parity-stdout.log" 2>&1
      rc=$?
      grep -E "^FAIL|passed|quantized GEMV|  (awq|fp8|gguf)|took" "$out/quant-parity.log" | head -60
      echo "parity exit $rc"
      ;;
    bench)
      [ -n "$make_pid" ] && wait "$make_pid"
      OUT="$out" bash "$carry/bench_quant_cuda.sh"
      ;;
  esac
done
exit $rc
