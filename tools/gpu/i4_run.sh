#!/usr/bin/env bash
# Issue 8, session 9 (branch i4): the int4 (AWQ g128) decode GEMV, run ON THE GPU MACHINE:
#   bash <carry>/i4_run.sh [harness] [parity] [quick] [make-bg] [bench]
# (carry = the folder holding this script, kernels/{common,gemv_quant_stream,gemv_quant_i4}.cu and quant_splitk.cuh,
# i4_harness.cu, and for parity/quick/bench cuda-parity/, hearth/, parrot-qwen3/, quant_cuda_parity.sh,
# bench_quant_cuda.sh, hf_baseline.py). Logs in $OUT.
# harness: nvcc-compiles i4_harness.cu with the kernels (registers and spills printed), checks every variant against
#   gemv_g4_stream and times each 14B launch and whole layers, old against new, at m = 1 and 8.
# parity: quant_cuda_parity.sh $PARITY_ARGS (default --ops-only --i4-timing).
# quick: the parity runner's --i4-only (I4Checks, SplitKChecks, QuantChecks, then I4Timing: old vs new per launch, per layer).
# make-bg / bench: the random 14B model in the background, then FORMATS=awq-int4 SKIP_BF16=1 MEMORY_CHECK=0
#   bench_quant_cuda.sh with the new path, then (BENCH_OFF=1) with HEARTH_CUDA_I4_NEW=0.
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
carry="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/i4-out}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,clocks.max.memory --format=csv,noheader | tee "$out/gpu.txt"
rc=0
make_pid=""
for stage in "$@"; do
  start=$(date +%s)
  case "$stage" in
    harness)
      k="$carry/kernels"
      cat "$k/common.cu" "$k/gemv_quant_stream.cu" "$k/gemv_quant_i4.cu" "$carry/i4_harness.cu" > /tmp/i4_all.cu
      /usr/local/cuda/bin/nvcc -O3 -arch=sm_90 -std=c++17 -I"$k" -Xptxas -v -o /tmp/i4_h /tmp/i4_all.cu > /tmp/i4_h.build 2>&1
      echo "harness compiled (exit $?) after $(( $(date +%s) - start )) s" | tee -a "$out/harness.log"
      grep -A2 -E "entry function '(i4_|gemv_g4_i4|gemv_g4_stream|gemv_silu_g4)" /tmp/i4_h.build | grep -E "entry|registers|spill" | sed 's/ptxas info    : //' >> "$out/harness.log"
      grep -E "error" /tmp/i4_h.build | head -30 | tee -a "$out/harness.log"
      [ -x /tmp/i4_h ] && timeout "${HARNESS_TIMEOUT:-200}" /tmp/i4_h > "$out/harness-run.log" 2>&1; echo "harness exit $?" | tee -a "$out/harness.log"
      grep -E "LAYER|best|MISMATCH|checks|variant|MB|error" "$out/harness-run.log" | cut -c1-250
      echo "harness done after $(( $(date +%s) - start )) s" | tee -a "$out/harness.log"
      ;;
    parity)
      OUT="$out" bash "$carry/quant_cuda_parity.sh" ${PARITY_ARGS:---ops-only --i4-timing} > "$out/parity-stdout.log" 2>&1
      rc=$?
      grep -E "^FAIL|passed|i4|took|kernel modules" "$out/quant-parity.log" | grep -v "^PASS" | head -80
      echo "parity exit $rc after $(( $(date +%s) - start )) s"
      ;;
    quick)
      chmod +x "$carry/cuda-parity/Hearth.Cuda.Parity"
      "$carry/cuda-parity/Hearth.Cuda.Parity" --i4-only > "$out/i4-quick.log" 2>&1
      rc=$?
      grep -E "^FAIL|passed|i4 timing|^  " "$out/i4-quick.log" | head -80
      echo "quick exit $rc after $(( $(date +%s) - start )) s"
      ;;
    make-bg)
      python3 "$carry/hf_baseline.py" make --dir /tmp/qwen3-14b-random > "$out/make.log" 2>&1 &
      make_pid=$!
      ;;
    bench)
      [ -n "$make_pid" ] && wait "$make_pid" && make_pid=""
      FORMATS=awq-int4 SKIP_BF16=1 MEMORY_CHECK=0 OUT="$out" bash "$carry/bench_quant_cuda.sh" > "$out/bench-new.log" 2>&1
      grep -E "^==|^decode|^prefill" "$out/bench-new.log" | head -12
      if [ "${BENCH_OFF:-1}" = 1 ]; then
        mv "$out/bench-quant.log" "$out/bench-quant-new.log" 2>/dev/null
        echo "== HEARTH_CUDA_I4_NEW=0"
        HEARTH_CUDA_I4_NEW=0 FORMATS=awq-int4 SKIP_BF16=1 MEMORY_CHECK=0 BENCH_TIMEOUT=60 OUT="$out" bash "$carry/bench_quant_cuda.sh" > "$out/bench-off.log" 2>&1
        grep -E "^==|^decode|^prefill" "$out/bench-off.log" | head -12
      fi
      echo "bench done after $(( $(date +%s) - start )) s"
      ;;
  esac
done
exit $rc
