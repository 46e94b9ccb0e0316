#!/usr/bin/env bash
# Issue 8, session 7 (branch f8): the wide quantized GEMV, run ON THE GPU MACHINE: bash <carry>/f8_run.sh [harness] [parity] [make-bg] [bench]
# (carry = the folder holding this script, kernels/{common,gemv,gemv_quant_stream,gemv_quant_wide}.cu and quant_splitk.cuh, f8_harness.cu,
# and for parity/bench cuda-parity/, hearth/, parrot-qwen3/, quant_cuda_parity.sh, bench_quant_cuda.sh, hf_baseline.py).
# harness: nvcc-compiles f8_harness.cu with the kernels once per VARIANTS entry "loads:double:prefetch:minBlocks"
#   (QW_LOADS, QW_DOUBLE, QW_PREFETCH, QW_MIN_BLOCKS of gemv_quant_wide.cu), prints registers and spills, then runs
#   each: the wide kernel at 4 and 8 warps a tile checked against the register stream and timed against it and the
#   bf16 GEMV, per 14B linear and per layer, m = 1 and 8.
# parity: quant_cuda_parity.sh $PARITY_ARGS (default --ops-only --wide-timing: every op check incl. QuantWideChecks,
#   then QuantWideTiming's wide kernel off/on/off/on per layer, per linear and per decode step).
# make-bg / bench: the random 14B model in the background, then bench_quant_cuda.sh (FORMATS, SKIP_BF16, MEMORY_CHECK).
# Logs in $OUT.
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
carry="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/f8-out}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,clocks.max.memory --format=csv,noheader | tee "$out/gpu.txt"
rc=0
make_pid=""
for stage in "$@"; do
  start=$(date +%s)
  case "$stage" in
    harness)
      k="$carry/kernels"
      cat "$k/common.cu" "$k/gemv.cu" "$k/gemv_quant_stream.cu" "$k/gemv_quant_wide.cu" "$carry/f8_harness.cu" > /tmp/f8_all.cu
      pids=()
      for v in ${VARIANTS:-8:0:0:2}; do
        IFS=: read -r l d p b <<< "$v"
        ( /usr/local/cuda/bin/nvcc -O3 -arch=sm_90 -I"$k" -DQW_LOADS=$l -DQW_DOUBLE=$d -DQW_PREFETCH=$p -DQW_MIN_BLOCKS=$b -Xptxas -v \
            -o "/tmp/f8h_${v//:/-}" /tmp/f8_all.cu > "/tmp/f8h_${v//:/-}.build" 2>&1 ) &
        pids+=($!)
      done
      for p in "${pids[@]}"; do wait "$p"; done
      echo "harness compiled after $(( $(date +%s) - start )) s" | tee -a "$out/harness.log"
      for v in ${VARIANTS:-8:0:0:2}; do
        b="/tmp/f8h_${v//:/-}"
        echo "== variant $v (loads:double:prefetch:minBlocks)" | tee -a "$out/harness.log"
        grep -A2 "entry function 'gemv_.*_wide'" "$b.build" | grep -E "entry|registers|spill" | sed 's/ptxas info    : //' | tee -a "$out/harness.log"
        grep -E "error" "$b.build" | head -20 | tee -a "$out/harness.log"
        [ -x "$b" ] && timeout 120 "$b" 2>&1 | tee -a "$out/harness.log"
      done
      echo "harness done after $(( $(date +%s) - start )) s" | tee -a "$out/harness.log"
      ;;
    parity)
      OUT="$out" bash "$carry/quant_cuda_parity.sh" ${PARITY_ARGS:---ops-only --wide-timing} > "$out/parity-stdout.log" 2>&1
      rc=$?
      grep -E "^FAIL|passed|wide|fp8 128|awq-int4|took|kernel modules" "$out/quant-parity.log" | grep -v "^PASS" | head -60
      echo "parity exit $rc after $(( $(date +%s) - start )) s"
      ;;
    make-bg)
      python3 "$carry/hf_baseline.py" make --dir /tmp/qwen3-14b-random > "$out/make.log" 2>&1 &
      make_pid=$!
      ;;
    bench)
      [ -n "$make_pid" ] && wait "$make_pid"
      OUT="$out" bash "$carry/bench_quant_cuda.sh"
      echo "bench done after $(( $(date +%s) - start )) s"
      ;;
  esac
done
exit $rc
