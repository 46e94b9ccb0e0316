#!/usr/bin/env bash
# Compiles every nvcc exploration harness in tools/gpu against the current kernel sources, ON THE GPU MACHINE, from
# the repository root (no carry needed: the kernels are tracked files): bash tools/gpu/harness_compile_check.sh
# A harness that no longer compiles (a kernel's arguments changed) shows here before someone needs it. Logs in $OUT.
set -uo pipefail
out="${OUT:-/tmp/harness-check}"
mkdir -p "$out"
k=src/Hearth.Backends/Cuda/Kernels
nvcc=/usr/local/cuda/bin/nvcc
declare -A sources=(
  [qdec]="$k/common.cu $k/gemv_quant.cu $k/gemv_quant_stream.cu tools/gpu/qdec_harness.cu"
  [f8]="$k/common.cu $k/gemv.cu $k/gemv_quant_stream.cu $k/gemv_quant_wide.cu tools/gpu/f8_harness.cu"
  [splitk]="$k/common.cu $k/gemv_quant_stream.cu $k/gemv_quant_wide.cu tools/gpu/splitk_harness.cu"
  [i4]="$k/common.cu $k/gemv_quant_stream.cu $k/gemv_quant_i4.cu tools/gpu/i4_harness.cu"
  [k4]="$k/common.cu $k/kquant4.cuh $k/gemv_kquant6.cu $k/gemv_kquant4.cu tools/gpu/k4_harness.cu"
  [gemm_quant]="$k/common.cu $k/gemv_quant.cu $k/gemv_quant_dequant.cu $k/gemm_quant.cu $k/fp8_act_quant.cu tools/gpu/gemm_quant_harness.cu"
)
pids=(); names=()
for name in "${!sources[@]}"; do
  # shellcheck disable=SC2086
  cat ${sources[$name]} > "/tmp/check_$name.cu"
  ( $nvcc -O3 -arch=sm_90 -std=c++17 -I"$k" -Itools/gpu -o "/tmp/check_$name" "/tmp/check_$name.cu" -lcublas > "$out/$name.build" 2>&1 ) &
  pids+=($!); names+=("$name")
done
# Every kernel module as NVRTC builds it (common.cu + the module, headers from -I), for sm_90 and for sm_80: the kernels
# must run from sm_80 up.
for module in "$k"/*.cu; do
  name=$(basename "$module" .cu); [ "$name" = common ] && continue
  cat "$k/common.cu" "$module" > "/tmp/module_$name.cu"
  for arch in 90 80; do
    ( $nvcc -arch=sm_$arch -std=c++17 -I"$k" -cubin -o "/tmp/module_${name}_$arch.cubin" "/tmp/module_$name.cu" > "$out/module_${name}_$arch.build" 2>&1 ) &
    pids+=($!); names+=("module $name sm_$arch")
  done
done
rc=0
for i in "${!pids[@]}"; do
  if wait "${pids[$i]}"; then echo "${names[$i]}: compiled"; else echo "${names[$i]}: FAILED"; rc=1; fi
done
grep -l -m1 error "$out"/*.build 2>/dev/null | while read -r f; do echo "== $f"; grep -m5 error "$f"; done
exit $rc
