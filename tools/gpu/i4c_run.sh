#!/usr/bin/env bash
# Issue 8, session 11 (branch i4c): the int4 (AWQ g128) decode GEMVs without the all-ones MMA, run ON THE GPU MACHINE:
#   bash <carry>/i4c_run.sh [harness] [compile] [compile-bg] [quick] [quick-short] [make-bg] [bench]
# carry = the folder holding this script and repo/ (a copy of the branch's src/Hearth.Backends/Cuda/Kernels and
# tools/gpu, so that the harnesses compile against this branch's kernels, not the checkout's), and for quick/bench
# cuda-parity/, hearth/, hf_baseline.py. Logs in $OUT (at most 8 files come back: keep to the ones below).
# harness: nvcc-compiles tools/gpu/i4_harness.cu with the kernels (registers and spills, and each kernel's SASS
#   instruction counts by opcode from cuobjdump -sass), checks every variant against gemv_g4_stream and times each 14B
#   launch and whole layers under fixed rules (session 10's, q - z, group sums once a warp), m = 1 and 8.
# compile: tools/gpu/harness_compile_check.sh over repo/ (every module for sm_90 and sm_80, every harness); compile-bg
#   starts it in the background (its result is printed at the end).
# quick: the parity runner's --i4c (I4cChecks, I4Checks, QuantChecks, QuantSiluChecks, GgufMixChecks, SplitKChecks,
#   then I4cTiming: session 10 / session 11 alternated in one process, per launch, per layer and the whole 14B step).
# make-bg / bench: the random 14B model (hf_baseline.py make) in the background; then one awq-int4 quantize and
#   hearth bench --prompt-tokens 512 --decode-tokens 128 with HEARTH_CUDA_I4_V3 = each of BENCH_SETTINGS (default 0 1 0 1).
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
carry="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/i4c-out}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,clocks.max.memory --format=csv,noheader | tee "$out/i4c.log"
script_start=$(date +%s)
rc=0
make_pid=""
compile_pid=""

# Opcode counts of one kernel's SASS: the total, then the most frequent opcodes (modifiers dropped).
sass_counts() {
  /usr/local/cuda/bin/cuobjdump -sass -fun "$1" "$2" 2>/dev/null > /tmp/sass-one.txt
  ops=$(awk '/^[ \t]+\/\*[0-9a-f]+\*\// { op = $2; if (op ~ /^@/) op = $3; sub(/\..*/, "", op); sub(/;$/, "", op); print op }' /tmp/sass-one.txt)
  echo "SASS $1: $(echo "$ops" | grep -c .) instructions: $(echo "$ops" | sort | uniq -c | sort -rn | head -16 | awk '{ printf "%s %s  ", $2, $1 }')"
}

