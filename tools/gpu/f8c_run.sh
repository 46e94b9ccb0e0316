#!/usr/bin/env bash
# Issue 8, session 11 (branch f8c): the fp8 decode GEMV's f16 widening (gemv_f8_wide_h) and one-warp split blocks, ON
# THE GPU MACHINE: bash <carry>/f8c_run.sh [harness] [sass] [make-bg] [check-bg] [parity] [bench]
# (carry = the folder holding this script, kernels/ (common.cu, gemv.cu, gemv_quant_stream.cu, gemv_quant_wide.cu,
# quant_splitk.cuh), f8_harness.cu, and for the later stages cuda-parity/, hearth/, graph_gap.sh, hf_baseline.py and
# repo/ (src/Hearth.Backends/Cuda/Kernels and tools/gpu's *.cu, *.inc and harness_compile_check.sh, as in the repository)).
# harness: nvcc-compiles f8_harness.cu with the kernels once per VARIANTS entry "loads:double:prefetch:minBlocks[:xhRows]"
#   and runs each (every variant checked against the register stream and bit for bit against gemv_f8_wide, then timed
#   per 14B linear and per layer at m = 1, 2, 8, twice, alternated).
# sass: cuobjdump -sass of the first variant's binary: opcode counts of gemv_f8_wide and gemv_f8_wide_h, and per HMMA.
# make-bg: the random 14B model (hf_baseline.py make) in the background, for bench.
# check-bg: harness_compile_check.sh in repo/ in the background (every module for sm_80 and sm_90, the harnesses);
#   its result is printed at the end.
# parity: the parity runner's --f8c (F8cChecks, QuantWideChecks, QuantSiluChecks, then F8cTiming: old / new alternated).
# bench: waits for make-bg, then graph_gap.sh for fp8 at batch 1 (it quantizes) with BENCH_VARIANTS (default the
#   switch off, then on).
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
carry="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/f8c-out}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,clocks.max.memory --format=csv,noheader | tee "$out/gpu.txt"
rc=0
first=""
make_pid=""
check_pid=""
for stage in "$@"; do
  start=$(date +%s)
  case "$stage" in
    harness)
      k="$carry/kernels"
      cat "$k/common.cu" "$k/gemv.cu" "$k/gemv_quant_stream.cu" "$k/gemv_quant_wide.cu" "$carry/f8_harness.cu" > /tmp/f8c_all.cu
      pids=()
      for v in ${VARIANTS:-8:0:0:2}; do
        IFS=: read -r l d p b x <<< "$v"
        ( /usr/local/cuda/bin/nvcc -O3 -arch=sm_90 -I"$k" -DQW_LOADS=$l -DQW_DOUBLE=$d -DQW_PREFETCH=$p -DQW_MIN_BLOCKS=$b -DQW_XH_ROWS=${x:-4} \
            -Xptxas -v -o "/tmp/f8c_${v//:/-}" /tmp/f8c_all.cu > "/tmp/f8c_${v//:/-}.build" 2>&1 ) &
        pids+=($!)
        [ -z "$first" ] && first="/tmp/f8c_${v//:/-}"
      done
      for p in "${pids[@]}"; do wait "$p"; done
      echo "harness compiled after $(( $(date +%s) - start )) s" | tee -a "$out/harness.log"
      for v in ${VARIANTS:-8:0:0:2}; do
        b="/tmp/f8c_${v//:/-}"
        echo "== variant $v (loads:double:prefetch:minBlocks[:xhRows])" | tee -a "$out/harness.log"
        grep -A2 "entry function 'gemv_.*f8_wide" "$b.build" | grep -E "entry|registers|spill" | sed 's/ptxas info    : //' | tee -a "$out/harness.log"
        grep -E "error" "$b.build" | head -20 | tee -a "$out/harness.log"
        [ -x "$b" ] && timeout 150 "$b" 2>&1 | tee -a "$out/harness.log"
      done
      echo "harness done after $(( $(date +%s) - start )) s" | tee -a "$out/harness.log"
      ;;
    sass)
      for fn in gemv_f8_wide gemv_f8_wide_h gemv_silu_f8_wide gemv_silu_f8_wide_h; do
        /usr/local/cuda/bin/cuobjdump -sass -fun "$fn" "$first" > "$out/sass_$fn.txt" 2>&1
        awk -v fn="$fn" '/\/\*[0-9a-f]+\*\/ / { op = $2; if (op ~ /^@/) op = $3; sub(/;$/, "", op); split(op, parts, "."); c[parts[1]]++; n++ }
          END { printf "%s: %d instructions;", fn, n; h = c["HMMA"]; for (o in c) if (c[o] >= 8) printf " %s %d (%.2f/HMMA)", o, c[o], h ? c[o] / h : 0; printf "\n" }' \
          "$out/sass_$fn.txt" | tee -a "$out/sass.log"
      done
      ;;
    make-bg)
      python3 "$carry/hf_baseline.py" make --dir /tmp/qwen3-14b-random > "$out/make.log" 2>&1 &
      make_pid=$!
      ;;
    check-bg)
      ( cd "$carry/repo" && OUT="$out/check" bash tools/gpu/harness_compile_check.sh > "$out/check.log" 2>&1 ) &
      check_pid=$!
      ;;
    parity)
      chmod +x "$carry/cuda-parity/Hearth.Cuda.Parity" 2>/dev/null || true
      "$carry/cuda-parity/Hearth.Cuda.Parity" --f8c > "$out/f8c-parity.log" 2>&1
      rc=$?
      grep -E "^FAIL|passed|f8c checks|fp8 128x128|device:" "$out/f8c-parity.log" | head -60
      echo "parity exit $rc after $(( $(date +%s) - start )) s"
      ;;
    bench)
      [ -n "$make_pid" ] && wait "$make_pid"
      # The compile check's nvcc processes would take the CPU from the engine's host side: they finish first.
      if [ -n "$check_pid" ]; then wait "$check_pid"; echo "compile check exit $?"; check_pid=""; fi
      FORMATS=fp8 BATCHES=1 VARIANTS="${BENCH_VARIANTS:-HEARTH_CUDA_F8_NEW=0 HEARTH_CUDA_F8_NEW=1}" OUT="$out" bash "$carry/graph_gap.sh"
      echo "bench done after $(( $(date +%s) - start )) s"
      ;;
  esac
done
if [ -n "$check_pid" ]; then wait "$check_pid"; echo "compile check exit $?"; fi
if [ -f "$out/check.log" ]; then
  echo "compile check: $(grep -c ': compiled' "$out/check.log") compiled, $(grep -c ': FAILED' "$out/check.log") failed"; grep -E "FAILED|error" "$out/check.log" | head
fi
exit $rc
