#!/usr/bin/env bash
# Everything the CUDA backend is checked and measured with, ON THE GPU MACHINE, from the repository root:
# the parity suite (every op against the CPU reference, the parrot cases through the engine, the HF goldens,
# a cold then a warm kernel cache), `hearth generate --device cuda` on the parrot, then the 14B-shape bench
# against HF transformers. Needs in .gpucarry/: cuda-parity/, hearth/, parrot-qwen3/ and these scripts
# (see docs/cuda.md). Bench options (--skip-hf, --skip-compile, --ab) are passed through.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
out="${OUT:-/tmp/gpu-out}"
mkdir -p "$out"
bash "$here/cuda_parity.sh" > "$out/parity-all.log" 2>&1
parity=$?
grep -E "^FAIL|passed,|kernel modules|exit codes" "$out/parity-all.log"
# The CLI and parrot beside this script (any carried folder), else the default .gpucarry/.
model="$here/parrot-qwen3"; [ -d "$model" ] || model=.gpucarry/parrot-qwen3
[ -f "$model/tokenizer.json" ] || model=/tmp/parrot-qwen3
hearth="$here/hearth/hearth"; [ -f "$hearth" ] || hearth=.gpucarry/hearth/hearth
chmod +x "$hearth" 2>/dev/null || true
"$hearth" generate --model "$model" --device cuda --chat --prompt "What is the capital of France?" --max-tokens 64 \
  2>&1 | tee "$out/generate.log"
bash "$here/bench_cuda.sh" "$@"
echo "parity exit code: $parity"
exit $parity
