#!/usr/bin/env bash
# Quantized weights on CUDA, run ON THE GPU MACHINE: bash <carry>/quant_cuda_parity.sh (carry = the folder holding
# this script, cuda-parity/, hearth/ and parrot-qwen3/). Quantizes the parrot into every format with
# `hearth quantize`, then runs the parity runner: every op (the quantized kernels against the CPU backend on random
# data included), and each quantized model against the CPU backend on the same weights and against its bf16 model
# (KL), plus greedy generation of the 12 cases through the engine. Logs go to $OUT (or <carry>/out).
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
carry="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-$carry/out}"
mkdir -p "$out"
runner="$carry/cuda-parity/Hearth.Cuda.Parity"
hearth="$carry/hearth/hearth"
chmod +x "$runner" "$hearth" 2>/dev/null || true
model=/tmp/parrot-qwen3
rm -rf "$model" && cp -r "$carry/parrot-qwen3" "$model"
[ -f "$model/tokenizer.json.gz" ] && gunzip -f "$model/tokenizer.json.gz"
quant_args=()
for fmt in awq-int4 gptq-int4 fp8 gguf-q4_k_m gguf-q8_0; do
  dir="/tmp/parrot-$fmt"
  rm -rf "$dir"
  if [[ $fmt == gguf-* ]]; then
    mkdir -p "$dir" && "$hearth" quantize --model "$model" --to "$fmt" --out "$dir/model.gguf" > "$out/quantize-$fmt.log" 2>&1
  else
    "$hearth" quantize --model "$model" --to "$fmt" --out "$dir" > "$out/quantize-$fmt.log" 2>&1
  fi
  echo "quantize $fmt: exit $?"
  cp "$model/cases.json" "$dir/"
  quant_args+=(--quant "$dir")
done
"$runner" --model "$model" "${quant_args[@]}" "$@" 2>&1 | tee "$out/quant-parity.log"
rc=${PIPESTATUS[0]}
grep -E "^FAIL" "$out/quant-parity.log" | head -40
echo "exit code: $rc"
exit "$rc"
