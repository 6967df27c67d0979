#!/usr/bin/env bash
# Every test: native unit and integration tests, the release bundle's size
# budget, then the end-to-end suite against the built worker in local
# workerd (Miniflare).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked
bash scripts/build.sh
# The release bundle must stay within its budget (DESIGN.md §7: 600 KiB gzip).
bundle_gzip=$(gzip -9c build/index_bg.wasm | wc -c)
echo "release wasm: $(wc -c < build/index_bg.wasm) bytes, $bundle_gzip gzip (budget 614400)"
if [ "$bundle_gzip" -gt 614400 ]; then
  echo "the release wasm is over its 600 KiB gzip budget" >&2
  exit 1
fi
node --test --test-concurrency=1 --test-reporter=spec tests/e2e/*.test.mjs
