#!/usr/bin/env bash
# Issues 6 and 8, session 6, run ON THE GPU MACHINE: bash <carry>/pdl_run.sh [header] [harness] [parity] [make-bg] [bench]
# (carry = the folder holding this script, kernels/{common,gemv_quant,gemv_quant_stream}.cu, qdec_harness.cu, qdec_run.sh, and
# for parity/bench cuda-parity/, hearth/, parrot-qwen3/, quant_cuda_parity.sh, bench_quant_cuda.sh, hf_baseline.py).
# header: prints cuda.h's CUlaunchConfig / CUlaunchAttribute declarations and the attribute's enum value, which
#   Interop/CuLaunch.cs mirrors. harness: qdec_run.sh's (VARIANTS "warps:loads:ring:minBlocks"): streaming vs 16-column check,
#   then µs a 14B layer for the 16-column kernel, the streaming one, and the streaming one with PDL launches.
# parity: quant_cuda_parity.sh --pdl-timing --quant-timing (every op incl. PdlChecks, the quantized parrots, then
#   PdlTiming's whole-step PDL off/on and QuantTiming's per-layer GEMV). make-bg/bench: as in qdec_run.sh.
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
carry="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/pdl-out}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,clocks.max.memory --format=csv,noheader | tee "$out/gpu.txt"
rc=0
make_pid=""
for stage in "$@"; do
  case "$stage" in
    header)
      h=/usr/local/cuda/include/cuda.h
      grep -n "CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION *=" "$h" | tee "$out/header.log"
      awk '/typedef struct CUlaunchConfig_st/,/} CUlaunchConfig;/' "$h" | grep -v "^ *\*\|/\*\*" | tee -a "$out/header.log"
      awk '/typedef struct CUlaunchAttribute_st/,/} CUlaunchAttribute;/' "$h" | grep -v "^ *\*\|/\*\*" | tee -a "$out/header.log"
      grep -n "char pad\[64\]" "$h" | head -3 | tee -a "$out/header.log"
      ;;
    harness)
      OUT="$out" bash "$carry/qdec_run.sh" harness   # VARIANTS as there: warps:loads:ring:minBlocks[:nomath]
      ;;
    parity)
      OUT="$out" bash "$carry/quant_cuda_parity.sh" --pdl-timing --quant-timing > "$out/parity-stdout.log" 2>&1
      rc=$?
      grep -E "^FAIL|passed|PDL|pdl|decode step|  (bf16|awq|fp8|gguf)|took|quantized GEMV|kernel modules" "$out/quant-parity.log" | head -80
      echo "parity exit $rc"
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
