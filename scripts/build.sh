#!/usr/bin/env bash
# Builds a release worker into <crate dir>/build/ offline: the collector by
# default, with its web UI bundled into public/ui/ by ui/build.mjs;
# `bash scripts/build.sh examples/orders` builds an example, and arguments
# after the directory go to cargo (`-- --features otel`).
# worker-build is pointed at the local wasm-bindgen and esbuild instead of
# downloading them, and the local wasm-opt optimises the module afterwards.
# worker-build's own wasm-opt step always keeps the names section
# (--debuginfo, ~50 KB gzip); we run wasm-opt with the same features and
# without it. FAST=1 skips wasm-opt (about 13 s less, a larger .wasm).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
crate_dir="${1:-.}"
shift || true
cd "$root/$crate_dir"
export PATH="$HOME/.cargo/bin:$PATH"
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}"
export ESBUILD_BIN="${ESBUILD_BIN:-$root/node_modules/.bin/esbuild}"
worker-build --release --no-opt "$@"
if [ "${FAST:-0}" != 1 ]; then
  features=(mutable-globals sign-ext nontrapping-float-to-int bulk-memory multivalue reference-types exception-handling)
  "${WASM_OPT_BIN:-$root/node_modules/.bin/wasm-opt}" -O "${features[@]/#/--enable-}" \
    build/index_bg.wasm -o build/index_bg.wasm
fi
if [ "$crate_dir" = . ]; then
  node "$root/ui/build.mjs"
fi
