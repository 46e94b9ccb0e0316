#!/usr/bin/env bash
# Session 9: the quantized 14B batch-1 decode step (parity runner --ablation-timing) with HEARTH_PDL_EARLY_TRIGGER
# masks (common.cu: 1 norms, 2 q/k norm + RoPE, 4 decode attention, 8 other entry kernels), one process per mask.
# MASKS="0 1 4 5 7" (default) and ABLATE=1 (also the full ablation at mask 0). Run from the repository root of the
# carried checkout on the GPU machine: bash .gpucarry/pdl_mask_run.sh
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
here="$(cd "$(dirname "$0")" && pwd)"
runner="$here/cuda-parity/Hearth.Cuda.Parity"
chmod +x "$runner" 2>/dev/null || true
if [ "${ABLATE:-0}" = "1" ]; then "$runner" --ablation-timing 2>&1 | grep -v "^compil"; fi
for mask in ${MASKS:-0 1 4 5 7}; do
  echo "== HEARTH_PDL_EARLY_TRIGGER=$mask"
  HEARTH_ABLATION_FULL_ONLY=1 HEARTH_CUDA_KERNEL_DEFINES="HEARTH_PDL_EARLY_TRIGGER=$mask" "$runner" --ablation-timing 2>&1 | grep -E "full|error|rror"
done
