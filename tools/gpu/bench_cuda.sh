#!/usr/bin/env bash
# CUDA decode/prefill bench on Qwen3-14B's exact shape, run ON THE GPU MACHINE from the repository root.
# Expects the self-contained CLI in .gpucarry/hearth/ (published here with
#   dotnet publish src/Hearth.Cli -c Release -r linux-x64 --self-contained -p:PublishSingleFile=true \
#     -p:EnableCompressionInSingleFile=true -p:PublishTrimmed=true -o <repo>/.gpucarry/hearth
# and this script + hf_baseline.py copied into .gpucarry/). Writes the random model to local disk in /tmp (never
# carried), measures HF transformers eager and torch.compile + static cache, then `hearth bench --device cuda`
# on the same weights (batch 1, a 2048-token prefill, batch 32, 64 concurrent requests), and prints a table. Options: --skip-hf, --skip-compile, --ab (also bench with each speed path
# switched in turn: CUDA graphs, GPU sampling, the GEMV, its split-K, ldmatrix prefill attention). Logs go to $OUT.
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export PYTHONUNBUFFERED=1
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/bench-out}"
mkdir -p "$out"
model=/tmp/qwen3-14b-random
skip_hf=0; skip_compile=""; ab=0
for a in "$@"; do
  case "$a" in
    --skip-hf) skip_hf=1 ;;
    --skip-compile) skip_compile="--skip-compile" ;;
    --ab) ab=1 ;;
  esac
done
# The CLI beside this script (any carried folder), else the default .gpucarry/hearth.
hearth="$here/hearth/hearth"
[ -f "$hearth" ] || hearth="$(dirname "$here")/.gpucarry/hearth/hearth"
[ -f "$hearth" ] || hearth=.gpucarry/hearth/hearth
chmod +x "$hearth" 2>/dev/null || true
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.memory --format=csv | tee "$out/bench-gpu.txt"

python3 "$here/hf_baseline.py" make --dir "$model" 2>&1 | grep -v Warning | tee "$out/bench-make.log"
# Batch 1 and a 2048-token prefill, then 32 requests decoding together, then 64 concurrent requests
# (512 in / 256 out) through the engine thread as a server drives it; one model load for all of it.
"$hearth" bench --model "$model" --device cuda --prompt-tokens 512 --decode-tokens 128 --prefill-tokens 2048 \
  --batch 32 --concurrent 64 --output-tokens 256 2>&1 | tee "$out/bench-hearth.log"
if [ "$ab" -eq 1 ]; then
  # Each speed path switched off in turn, same model and options: what each one is worth.
  # AB_VARIANTS picks a subset, e.g. AB_VARIANTS=HEARTH_CUDA_FUSE_SILU=0; AB_BATCH=32 adds the batch-32 decode.
  for variant in ${AB_VARIANTS:-HEARTH_CUDA_GRAPHS=0 HEARTH_GPU_SAMPLING=0 HEARTH_CUDA_GEMV=0 HEARTH_CUDA_GEMV_SPLITK=0 HEARTH_CUDA_FUSE_SILU=0 HEARTH_CUDA_FLASH_LDMATRIX=0}; do
    echo "== $variant"
    env "$variant" "$hearth" bench --model "$model" --device cuda --prompt-tokens 512 --decode-tokens 128 --prefill-tokens 2048 \
      ${AB_BATCH:+--batch "$AB_BATCH"} 2>&1 \
      | grep -E "^prefill 2048|^decode|warning" | sed "s/^/$variant: /" | tee -a "$out/bench-ab.log"
  done
fi
# HF last, under a time limit, so that a slow torch.compile cannot cost the numbers above.
if [ "$skip_hf" -eq 0 ]; then
  timeout "${HF_TIMEOUT:-300}" python3 "$here/hf_baseline.py" measure --dir "$model" $skip_compile 2>&1 | grep -E '^\{|Error|error' | tee "$out/bench-hf.log"
fi

echo
echo "| what | implementation | result |"
echo "| --- | --- | --- |"
if [ -f "$out/bench-hf.log" ]; then
  python3 - "$out/bench-hf.log" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    if not line.startswith("{"): continue
    r = json.loads(line)
    if "error" in r: print(f"| {r['what']} | {r['impl']} | failed: {r['error']} |"); continue
    if r["what"] == "prefill": print(f"| prefill {r['tokens']} tokens | {r['impl']} | {r['tok_per_s']} tok/s |")
    else: print(f"| decode batch {r.get('batch', 1)}, context {r['context']} | {r['impl']} | {r['tok_per_s']} tok/s ({r['ms_per_token']} ms/step) |")
PY
fi
grep -E "^prefill 2048|^decode|^roofline|^bandwidth|^concurrent" "$out/bench-hearth.log" | sed 's/^/| hearth --device cuda | /; s/$/ |/'
