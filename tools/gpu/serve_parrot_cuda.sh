#!/usr/bin/env bash
# ON THE GPU MACHINE, from the repository root: `hearth serve --device cuda` with the parrot model, then every
# parrot case through the OpenAI (whole and streamed) and Ollama chat APIs (tools/gpu/parrot_server_check.py).
# Needs .gpucarry/hearth/ (the published CLI) and .gpucarry/parrot-qwen3/. Log in $OUT/serve-cuda.log.
set -uo pipefail
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-/tmp/gpu-out}"
mkdir -p "$out"
hearth=.gpucarry/hearth/hearth
chmod +x "$hearth" 2>/dev/null || true
model=.gpucarry/parrot-qwen3
if [ ! -f "$model/tokenizer.json" ]; then
  # The carried copy is gzipped to fit the carry limit.
  rm -rf /tmp/parrot-serve && cp -r "$model" /tmp/parrot-serve && gunzip /tmp/parrot-serve/tokenizer.json.gz && model=/tmp/parrot-serve
fi
port=18123
HEARTH_TRACE_SHUTDOWN=1 "$hearth" serve --model "$model" --device cuda --port $port --max-model-len 4096 --served-model-name parrot-qwen3 > "$out/serve-cuda.log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$port/health" > /dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.5
done
cat "$out/serve-cuda.log"
python3 "$here/parrot_server_check.py" "http://127.0.0.1:$port" "$model/cases.json" parrot-qwen3 | tee "$out/serve-cuda-check.log"
status=${PIPESTATUS[0]}
# SIGTERM, as docker stop sends: a background job of a script ignores SIGINT.
kill -TERM $pid 2>/dev/null
for _ in $(seq 1 40); do kill -0 $pid 2>/dev/null || break; sleep 0.5; done
if kill -0 $pid 2>/dev/null; then
  echo "hearth serve did not stop within 20 s of SIGTERM"; kill -9 $pid; status=1
fi
wait $pid 2>/dev/null
tail -5 "$out/serve-cuda.log"
echo "serve-cuda check exit code: $status"
exit $status
