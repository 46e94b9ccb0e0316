#!/usr/bin/env bash
# Issue 8, session 6 (branch q4), run ON THE GPU MACHINE: bash <carry>/q4_run.sh [harness] [parity] [make-bg] [bench]
# (carry = the folder holding this script, qdec_run.sh, kernels/{common,gemv_quant,gemv_quant_stream}.cu,
# qdec_harness.cu, and for parity/bench cuda-parity/, hearth/, parrot-qwen3/, quant_cuda_parity.sh,
# bench_quant_cuda.sh, hf_baseline.py).
# harness: qdec_run.sh's nvcc harness over VARIANTS "warps:loads:ring:minBlocks[:nomath]"; ring 0 = the register
#   stream (QS_REG: load_streaming into two alternating register buffers) instead of the cp.async ring.
# parity: quant_cuda_parity.sh $PARITY_ARGS, by default --silu-timing --quant-timing (every op check incl. QuantSiluChecks, the quantized
#   parrots, then QuantSiluTiming's fused gate|up + SiLU·mul off/on per layer and per decode step, and QuantTiming).
# make-bg / bench: as in qdec_run.sh (FORMATS, MEMORY_CHECK, BUDGET_S for bench_quant_cuda.sh). Logs in $OUT.
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
carry="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/q4-out}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,clocks.max.memory --format=csv,noheader | tee "$out/gpu.txt"
rc=0
make_pid=""
for stage in "$@"; do
  case "$stage" in
    harness)
      OUT="$out" bash "$carry/qdec_run.sh" harness
      ;;
    parity)
      start=$(date +%s)
      OUT="$out" bash "$carry/quant_cuda_parity.sh" ${PARITY_ARGS:---silu-timing --quant-timing} > "$out/parity-stdout.log" 2>&1
      rc=$?
      grep -E "^FAIL|passed|silu|decode step|layer linears|  (awq|fp8|gguf)|took|quantized GEMV" "$out/quant-parity.log" | head -80
      echo "parity exit $rc after $(( $(date +%s) - start )) s"
      ;;
    make-bg)
      python3 "$carry/hf_baseline.py" make --dir /tmp/qwen3-14b-random > "$out/make.log" 2>&1 &
      make_pid=$!
      ;;
    bench)
      [ -n "$make_pid" ] && wait "$make_pid"
      OUT="$out" bash "$carry/bench_quant_cuda.sh"
      ;;
  esac
done
exit $rc
