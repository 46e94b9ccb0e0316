#!/usr/bin/env bash
# Issue 8, session 8 (branch splitk): split k in the quantized decode GEMVs, run ON THE GPU MACHINE:
#   bash <carry>/splitk_run.sh [harness] [parity] [quick] [make-bg] [bench]
# (carry = the folder holding this script, kernels/{common,gemv_quant_stream,gemv_quant_wide}.cu and quant_splitk.cuh, splitk_harness.cu,
# and for parity/bench cuda-parity/, hearth/, parrot-qwen3/, quant_cuda_parity.sh, bench_quant_cuda.sh, hf_baseline.py).
# harness: nvcc-compiles splitk_harness.cu with the kernels (registers and spills printed), checks split = unsplit and
#   times splits 1-4 per 14B linear and per layer for int4, fp8 and Q4_K/Q6_K at m = 1 and 8.
# parity: quant_cuda_parity.sh $PARITY_ARGS (default --ops-only --splitk-timing: every op check incl. SplitKChecks,
#   then SplitKTiming's split off/on per linear and per layer in one process).
# quick: the split-k checks and SplitKTiming alone (parity runner --splitk-only).
# make-bg / bench: the random 14B model in the background, then per format of FORMATS one quantize and two decode
#   benches at batch 1, new defaults and HEARTH_CUDA_QUANT_SPLITK=0 HEARTH_CUDA_QUANT_PREFETCH=0. Logs in $OUT.
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
carry="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/splitk-out}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,clocks.max.memory --format=csv,noheader | tee "$out/gpu.txt"
rc=0
make_pid=""
for stage in "$@"; do
  start=$(date +%s)
  case "$stage" in
    harness)
      k="$carry/kernels"
      cat "$k/common.cu" "$k/gemv_quant_stream.cu" "$k/gemv_quant_wide.cu" "$carry/splitk_harness.cu" > /tmp/splitk_all.cu
      /usr/local/cuda/bin/nvcc -O3 -arch=sm_90 -std=c++17 -I"$k" -Xptxas -v -o /tmp/splitk_h /tmp/splitk_all.cu > /tmp/splitk_h.build 2>&1
      echo "harness compiled (exit $?) after $(( $(date +%s) - start )) s" | tee -a "$out/harness.log"
      grep -A2 "entry function 'gemv_" /tmp/splitk_h.build | grep -E "entry|registers|spill" | sed 's/ptxas info    : //' >> "$out/harness.log"
      grep -E "error|warning" /tmp/splitk_h.build | head -30 | tee -a "$out/harness.log"
      [ -x /tmp/splitk_h ] && timeout 150 /tmp/splitk_h > "$out/harness-full.log" 2>&1; echo "full mode exit $?" | tee -a "$out/harness.log"
      grep -E "LAYER|best|MISMATCH|worst|smaller|==" "$out/harness-full.log" | cut -c1-250 | tee -a "$out/harness.log"
      [ -x /tmp/splitk_h ] && HARNESS_MODE=pf PREFETCH="${PREFETCH:-0 16 64 256 100000}" timeout 150 /tmp/splitk_h > "$out/harness-pf.log" 2>&1
      echo "pf mode exit $?" | tee -a "$out/harness.log"
      grep -E "LAYER|==|s1" "$out/harness-pf.log" | cut -c1-200 | tee -a "$out/harness.log"
      echo "harness done after $(( $(date +%s) - start )) s" | tee -a "$out/harness.log"
      ;;
    parity)
      OUT="$out" bash "$carry/quant_cuda_parity.sh" ${PARITY_ARGS:---ops-only --splitk-timing} > "$out/parity-stdout.log" 2>&1
      rc=$?
      grep -E "^FAIL|passed|split|took|kernel modules" "$out/quant-parity.log" | grep -v "^PASS" | head -80
      echo "parity exit $rc after $(( $(date +%s) - start )) s"
      ;;
    make-bg)
      python3 "$carry/hf_baseline.py" make --dir /tmp/qwen3-14b-random > "$out/make.log" 2>&1 &
      make_pid=$!
      ;;
    quick)
      # The split-k checks and SplitKTiming only (no op checks, no model): the parity runner's --splitk-only.
      chmod +x "$carry/cuda-parity/Hearth.Cuda.Parity"
      "$carry/cuda-parity/Hearth.Cuda.Parity" --splitk-only > "$out/splitk-quick.log" 2>&1
      rc=$?
      grep -E "^FAIL|passed|split-k timing|^  (14B|4B)" "$out/splitk-quick.log" | head -60
      echo "quick exit $rc after $(( $(date +%s) - start )) s"
      ;;
    bench)
      # Decode at batch 1 (bench_quant_cuda.sh's prompt and decode lengths, no prefill or batch-32 runs) for each of
      # FORMATS, quantized once: new defaults, then HEARTH_CUDA_QUANT_SPLITK=0 HEARTH_CUDA_QUANT_PREFETCH=0 (the
      # pre-session-8 launches); no new format after BENCH_BUDGET_S seconds of the stage.
      [ -n "$make_pid" ] && wait "$make_pid" && make_pid=""
      hearth="$carry/hearth/hearth"; chmod +x "$hearth"
      for fmt in ${FORMATS:-fp8 awq-int4 gguf-q4_k_m}; do
        if [ $(( $(date +%s) - start )) -gt "${BENCH_BUDGET_S:-150}" ]; then echo "== $fmt: skipped (time budget)" | tee -a "$out/bench.log"; continue; fi
        dir="/tmp/qwen3-14b-$fmt"; rm -rf "$dir"; mkdir -p "$dir"
        target="$dir"; [[ $fmt == gguf-* ]] && target="$dir/model.gguf"
        q0=$(date +%s)
        timeout 120 "$hearth" quantize --model /tmp/qwen3-14b-random --to "$fmt" --out "$target" > "$out/quantize-14b-$fmt.log" 2>&1
        echo "== $fmt: quantize exit $? in $(( $(date +%s) - q0 )) s" | tee -a "$out/bench.log"
        for mode in on off; do
          if [ $mode = on ]; then env=(); else env=(HEARTH_CUDA_QUANT_SPLITK=0 HEARTH_CUDA_QUANT_PREFETCH=0); fi
          echo "== $fmt split-k/prefetch $mode" | tee -a "$out/bench.log"
          env "${env[@]}" timeout 90 "$hearth" bench --model "$target" --device cuda --prompt-tokens 512 --decode-tokens 128 \
            > "$out/bench-$fmt-$mode.log" 2>&1
          grep -iE "decode|tok/s|error|exception" "$out/bench-$fmt-$mode.log" | head -6 | tee -a "$out/bench.log"
        done
        rm -rf "$dir"
      done
      echo "bench done after $(( $(date +%s) - start )) s"
      ;;
  esac
done
exit $rc
