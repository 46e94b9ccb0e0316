#!/bin/bash
# Decode tok/s of bf16, GGUF Q8_0 and GGUF Q4_K_M on Qwen3-0.6B's shape (random weights), hearth bench.
set -e
# Run from a folder holding hearth.xz (a self-contained `dotnet publish` of src/Hearth.Cli, xz-compressed).
cd "$(dirname "$0")"
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 HEARTH_CACHE=/tmp/hc
xz -dc hearth.xz > /tmp/hearth && chmod +x /tmp/hearth
nproc; grep -m1 "model name" /proc/cpuinfo
for t in 16 4; do /tmp/hearth bench --threads $t --prompt-tokens 32 --decode-tokens 64 | grep -E "model|threads|bandwidth|prefill|decode"; done
M=$(ls -d /tmp/hc/synthetic/qwen3-0.6b-*)
/tmp/hearth quantize --model $M --to gguf-q8_0 --out /tmp/q8.gguf 2>&1 | tail -1
/tmp/hearth quantize --model $M --to gguf-q4_k_m --out /tmp/q4.gguf 2>&1 | tail -1
ls -la /tmp/*.gguf
for f in /tmp/q8.gguf /tmp/q4.gguf; do for t in 16 4; do /tmp/hearth bench --model $f --threads $t --prompt-tokens 32 --decode-tokens 64 | grep -E "model|threads|bandwidth|prefill|decode"; done; done
