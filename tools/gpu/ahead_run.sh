#!/usr/bin/env bash
# Run-ahead decoding, ON THE GPU MACHINE: bash <carry>/ahead_run.sh   (carry = this script, cuda-parity/, hearth/,
# parrot-qwen3/, graph_gap.sh and hf_baseline.py). First the parity runner's --run-ahead checks on the parrot (the
# advance kernel against the host rule; the engine with run-ahead on against off: same tokens, text and finish
# reasons), then graph_gap.sh's `hearth bench` at batch 1 for each of FORMATS (default "fp8 awq-int4") with each of
# VARIANTS (default off, on, off, on), one process each. Logs in $OUT.
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
carry="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/ahead-out}"
mkdir -p "$out"
model="$carry/parrot-qwen3"
if [ -f "$model/tokenizer.json.gz" ] && [ ! -f "$model/tokenizer.json" ]; then
  rm -rf /tmp/parrot-qwen3 && cp -r "$model" /tmp/parrot-qwen3 && gunzip /tmp/parrot-qwen3/tokenizer.json.gz && model=/tmp/parrot-qwen3
fi
runner="$carry/cuda-parity/Hearth.Cuda.Parity"
chmod +x "$runner" "$carry/hearth/hearth" 2>/dev/null || true
rc=0
if [ "${SKIP_CHECKS:-0}" != "1" ]; then
  "$runner" --model "$model" --run-ahead 2>&1 | tee "$out/run-ahead-checks.log" | grep -E "FAIL|passed|run-ahead engine: steps"
  rc=${PIPESTATUS[0]}
fi
FORMATS="${FORMATS:-fp8 awq-int4}" BATCHES="${BATCHES:-1}" \
  VARIANTS="${VARIANTS:-HEARTH_RUN_AHEAD=0 HEARTH_RUN_AHEAD=1 HEARTH_RUN_AHEAD=0 HEARTH_RUN_AHEAD=1}" OUT="$out" bash "$carry/graph_gap.sh"
echo "checks exit code: $rc"
exit $rc
