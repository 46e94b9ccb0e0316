#!/usr/bin/env bash
# Issue 8, session 10 (branch i4b): the int4 (AWQ g128) decode GEMVs of gemv_quant_i4.cu, run ON THE GPU MACHINE:
#   bash <carry>/i4b_run.sh [harness] [compile] [compile-bg] [quick] [make-bg] [bench]
# carry = the folder holding this script and repo/ (a copy of the branch's src/Hearth.Backends/Cuda/Kernels and
# tools/gpu, so that the harnesses compile against this branch's kernels, not the checkout's), and for quick/bench
# cuda-parity/, hearth/, hf_baseline.py. Logs in $OUT.
# harness: nvcc-compiles tools/gpu/i4_harness.cu with the kernels (registers and spills printed, the stream-K kernel's
#   SASS saved), checks every variant against gemv_g4_stream and times each 14B launch and whole layers, m = 1 and 8.
# compile: tools/gpu/harness_compile_check.sh over repo/ (every module for sm_90 and sm_80, every harness); compile-bg
#   starts it in the background (its result is printed at the end).
# quick: the parity runner's --i4-only (I4Checks, QuantChecks, QuantSiluChecks, GgufMixChecks, SplitKChecks, then
#   I4Timing: old / new alternated in one process, per launch, per layer and the whole 14B step).
# make-bg / bench: the random 14B model (hf_baseline.py make) in the background; then one awq-int4 quantize and
#   hearth bench --prompt-tokens 512 --decode-tokens 128 with HEARTH_CUDA_I4_V2=0, then on, off, on (batch-1 decode).
# Session 10 ran "harness" (twice: the stream-K kernel's two versions, then the lop3 variants), "harness compile" and
# "compile-bg quick" (the device budget left no room for make-bg / bench).
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
carry="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/i4b-out}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,clocks.max.memory --format=csv,noheader | tee "$out/gpu.txt"
script_start=$(date +%s)
rc=0
make_pid=""
compile_pid=""
for stage in "$@"; do
  start=$(date +%s)
  case "$stage" in
    harness)
      k="$carry/repo/src/Hearth.Backends/Cuda/Kernels"
      cat "$k/common.cu" "$k/gemv_quant_stream.cu" "$k/gemv_quant_i4.cu" "$carry/repo/tools/gpu/i4_harness.cu" > /tmp/i4_all.cu
      /usr/local/cuda/bin/nvcc -O3 -arch=sm_90 -std=c++17 -I"$k" -Xptxas -v -o /tmp/i4_h /tmp/i4_all.cu > /tmp/i4_h.build 2>&1
      echo "harness compiled (exit $?) after $(( $(date +%s) - start )) s" | tee -a "$out/harness.log"
      grep -A2 -E "entry function '(i4|gemv_g4_i4|gemv_g4_stream|gemv_silu_g4)" /tmp/i4_h.build | grep -E "entry|registers|spill" | sed 's/ptxas info    : //' | tee -a "$out/harness.log" | grep -E "entry|spill" | paste - - | cut -c1-200
      grep -E "error" /tmp/i4_h.build | head -30 | tee -a "$out/harness.log"
      /usr/local/cuda/bin/cuobjdump -sass -fun gemv_g4_i4sk_l4d3 /tmp/i4_h > "$out/sass-sk-l4d3.txt" 2>&1
      /usr/local/cuda/bin/cuobjdump -sass -fun i4_w4l4d3_lop3 /tmp/i4_h > "$out/sass-w4l4d3-lop3.txt" 2>&1
      [ -x /tmp/i4_h ] && timeout "${HARNESS_TIMEOUT:-200}" /tmp/i4_h > "$out/harness-run.log" 2>&1; echo "harness exit $?" | tee -a "$out/harness.log"
      grep -E "LAYER|best|MISMATCH|checks|variant|MB|error|m=1 old|m=8 old" "$out/harness-run.log" | cut -c1-400
      echo "harness done after $(( $(date +%s) - start )) s" | tee -a "$out/harness.log"
      ;;
    compile)
      ( cd "$carry/repo" && OUT=/tmp/i4b-compile bash tools/gpu/harness_compile_check.sh ) > "$out/compile.log" 2>&1
      echo "compile check exit $? after $(( $(date +%s) - start )) s"; grep -vE ": compiled$" "$out/compile.log" | head -20
      ;;
    compile-bg)
      ( cd "$carry/repo" && OUT=/tmp/i4b-compile bash tools/gpu/harness_compile_check.sh > "$out/compile.log" 2>&1; echo "compile check exit $?" >> "$out/compile.log" ) &
      compile_pid=$!
      ;;
    quick)
      chmod +x "$carry/cuda-parity/Hearth.Cuda.Parity"
      "$carry/cuda-parity/Hearth.Cuda.Parity" --i4-only > "$out/i4-quick.log" 2>&1
      rc=$?
      grep -E "^FAIL|passed|i4 timing|^  " "$out/i4-quick.log" | cut -c1-700 | head -60
      echo "quick exit $rc after $(( $(date +%s) - start )) s"
      ;;
    make-bg)
      python3 "$carry/hf_baseline.py" make --dir /tmp/qwen3-14b-random > "$out/make.log" 2>&1 &
      make_pid=$!
      ;;
    bench)
      # BENCH_DEADLINE: skip the bench if the script has already run that many seconds (a device budget guard).
      if [ -n "${BENCH_DEADLINE:-}" ] && [ $(( $(date +%s) - script_start )) -gt "$BENCH_DEADLINE" ]; then
        echo "bench skipped: $(( $(date +%s) - script_start )) s > BENCH_DEADLINE $BENCH_DEADLINE"; continue
      fi
      [ -n "$make_pid" ] && wait "$make_pid" && make_pid=""
      hearth="$carry/hearth/hearth"; chmod +x "$hearth"
      dir=/tmp/qwen3-14b-awq-int4; rm -rf "$dir"; mkdir -p "$dir"
      q0=$(date +%s)
      timeout 150 "$hearth" quantize --model /tmp/qwen3-14b-random --to awq-int4 --out "$dir" > "$out/quantize-14b.log" 2>&1
      echo "== awq-int4: quantize exit $? in $(( $(date +%s) - q0 )) s" | tee -a "$out/bench.log"
      for setting in ${BENCH_SETTINGS:-0 1 0 1}; do
        echo "== HEARTH_CUDA_I4_V2=$setting: hearth bench --prompt-tokens 512 --decode-tokens 128" | tee -a "$out/bench.log"
        HEARTH_CUDA_I4_V2=$setting timeout 100 "$hearth" bench --model "$dir" --device cuda --prompt-tokens 512 --decode-tokens 128 2>&1 | tee -a "$out/bench.log" | grep -E "^decode|rror"
      done
      rm -rf "$dir"
      echo "bench done after $(( $(date +%s) - start )) s"
      ;;
  esac
done
if [ -n "$compile_pid" ]; then wait "$compile_pid"; grep -vE ": compiled$" "$out/compile.log" | head -20; grep -c ": compiled$" "$out/compile.log"; fi
exit $rc
