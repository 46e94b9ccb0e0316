#!/usr/bin/env bash
# Issue 8, session 11 (branch g6d): the G6 (compact Q6_K) decode kernels and the K4 gate|up stream. Run ON THE GPU MACHINE:
#   bash <carry>/g6d_run.sh [compile-check-bg] [make-bg] [harness] [quick] [bench]
# carry = the folder holding this script, repo/ (a copy of src/Hearth.Backends/Cuda/Kernels and tools/gpu at the same
# relative paths), and for quick/bench cuda-parity/, hearth/, hf_baseline.py. Logs in $OUT. Stages, in the order given:
#   harness:       nvcc-compiles tools/gpu/k4_harness.cu with the kernels (registers, spills, SASS opcode counts of the
#                  old and new kernels) and runs it: every variant checked bit for bit, then each 14B launch timed.
#   compile-check-bg: tools/gpu/harness_compile_check.sh from repo/ (every module for sm_80 and sm_90, every harness) in
#                  the background (nvcc on the CPUs), reported at the end.
#   make-bg:       the random Qwen3-14B-shaped model (hf_baseline.py make) in the background; bench waits for it.
#   quick:         the parity runner's --g6d (G6dChecks, K4bChecks, G6Checks, K4Checks, GgufMixChecks, SplitKChecks,
#                  QuantChecks), then with QUICK_TIMING=1 --g6d-timing (G6dTiming: per op and the whole step, session 10's
#                  kernels against this session's, alternated in one process).
#   bench:         one gguf-q4_k_m quantize, then hearth bench --prompt-tokens 512 --decode-tokens 128 with
#                  HEARTH_CUDA_G6_NEW=0, then =1 (BENCH_ROUNDS pairs, default 1).
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
carry="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/g6d-out}"
mkdir -p "$out"
begin=$(date +%s)
nvidia-smi --query-gpu=name,memory.total,clocks.max.memory --format=csv,noheader | tee "$out/gpu.txt"
elapsed() { echo $(( $(date +%s) - begin )); }
rc=0
make_pid=""
model=/tmp/qwen3-14b-random
for stage in "$@"; do
  case "$stage" in
    harness)
      k="$carry/repo/src/Hearth.Backends/Cuda/Kernels"
      cat "$k/common.cu" "$k/kquant4.cuh" "$k/gemv_kquant6.cu" "$k/gemv_kquant4.cu" "$carry/repo/tools/gpu/k4_harness.cu" > /tmp/g6d_all.cu
      /usr/local/cuda/bin/nvcc -O3 -arch=sm_90 -std=c++17 -I"$k" -Xptxas -v -o /tmp/g6d_h /tmp/g6d_all.cu > /tmp/g6d_h.build 2>&1
      echo "harness compiled (exit $?) after $(elapsed) s" | tee "$out/harness.log"
      grep -A2 -E "entry function '(gemv_g6|gemv_k4n_w4d2|gemv_k4m|gemv_silu_k4|h_)" /tmp/g6d_h.build | grep -E "entry|registers|spill" | sed 's/ptxas info    : //' >> "$out/harness.log"
      grep -E "error" /tmp/g6d_h.build | head -30 | tee -a "$out/harness.log"
      if [ -x /tmp/g6d_h ]; then
        : > "$out/sass_counts.txt"
        for fn in gemv_g6_stream gemv_g6_stream_fast gemv_g6_stream_w8 gemv_g6m_w4d3 h_g6m_w4d3_c1 gemv_k4g6_stream_fast gemv_k4g6_stream_fast_g6f \
                  gemv_k4n_w4d2 gemv_k4m_w4d3 h_k4m_w4d3_c1 gemv_silu_k4_stream_fast; do
          /usr/local/cuda/bin/cuobjdump -sass -fun "$fn" /tmp/g6d_h > /tmp/sass_$fn.txt 2>&1
          ops=$(grep -E '^\s+/\*[0-9a-f]{4}\*/' /tmp/sass_$fn.txt | sed -E 's#^\s+/\*[0-9a-f]+\*/\s+(@!?U?P[0-9T] )?##' | awk '{split($1, a, "."); print a[1]}' | sort | uniq -c | sort -rn)
          total=$(echo "$ops" | awk '{s += $1} END {print s}')
          echo "$fn: $total instructions; $(echo "$ops" | grep -wE 'LOP3|SHF|I2F|I2FP|PRMT|FFMA|FADD|HMMA|HFMA2|LDG|IMAD|IADD3|CS2R|MOV|F2FP|SEL' | awk '{printf "%s %s, ", $2, $1}')" | tee -a "$out/sass_counts.txt"
        done
        cp /tmp/sass_gemv_g6_stream_fast.txt "$out/sass_g6_stream_fast.txt"
        timeout "${HARNESS_TIMEOUT:-200}" /tmp/g6d_h > "$out/harness-run.log" 2>&1; r=$?
        echo "harness exit $r" | tee -a "$out/harness.log"; [ "$r" -ne 0 ] && rc=$r
      fi
      grep -E "LAYER|MISMATCH|checks|kernel |MB|balanced|error| r[01] \|" "$out/harness-run.log" | cut -c1-300
      echo "== harness done after $(elapsed) s"
      ;;
    compile-check-bg)
      ( cd "$carry/repo" && OUT="$out/compile" bash tools/gpu/harness_compile_check.sh > "$out/compile-check.log" 2>&1; echo "exit $?" >> "$out/compile-check.log" ) &
      check_pid=$!
      ;;
    make-bg)
      [ -f "$model/config.json" ] || { python3 "$carry/hf_baseline.py" make --dir "$model" > "$out/make.log" 2>&1 & make_pid=$!; }
      ;;
    quick)
      runner="$carry/cuda-parity/Hearth.Cuda.Parity"; chmod +x "$runner"
      args=(--g6d); [ "${QUICK_TIMING:-0}" = 1 ] && args+=(--g6d-timing)
      timeout "${QUICK_TIMEOUT:-300}" "$runner" "${args[@]}" > "$out/g6d-quick.log" 2>&1
      r=$?; [ "$r" -ne 0 ] && rc=$r
      grep -E "^FAIL|passed, .* failed|^  |^==|timing|step|error|Exception" "$out/g6d-quick.log" | head -150
      echo "== quick: exit $r after $(elapsed) s"
      ;;
    bench)
      [ -n "$make_pid" ] && { wait "$make_pid"; make_pid=""; tail -2 "$out/make.log"; }
      hearth="$carry/hearth/hearth"; chmod +x "$hearth"
      dir=/tmp/qwen3-14b-gguf; rm -rf "$dir"; mkdir -p "$dir"
      q0=$(date +%s)
      timeout 150 "$hearth" quantize --model "$model" --to gguf-q4_k_m --out "$dir/model.gguf" > "$out/quantize.log" 2>&1
      echo "== quantize: exit $? in $(( $(date +%s) - q0 )) s"
      for round in $(seq 1 "${BENCH_ROUNDS:-1}"); do
        for new in 0 1; do
          [ "$(elapsed)" -lt "${BENCH_MAX_ELAPSED:-100000}" ] || { echo "== bench: out of time"; break 2; }
          echo "== bench round $round: HEARTH_CUDA_G6_NEW=$new"
          HEARTH_CUDA_G6_NEW=$new timeout 90 "$hearth" bench --model "$dir/model.gguf" --device cuda --prompt-tokens 512 --decode-tokens 128 2>&1 \
            | tee "$out/bench-new$new-r$round.log" | grep -E "^decode|graph|replay|weights on the GPU|slower|roofline|copy"
        done
      done
      echo "== bench: after $(elapsed) s"
      ;;
    *) echo "unknown stage $stage"; rc=2 ;;
  esac
done
[ -n "$make_pid" ] && wait "$make_pid"
if [ -n "${check_pid:-}" ]; then
  wait "$check_pid"
  grep -vE ": compiled$" "$out/compile-check.log" | head -20
  echo "== compile-check (background): $(grep -c ': compiled$' "$out/compile-check.log") compiled, $(grep -c ': FAILED$' "$out/compile-check.log") failed"
  grep -q ': FAILED$' "$out/compile-check.log" && rc=1
fi
echo "== done after $(elapsed) s, exit $rc"
exit "$rc"
