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
# make-bg / bench: the random 14B model (hf_baseline.py make) in the background; then one awq-int4 quantize and two
#   hearth bench runs: HEARTH_CUDA_I4_NEW=0 (batch-1 decode), then the new path with bench_quant_cuda.sh's flags.
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
      # One quantize of the random 14B model, then hearth bench with HEARTH_CUDA_I4_NEW=0 (batch-1 decode only), then
      # with the new path: bench_quant_cuda.sh's bench command (decode at batch 1, prefill 2048, batch-32 decode).
      [ -n "$make_pid" ] && wait "$make_pid" && make_pid=""
      hearth="$carry/hearth/hearth"; chmod +x "$hearth"
      dir=/tmp/qwen3-14b-awq-int4; rm -rf "$dir"; mkdir -p "$dir"
      q0=$(date +%s)
      timeout 150 "$hearth" quantize --model /tmp/qwen3-14b-random --to awq-int4 --out "$dir" > "$out/quantize-14b.log" 2>&1
      echo "== awq-int4: quantize exit $? in $(( $(date +%s) - q0 )) s" | tee -a "$out/bench.log"
      echo "== HEARTH_CUDA_I4_NEW=0: hearth bench --prompt-tokens 512 --decode-tokens 128" | tee -a "$out/bench.log"
      HEARTH_CUDA_I4_NEW=0 timeout 100 "$hearth" bench --model "$dir" --device cuda --prompt-tokens 512 --decode-tokens 128 2>&1 | tee -a "$out/bench.log" | grep -E "^decode|^prefill|rror"
      echo "== new: hearth bench --prompt-tokens 512 --decode-tokens 128 --prefill-tokens 2048 --batch 32" | tee -a "$out/bench.log"
      timeout 150 "$hearth" bench --model "$dir" --device cuda --prompt-tokens 512 --decode-tokens 128 --prefill-tokens 2048 --batch 32 2>&1 | tee -a "$out/bench.log" | grep -E "^decode|^prefill|rror"
      rm -rf "$dir"
      echo "bench done after $(( $(date +%s) - start )) s"
      ;;
  esac
done
exit $rc
