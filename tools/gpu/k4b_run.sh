#!/usr/bin/env bash
# Issue 8, session 10 (branch k4b): faster compact Q4_K (K4) decode launches. Run ON THE GPU MACHINE:
#   bash <carry>/k4b_run.sh [compile-check-bg] [make-bg] [harness] [compile-check] [quick] [bench]
# carry = the folder holding this script, repo/ (a copy of src/Hearth.Backends/Cuda/Kernels and tools/gpu at the same
# relative paths), and for quick/bench cuda-parity/, hearth/, hf_baseline.py. Logs in $OUT. Stages, in the order given:
#   harness:       nvcc-compiles tools/gpu/k4_harness.cu with the kernels (registers, spills) and runs it: every variant
#                  checked against gemv_k4_stream, then each 14B Q4_K launch and whole layers timed, main against new.
#   compile-check: tools/gpu/harness_compile_check.sh from repo/ (every module for sm_80 and sm_90, every harness);
#                  compile-check-bg runs it in the background (nvcc on the CPUs) and reports at the end.
#   make-bg:       the random Qwen3-14B-shaped model (hf_baseline.py make) in the background; bench waits for it.
#   quick:         the parity runner's --k4b (K4Checks, K4bChecks, G6Checks, GgufMixChecks, SplitKChecks, QuantChecks),
#                  then with QUICK_TIMING=1 --k4b-timing (K4Timing old/new alternated, GgufStepTiming's step A/B).
#   bench:         one gguf-q4_k_m quantize, then hearth bench --prompt-tokens 512 --decode-tokens 128 with
#                  HEARTH_CUDA_K4_NEW=0, =1, =0, =1 (BENCH_ROUNDS pairs, default 1).
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
carry="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/k4b-out}"
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
      cat "$k/common.cu" "$k/kquant4.cuh" "$k/gemv_kquant6.cu" "$k/gemv_kquant4.cu" "$carry/repo/tools/gpu/k4_harness.cu" > /tmp/k4_all.cu
      /usr/local/cuda/bin/nvcc -O3 -arch=sm_90 -std=c++17 -I"$k" -Xptxas -v -o /tmp/k4_h /tmp/k4_all.cu > /tmp/k4_h.build 2>&1
      echo "harness compiled (exit $?) after $(elapsed) s" | tee "$out/harness.log"
      grep -A2 -E "entry function '(gemv_k4)" /tmp/k4_h.build | grep -E "entry|registers|spill" | sed 's/ptxas info    : //' >> "$out/harness.log"
      grep -E "error" /tmp/k4_h.build | head -30 | tee -a "$out/harness.log"
      if [ -x /tmp/k4_h ]; then
        /usr/local/cuda/bin/cuobjdump -sass -fun gemv_k4n_w4d2 /tmp/k4_h > "$out/sass_k4n_w4d2.txt" 2>&1
        /usr/local/cuda/bin/cuobjdump -sass -fun gemv_k4_stream /tmp/k4_h > "$out/sass_k4_stream.txt" 2>&1
        for f in "$out"/sass_*.txt; do echo "$(basename "$f"): $(grep -cE '^\s+/\*[0-9a-f]{4}\*/' "$f") instructions, $(grep -c HMMA "$f") HMMA" | tee -a "$out/harness.log"; done
        timeout "${HARNESS_TIMEOUT:-200}" /tmp/k4_h > "$out/harness-run.log" 2>&1; r=$?
        echo "harness exit $r" | tee -a "$out/harness.log"; [ "$r" -ne 0 ] && rc=$r
      fi
      grep -E "LAYER|best|MISMATCH|checks|variant|main|MB|error|m=[18] main" "$out/harness-run.log" | cut -c1-260
      echo "== harness done after $(elapsed) s"
      ;;
    compile-check)
      ( cd "$carry/repo" && OUT="$out/compile" bash tools/gpu/harness_compile_check.sh ) > "$out/compile-check.log" 2>&1
      r=$?; [ "$r" -ne 0 ] && rc=$r
      grep -vE ": compiled$" "$out/compile-check.log" | head -20
      echo "== compile-check: exit $r ($(grep -c ': compiled$' "$out/compile-check.log") compiled) after $(elapsed) s"
      ;;
    compile-check-bg)   # the same, in the background (CPU only); reported at the end
      ( cd "$carry/repo" && OUT="$out/compile" bash tools/gpu/harness_compile_check.sh > "$out/compile-check.log" 2>&1; echo "exit $?" >> "$out/compile-check.log" ) &
      check_pid=$!
      ;;
    make-bg)
      [ -f "$model/config.json" ] || { python3 "$carry/hf_baseline.py" make --dir "$model" > "$out/make.log" 2>&1 & make_pid=$!; }
      ;;
    quick)
      runner="$carry/cuda-parity/Hearth.Cuda.Parity"; chmod +x "$runner"
      args=(--k4b); [ "${QUICK_TIMING:-0}" = 1 ] && args+=(--k4b-timing)
      timeout "${QUICK_TIMEOUT:-300}" "$runner" "${args[@]}" > "$out/k4b-quick.log" 2>&1
      r=$?; [ "$r" -ne 0 ] && rc=$r
      grep -E "^FAIL|passed, .* failed|^  |^==|timing|step|error|Exception" "$out/k4b-quick.log" | head -120
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
          echo "== bench round $round: HEARTH_CUDA_K4_NEW=$new"
          HEARTH_CUDA_K4_NEW=$new timeout 90 "$hearth" bench --model "$dir/model.gguf" --device cuda --prompt-tokens 512 --decode-tokens 128 2>&1 \
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
