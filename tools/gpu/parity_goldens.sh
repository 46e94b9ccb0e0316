#!/usr/bin/env bash
# Regenerates the HF transformers parity goldens on the GPU machine (python3 + torch + transformers, no .NET).
#   bash tools/gpu/parity_goldens.sh "$OUT"
# Writes $OUT/parity/<shape>.json and $OUT/parity_goldens.log; copy the JSON files to tests/goldens/parity/.
# Runs on the CPU too (slower) when no CUDA device is present.
set -euo pipefail

out="${1:?usage: bash tools/gpu/parity_goldens.sh OUT_DIR}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "$out/parity"
log="$out/parity_goldens.log"
export PYTHONUNBUFFERED=1
export CUBLAS_WORKSPACE_CONFIG=:4096:8
export PYTHONDONTWRITEBYTECODE=1

{
  echo "== environment"
  python3 -c 'import sys, numpy, torch, transformers; print(sys.version.split()[0], "numpy", numpy.__version__, "torch", torch.__version__, "transformers", transformers.__version__, "cuda", torch.cuda.is_available())'
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
  echo "== tool self-tests"
  python3 "$repo/tools/test_tools.py"
  echo "== goldens"
  python3 "$repo/tools/make_parity_goldens.py" --out "$out/parity" "${@:2}"
  echo "== done"
  ls -l "$out/parity"
} 2>&1 | tee "$log"
