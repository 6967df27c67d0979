#!/usr/bin/env bash
# Every test: native unit and integration tests, then the end-to-end suite
# against the built worker in local workerd (Miniflare).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked
bash scripts/build.sh
node --test --test-concurrency=1 --test-reporter=spec tests/e2e/*.test.mjs
