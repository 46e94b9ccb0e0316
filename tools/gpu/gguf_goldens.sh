#!/bin/bash
# Writes the GGUF reference file and its NumPy dequantization (tools/gguf_reference.py) into $1 (default $OUT).
# Copy the two files into tests/goldens/gguf/ afterwards.
set -e
OUT_DIR="${1:-$OUT}"
python3 "$(dirname "$0")/../gguf_reference.py" "$OUT_DIR"
