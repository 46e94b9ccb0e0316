#!/usr/bin/env bash
# Fused decode attention and the fp8 KV cache on the GPU machine (branch kvfp8), from the repository root.
# Expects the carried folder C (default .gpucarry-kvfp8) with cuda-parity/, hearth/ and parrot-qwen3/ (tokenizer
# gzipped). Mode "parity": every op check (fp8 and fused decode against the CPU backend included), the parrot
# and HF goldens, fp8 model drift, and decode attention timings (--decode-timing). Mode "bench14b": a random
# Qwen3-14B-shaped model (tools/gpu/hf_baseline.py make) through `hearth bench` with a bf16 and an fp8 KV cache
# at contexts 512 and 32K, printing the KV cache plan. Logs go to $OUT.
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
C="${C:-.gpucarry-kvfp8}"
out="${OUT:-$C/out}"
mkdir -p "$out"
mode="${1:-parity}"
export C OUT="$out"
chmod +x "$C/cuda-parity/Hearth.Cuda.Parity" "$C/hearth/Hearth.Cli" 2>/dev/null || true
model="$C/parrot-qwen3"
if [ -f "$model/tokenizer.json.gz" ] && [ ! -f "$model/tokenizer.json" ]; then
  rm -rf /tmp/parrot-qwen3 && cp -r "$model" /tmp/parrot-qwen3 && gunzip /tmp/parrot-qwen3/tokenizer.json.gz && model=/tmp/parrot-qwen3
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$out/gpu.txt"
case "$mode" in
  parity)
    "$C/cuda-parity/Hearth.Cuda.Parity" --model "$model" --goldens tests/goldens/parity --decode-timing 2>&1 | tee "$out/parity.log"
    exit "${PIPESTATUS[0]}"
    ;;
  bench14b)
    dir=/tmp/qwen3-14b-random
    [ -f "$dir/config.json" ] || python3 "$C/hf_baseline.py" make --dir "$dir" 2>&1 | tail -3
    # (environment, kv dtype, context): the old split+combine kernel (bf16 only), then the defaults (fused, transposed).
    while read -r env kv ctx; do
      echo "== $env hearth bench --kv-cache-dtype $kv --prompt-tokens $ctx" | tee -a "$out/bench.log"
      env $env "$C/hearth/Hearth.Cli" bench --model "$dir" --device cuda --kv-cache-dtype "$kv" --prompt-tokens "$ctx" \
        --decode-tokens 64 --prefill-tokens 0 2>&1 | grep -E "KV |decode |loaded|error" | tee -a "$out/bench.log"
    done <<'LIST'
HEARTH_CUDA_FUSED_DECODE=0 bf16 512
HEARTH_DEFAULTS=1 bf16 512
HEARTH_DEFAULTS=1 fp8 512
HEARTH_CUDA_FUSED_DECODE=0 bf16 32000
HEARTH_DEFAULTS=1 bf16 32000
HEARTH_DEFAULTS=1 fp8 32000
LIST
    ;;
  all)
    bash "$0" parity; rc=$?
    bash "$0" bench14b
    exit $rc
    ;;
esac
