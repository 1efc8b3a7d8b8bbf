#!/usr/bin/env bash
# Runs the classify and detect pipeline benchmarks (bench/run.ts, bench/throughput.ts) with the CUDA execution
# provider and prints the same tables. Run as-is on a GPU machine: bash bench/gpu-check.sh
# Not measured yet: written on a machine without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
EP="${VIDFLOW_BENCH_EP:-cuda}"
if ! ls node_modules/onnxruntime-node/bin/napi-v*/linux/x64/libonnxruntime_providers_cuda.so >/dev/null 2>&1; then
  echo "The CUDA build of onnxruntime-node is not installed (no libonnxruntime_providers_cuda.so)." >&2
  echo "Install it (README \"GPU\"; needs an NVIDIA driver, CUDA 12, cuDNN 9):" >&2
  echo "  ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js" >&2
  echo "  npx vidflow doctor   # must list cuda" >&2
  exit 2
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
VIDFLOW_BENCH_EP="$EP" node --import tsx bench/run.ts
# The one-run throughput table (raw limits, 1–8 streams, peers when their Python is set up) on the same provider.
VIDFLOW_BENCH_EP="$EP" node --import tsx bench/throughput.ts
