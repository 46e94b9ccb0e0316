#!/usr/bin/env bash
# Issue 8, session 5 (quantized GEMM and W8A8), run ON THE GPU MACHINE: bash <carry>/gemm_quant_run.sh [harness] [parity] [bench]
# (carry = the folder holding this script, kernels/ (common.cu, gemv_quant.cu, gemm_quant.cu, gemm_quant.cuh, gemm_quant_stage.cuh, fp8_act_quant.cu), gemm_quant_harness.cu,
# gemm_quant_timing.inc, and for parity/bench cuda-parity/, hearth/, parrot-qwen3/, quant_cuda_parity.sh,
# gemm_quant_bench.sh, hf_baseline.py). harness: nvcc builds of the kernels for sm_80 (the W8A8 mma must compile
# away there) and sm_90 (registers, spills), then the nvcc harness: correctness and per-layer µs at the 14B shape.
# parity: the parity runner with the parrot quantized to PARITY_FORMATS (all ops incl. this session's checks,
# the quantized parrots, W8A8 fp8 parrots) and --quant-timing (GEMV and GEMM per layer at the 14B shape).
# bench: gemm_quant_bench.sh (bf16, then FORMATS; fp8 as W8A8 and as W8A16). Logs in $OUT.
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
carry="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/gemm-quant-out}"
mkdir -p "$out"
nvcc=/usr/local/cuda/bin/nvcc
nvidia-smi --query-gpu=name,memory.total,clocks.max.memory --format=csv,noheader | tee "$out/gpu.txt"
rc=0
for stage in "$@"; do
  case "$stage" in
    harness)
      cat "$carry/kernels/common.cu" "$carry/kernels/gemm_quant.cu" "$carry/kernels/fp8_act_quant.cu" > /tmp/gemm_quant_all.cu
      $nvcc -arch=sm_80 -cubin -I"$carry/kernels" -o /tmp/gq80.cubin /tmp/gemm_quant_all.cu 2>&1 | grep -v "Warning: " | head -20
      $nvcc -arch=sm_90 -cubin -Xptxas -v -I"$carry/kernels" -o /tmp/gq90.cubin /tmp/gemm_quant_all.cu 2>&1 | grep -E "error|Compiling|registers|spill" | grep -B1 -A1 "spill\|error" | head -40
      cat "$carry/kernels/common.cu" "$carry/kernels/gemv_quant.cu" "$carry/kernels/gemv_quant_dequant.cu" "$carry/kernels/gemm_quant.cu" "$carry/kernels/fp8_act_quant.cu" "$carry/gemm_quant_harness.cu" > /tmp/gq_harness.cu
      cp "$carry/gemm_quant_timing.inc" /tmp/
      if $nvcc -O3 -std=c++17 -arch=sm_90 -I/tmp -I"$carry/kernels" -o /tmp/gq_harness /tmp/gq_harness.cu -lcublas 2>&1 | grep -v "Warning: " | head -30; [ -x /tmp/gq_harness ]; then
        timeout "${HARNESS_TIMEOUT:-200}" /tmp/gq_harness 2>&1 | tee "$out/harness.log"
        rc=${PIPESTATUS[0]}
        echo "harness exit $rc"
      else
        echo "harness did not compile"; rc=1
      fi
      ;;
    parity)
      # Like quant_cuda_parity.sh, with the parrot quantized to PARITY_FORMATS only (device time): every op check
      # (this session's GEMM and W8A8 ones included), the quantized parrots, and the GEMV/GEMM timings.
      model=/tmp/parrot-qwen3
      rm -rf "$model" && cp -r "$carry/parrot-qwen3" "$model" && { [ ! -f "$model/tokenizer.json.gz" ] || gunzip -f "$model/tokenizer.json.gz"; }
      chmod +x "$carry/cuda-parity/Hearth.Cuda.Parity" "$carry/hearth/hearth" 2>/dev/null
      quant_args=()
      for fmt in ${PARITY_FORMATS:-fp8 awq-int4}; do
        rm -rf "/tmp/parrot-$fmt"
        "$carry/hearth/hearth" quantize --model "$model" --to "$fmt" --out "/tmp/parrot-$fmt" > "$out/quantize-$fmt.log" 2>&1
        echo "quantize $fmt: exit $?"
        cp "$model/cases.json" "/tmp/parrot-$fmt/"
        quant_args+=(--quant "/tmp/parrot-$fmt")
      done
      "$carry/cuda-parity/Hearth.Cuda.Parity" --model "$model" "${quant_args[@]}" --quant-timing > "$out/quant-parity.log" 2>&1
      rc=$?
      grep -E "^FAIL|passed|W8A8|took|^  [a-z]|^    m=" "$out/quant-parity.log" | grep -v "^PASS quant gemm" | head -80
      echo "parity exit $rc"
      ;;
    bench) OUT="$out" bash "$carry/gemm_quant_bench.sh" ;;
  esac
done
exit "$rc"
