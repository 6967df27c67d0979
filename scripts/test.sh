#!/usr/bin/env bash
# Every test: native unit and integration tests (the whole workspace: the
# collector, the worker-otel client crate, the examples), a short run of every
# fuzz target, the release bundle's size budget and worker-otel's, then the
# end-to-end suite against the built workers in local workerd (Miniflare).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo fmt --check
cargo clippy --locked --workspace --all-targets -- -D warnings
cargo clippy --locked --workspace --target wasm32-unknown-unknown -- -D warnings
cargo test --locked --workspace
cargo fmt --check --manifest-path fuzz/Cargo.toml
# Seconds per fuzz target, so a decoder regression crashes here (long runs: scripts/fuzz.sh).
FUZZ_SECONDS=3 bash scripts/fuzz.sh
bash scripts/build.sh
# The release bundle must stay within its budget (DESIGN.md §7: 600 KiB gzip).
bundle_gzip=$(gzip -9c build/index_bg.wasm | wc -c)
echo "release wasm: $(wc -c < build/index_bg.wasm) bytes, $bundle_gzip gzip (budget 614400)"
if [ "$bundle_gzip" -gt 614400 ]; then
  echo "the release wasm is over its 600 KiB gzip budget" >&2
  exit 1
fi
bash scripts/build.sh examples/frontend
bash scripts/build.sh examples/orders
bash scripts/client-size.sh
node --test --test-concurrency=1 --test-reporter=spec tests/e2e/*.test.mjs