for stage in "$@"; do
  start=$(date +%s)
  case "$stage" in
    harness)
      k="$carry/repo/src/Hearth.Backends/Cuda/Kernels"
      cat "$k/common.cu" "$k/gemv_quant_stream.cu" "$k/gemv_quant_i4.cu" "$carry/repo/tools/gpu/i4_harness.cu" > /tmp/i4_all.cu
      /usr/local/cuda/bin/nvcc -O3 -arch=sm_90 -std=c++17 -I"$k" -Xptxas -v -o /tmp/i4_h /tmp/i4_all.cu > /tmp/i4_h.build 2>&1
      echo "harness compiled (exit $?) after $(( $(date +%s) - start )) s" | tee -a "$out/i4c.log"
      grep -A2 -E "entry function '(i4|gemv_g4_i4|gemv_g4_stream|gemv_silu_g4)" /tmp/i4_h.build | grep -E "entry|registers|spill" \
        | sed 's/ptxas info    : //' | paste - - - | cut -c1-260 | tee -a "$out/i4c.log"
      grep -E "error" /tmp/i4_h.build | head -30 | tee -a "$out/i4c.log"
      for f in gemv_g4_i4_w4l4d3 gemv_g4_i4h_w4l4d3 gemv_g4_i4z_w4l4d3 gemv_g4_i4x_w4l4d3 gemv_g4_i4s_w4l4d3 i4_w4l4d3_noones gemv_g4_i4_w4l4d2 gemv_g4_i4h_w4l4d2 gemv_g4_i4z_w4l4d2 gemv_g4_i4x_w4l4d2; do
        sass_counts "$f" /tmp/i4_h | tee -a "$out/i4c.log"
      done
      ( cd /tmp && /usr/local/cuda/bin/cuobjdump -sass -fun gemv_g4_i4_w4l4d3 i4_h > sass-d3-s10.txt 2>&1
        /usr/local/cuda/bin/cuobjdump -sass -fun gemv_g4_i4z_w4l4d3 i4_h > sass-d3-qz.txt 2>&1
        /usr/local/cuda/bin/cuobjdump -sass -fun gemv_g4_i4h_w4l4d3 i4_h > sass-d3-hx.txt 2>&1
        /usr/local/cuda/bin/cuobjdump -sass -fun gemv_g4_i4x_w4l4d3 i4_h > sass-d3-xp.txt 2>&1
        tar czf "$out/sass.tgz" sass-d3-*.txt )
      # HARNESS_RUN=0: compile and count instructions only (the timings then come from quick's I4cTiming).
      [ "${HARNESS_RUN:-1}" = 1 ] && [ -x /tmp/i4_h ] && timeout "${HARNESS_TIMEOUT:-200}" /tmp/i4_h > "$out/harness-run.log" 2>&1; echo "harness exit $?" | tee -a "$out/i4c.log"
      grep -E "LAYER|best|MISMATCH|checks|variant|MB|error|q-z" "$out/harness-run.log" | cut -c1-400
      echo "harness done after $(( $(date +%s) - start )) s" | tee -a "$out/i4c.log"
      ;;
    compile)
      ( cd "$carry/repo" && OUT=/tmp/i4c-compile bash tools/gpu/harness_compile_check.sh ) > "$out/compile.log" 2>&1
      echo "compile check exit $? after $(( $(date +%s) - start )) s"; grep -vE ": compiled$" "$out/compile.log" | head -20
      ;;
    compile-bg)
      ( cd "$carry/repo" && OUT=/tmp/i4c-compile bash tools/gpu/harness_compile_check.sh > "$out/compile.log" 2>&1; echo "compile check exit $?" >> "$out/compile.log" ) &
      compile_pid=$!
      ;;
    quick)
      chmod +x "$carry/cuda-parity/Hearth.Cuda.Parity"
      timeout "${QUICK_TIMEOUT:-300}" "$carry/cuda-parity/Hearth.Cuda.Parity" --i4c > "$out/quick.log" 2>&1
      rc=$?
      grep -E "^FAIL|passed|i4c timing|^  " "$out/quick.log" | cut -c1-900 | head -60
      echo "quick exit $rc after $(( $(date +%s) - start )) s" | tee -a "$out/i4c.log"
      ;;
    quick-short)
      # The last call of session 11: I4cChecks on the default mode only, then I4cTiming's short order (session 10 / half sums twice).
      chmod +x "$carry/cuda-parity/Hearth.Cuda.Parity"
      timeout "${QUICK_TIMEOUT:-200}" "$carry/cuda-parity/Hearth.Cuda.Parity" --i4c-short > "$out/quick.log" 2>&1
      rc=$?
      grep -E "^FAIL|passed|i4c timing|^  " "$out/quick.log" | cut -c1-900 | head -40
      echo "quick-short exit $rc after $(( $(date +%s) - start )) s" | tee -a "$out/i4c.log"
      ;;
    make-bg)
      python3 "$carry/hf_baseline.py" make --dir /tmp/qwen3-14b-random > /tmp/i4c-make.log 2>&1 &
      make_pid=$!
      ;;
    bench)
      # BENCH_DEADLINE: skip the bench if the script has already run that many seconds (a device budget guard).
      if [ -n "${BENCH_DEADLINE:-}" ] && [ $(( $(date +%s) - script_start )) -gt "$BENCH_DEADLINE" ]; then
        echo "bench skipped: $(( $(date +%s) - script_start )) s > BENCH_DEADLINE $BENCH_DEADLINE" | tee -a "$out/i4c.log"; continue
      fi
      [ -n "$make_pid" ] && { wait "$make_pid"; echo "make exit $?" | tee -a "$out/bench.log"; tail -3 /tmp/i4c-make.log >> "$out/bench.log"; make_pid=""; }
      hearth="$carry/hearth/hearth"; chmod +x "$hearth"
      dir=/tmp/qwen3-14b-awq-int4; rm -rf "$dir"; mkdir -p "$dir"
      q0=$(date +%s)
      timeout 150 "$hearth" quantize --model /tmp/qwen3-14b-random --to awq-int4 --out "$dir" > /tmp/i4c-quantize.log 2>&1
      echo "== awq-int4: quantize exit $? in $(( $(date +%s) - q0 )) s" | tee -a "$out/bench.log"
      tail -3 /tmp/i4c-quantize.log >> "$out/bench.log"
      for setting in ${BENCH_SETTINGS:-0 1 0 1}; do
        echo "== HEARTH_CUDA_I4_V3=$setting: hearth bench --prompt-tokens 512 --decode-tokens 128" | tee -a "$out/bench.log"
        HEARTH_CUDA_I4_V3=$setting timeout 100 "$hearth" bench --model "$dir" --device cuda --prompt-tokens 512 --decode-tokens 128 2>&1 \
          | tee -a "$out/bench.log" | grep -E "^decode|graph|rror"
      done
      rm -rf "$dir"
      echo "bench done after $(( $(date +%s) - start )) s" | tee -a "$out/i4c.log"
      ;;
  esac
done
if [ -n "$compile_pid" ]; then wait "$compile_pid"; grep -vE ": compiled$" "$out/compile.log" | head -20; grep -c ": compiled$" "$out/compile.log"; fi
echo "script done after $(( $(date +%s) - script_start )) s" | tee -a "$out/i4c.log"
exit $rc
