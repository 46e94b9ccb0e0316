#!/usr/bin/env bash
# Session 8 (coordinator): weight prefetch into L2 and the PDL trigger order, ON THE GPU MACHINE:
#   bash <carry>/l2p_run.sh     (carry = the folder holding this script, hearth/, cuda-parity/, parrot-qwen3/,
#                                cuda_parity.sh, graph_gap.sh, hf_baseline.py)
# 1. bf16 parity (every op, the parrot through the engine, PDL on/off/graph) on the changed kernels, once.
# 2. Batch-1 decode A/B for FORMATS (default "fp8 awq-int4") over VARIANTS with graph_gap.sh.
set -uo pipefail
carry="$(cd "$(dirname "$0")" && pwd)"
export OUT="${OUT:-/tmp/l2p-out}"
mkdir -p "$OUT"
if [ "${SKIP_PARITY:-0}" != "1" ]; then
  PARITY_ONCE=1 PARITY_NO_BASELINE=1 bash "$carry/cuda_parity.sh" ${PARITY_ARGS:-} > "$OUT/parity.log" 2>&1
  echo "parity exit $?"; grep -E "passed|failed|FAIL" "$OUT/parity.log" | tail -5
fi
FORMATS="${FORMATS:-fp8 awq-int4}" BATCHES="${BATCHES:-1}" \
  VARIANTS="${VARIANTS:-HEARTH_CUDA_L2_PREFETCH=0 HEARTH_CUDA_L2_PREFETCH=1 HEARTH_CUDA_L2_PREFETCH=1,HEARTH_CUDA_KERNEL_DEFINES=HEARTH_PDL_EARLY_TRIGGER=1}" \
  bash "$carry/graph_gap.sh"
