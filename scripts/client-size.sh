#!/usr/bin/env bash
# What worker-otel adds to a Worker's wasm: examples/minimal built plain and
# with the `otel` feature (same work, instrumented), both through
# scripts/build.sh (wasm-opt included), compared gzip -9. Fails above the
# budget of issue 13 (60 KB gzip).
set -euo pipefail
cd "$(dirname "$0")/.."
budget=61440
gzip_size() { gzip -9c examples/minimal/build/index_bg.wasm | wc -c; }
bash scripts/build.sh examples/minimal >/dev/null
plain=$(gzip_size)
bash scripts/build.sh examples/minimal -- --features otel >/dev/null
instrumented=$(gzip_size)
added=$((instrumented - plain))
echo "worker-otel wasm: minimal Worker $plain B gzip, instrumented $instrumented B gzip, added $added B (budget $budget)"
if [ "$added" -gt "$budget" ]; then
  echo "worker-otel adds more than its 60 KB gzip budget to a Worker" >&2
  exit 1
fi
