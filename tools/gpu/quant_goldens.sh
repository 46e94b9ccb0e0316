#!/usr/bin/env bash
# Regenerates the quantization goldens (numpy only; any machine with numpy will do, the GPU is not used).
#   bash tools/gpu/quant_goldens.sh "$OUT"
# Writes $OUT/quant/<case>/{config.json,model.safetensors} and $OUT/quant_goldens.log;
# copy $OUT/quant/* to tests/goldens/quant/.
set -euo pipefail

out="${1:?usage: bash tools/gpu/quant_goldens.sh OUT_DIR}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "$out/quant"
export PYTHONDONTWRITEBYTECODE=1
{
  echo "== environment"
  python3 -c 'import sys, numpy; print(sys.version.split()[0], "numpy", numpy.__version__)'
  echo "== goldens"
  python3 "$repo/tools/quant_reference.py" --out "$out/quant"
  echo "== done"
  ls -lR "$out/quant"
} 2>&1 | tee "$out/quant_goldens.log"
