#!/usr/bin/env bash
# Issue 8, session 9 (branch k4): GGUF Q4_K in its compact GPU layout (K4). Run ON THE GPU MACHINE:
#   bash <carry>/k4_run.sh [make-bg] [quick] [parity] [bench]
# (carry = the folder holding this script, cuda-parity/, hearth/, parrot-qwen3/, quant_cuda_parity.sh,
# bench_quant_cuda.sh, hf_baseline.py). Stages, in the order given:
#   make-bg: writes the random Qwen3-14B-shaped model (hf_baseline.py make) in the background; bench waits for it.
#   quick:   the parity runner's --k4: G6Checks and GgufMixChecks with Q4_K on G4 (the --q6c checks), then K4Checks (every
#            kernel on the compact Q4_K layout against the CPU's Q4_K); with QUICK_TIMING=1 then K4Timing (Q4_K ops G4
#            against K4 and the whole Q4_K_M step with each).
#   parity:  (skipped when an earlier stage failed, unless PARITY_ANYWAY=1) quant_cuda_parity.sh --k4-timing (every op check
#            incl. K4Checks, the quantized parrots, the engine cases, then K4Timing; PARITY_ARGS="" leaves the timing out).
#   bench:   FORMATS=gguf-q4_k_m SKIP_BF16=1 MEMORY_CHECK=0 bench_quant_cuda.sh (batch 1, prefill 2048, batch 32; GPU weight
#            bytes), then (AB=1, and only before AB_MAX_ELAPSED seconds) batch 1 with HEARTH_CUDA_Q4K_COMPACT=0 (the G4 repack)
#            and =1 for the A/B. PARITY_TIMEOUT limits the parity stage. Skipped when an
#            earlier stage failed (BENCH_ANYWAY=1 runs it all the same).
# Logs in $OUT.
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
carry="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/k4-out}"
mkdir -p "$out"
begin=$(date +%s)
nvidia-smi --query-gpu=name,memory.total,clocks.max.memory --format=csv,noheader | tee "$out/gpu.txt"
runner="$carry/cuda-parity/Hearth.Cuda.Parity"
hearth="$carry/hearth/hearth"
chmod +x "$runner" "$hearth" 2>/dev/null || true
model=/tmp/qwen3-14b-random
rc=0
make_pid=""
elapsed() { echo $(( $(date +%s) - begin )); }
wait_model() { if [ -n "$make_pid" ]; then wait "$make_pid"; make_pid=""; tail -2 "$out/make.log"; fi; }
for stage in "$@"; do
  case "$stage" in
    make-bg)
      [ -f "$model/config.json" ] || { python3 "$carry/hf_baseline.py" make --dir "$model" > "$out/make.log" 2>&1 & make_pid=$!; }
      ;;
    quick)
      quick_args=(--k4); [ "${QUICK_TIMING:-0}" = 1 ] && quick_args+=(--k4-timing)
      timeout "${QUICK_TIMEOUT:-240}" "$runner" "${quick_args[@]}" > "$out/k4-quick.log" 2>&1
      r=$?; [ "$r" -ne 0 ] && rc=$r
      grep -E "^FAIL|passed, .* failed|^  |^==|^Q4_K|layout bytes|kernel modules|error|Exception" "$out/k4-quick.log" | head -100
      echo "== quick: exit $r after $(elapsed) s"
      ;;
    parity)
      if [ "$rc" -ne 0 ] && [ "${PARITY_ANYWAY:-0}" != 1 ]; then echo "== parity: skipped (rc $rc)"; continue; fi
      OUT="$out" timeout "${PARITY_TIMEOUT:-900}" bash "$carry/quant_cuda_parity.sh" ${PARITY_ARGS---k4-timing} > "$out/parity-console.log" 2>&1
      r=$?; [ "$r" -ne 0 ] && rc=$r
      grep -E "^FAIL|passed, .* failed|took|^  |^==|layout bytes" "$out/quant-parity.log" | head -100
      echo "== parity: exit $r after $(elapsed) s"
      ;;
    bench)
      if [ "$rc" -ne 0 ] && [ "${BENCH_ANYWAY:-0}" != 1 ]; then echo "== bench: skipped (rc $rc)"; continue; fi
      wait_model
      FORMATS=gguf-q4_k_m SKIP_BF16=1 MEMORY_CHECK=0 OUT="$out" bash "$carry/bench_quant_cuda.sh" > "$out/bench-console.log" 2>&1
      grep -E "^==|^prefill|^decode|weights on the GPU|GPU memory|roofline|graph|slower|warning" "$out/bench-quant.log" | head -40
      if [ "${AB:-0}" = 1 ] && [ "$(elapsed)" -lt "${AB_MAX_ELAPSED:-100000}" ]; then
        dir=/tmp/qwen3-14b-gguf-ab; rm -rf "$dir"; mkdir -p "$dir"
        timeout 120 "$hearth" quantize --model "$model" --to gguf-q4_k_m --out "$dir/model.gguf" > "$out/quantize-ab.log" 2>&1
        for compact in 0 1; do
          echo "== ab: HEARTH_CUDA_Q4K_COMPACT=$compact, batch 1"
          HEARTH_CUDA_Q4K_COMPACT=$compact timeout 90 "$hearth" bench --model "$dir/model.gguf" --device cuda --prompt-tokens 512 --decode-tokens 128 2>&1 \
            | tee "$out/ab-compact$compact.log" | grep -E "^decode|graph|replay|weights on the GPU|slower"
        done
        rm -rf "$dir"
      fi
      echo "== bench: after $(elapsed) s"
      ;;
    *) echo "unknown stage $stage"; rc=2 ;;
  esac
done
wait_model
echo "== done after $(elapsed) s, exit $rc"
exit "$rc"
