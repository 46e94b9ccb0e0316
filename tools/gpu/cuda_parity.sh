#!/usr/bin/env bash
# CUDA backend parity, run ON THE GPU MACHINE from the repository root (see docs/cuda.md).
# Expects the self-contained runner in .gpucarry/cuda-parity/ and the parrot model in .gpucarry/parrot-qwen3/
# (publish and copy them here first; .gpucarry/ is carried, not committed). Runs the parity runner twice: the
# first start compiles every kernel module with NVRTC, the second must load them all from the disk cache.
# Run 1 adds the kernel timings at Qwen3-14B's shapes (--baseline). Extra arguments go to the runner. Logs are tee'd into $OUT (or .gpucarry/out when OUT is unset).
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
out="${OUT:-.gpucarry/out}"
mkdir -p "$out"
here="$(cd "$(dirname "$0")" && pwd)"
# The runner and parrot beside this script (any carried folder), else the default .gpucarry/.
runner="$here/cuda-parity/Hearth.Cuda.Parity"; [ -f "$runner" ] || runner=.gpucarry/cuda-parity/Hearth.Cuda.Parity
model="$here/parrot-qwen3"; [ -d "$model" ] || model=.gpucarry/parrot-qwen3
chmod +x "$runner" 2>/dev/null || true
# The tokenizer may travel gzipped (the carried folder is size-limited): unpack a copy on local disk.
if [ -f "$model/tokenizer.json.gz" ] && [ ! -f "$model/tokenizer.json" ]; then
  rm -rf /tmp/parrot-qwen3 && cp -r "$model" /tmp/parrot-qwen3 && gunzip /tmp/parrot-qwen3/tokenizer.json.gz && model=/tmp/parrot-qwen3
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$out/gpu.txt"

echo "== run 1 (cold kernel cache)"
baseline=--baseline; [ "${PARITY_NO_BASELINE:-0}" = "1" ] && baseline=""   # the kernel timings take a while
"$runner" --model "$model" --goldens tests/goldens/parity $baseline "$@" 2>&1 | tee "$out/parity-run1.log"
rc1=${PIPESTATUS[0]}
rc2=0
if [ "${PARITY_ONCE:-0}" != "1" ]; then   # PARITY_ONCE=1 skips the warm-cache rerun when device time is short
  echo "== run 2 (warm kernel cache: expect 0 compiled)"
  "$runner" --model "$model" --goldens tests/goldens/parity "$@" 2>&1 | tee "$out/parity-run2.log"
  rc2=${PIPESTATUS[0]}
fi
grep -h "kernel modules" "$out"/parity-run*.log
echo "exit codes: run 1 = $rc1, run 2 = $rc2"
[ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ]
