#!/usr/bin/env bash
# Installs what building and testing need, from the package registries only
# (Debian's for Chromium, which the browser tests drive):
# clippy, rustfmt and the wasm32 target, worker-build and wasm-bindgen-cli (at Cargo.lock's
# version), schemathesis and chdb (PyPI, in .venv) and the npm packages of
# package-lock.json. Quick when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

WORKER_BUILD_VERSION=0.8.7
BINDGEN_VERSION=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
export PATH="$HOME/.cargo/bin:$PATH"

for component in clippy rustfmt; do
  if ! rustup component list --installed | grep -q "^$component"; then
    echo "setup: adding the $component component"
    rustup component add "$component"
  fi
done
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "setup: adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
if [ "$(worker-build --version 2>/dev/null)" != "$WORKER_BUILD_VERSION" ]; then
  echo "setup: installing worker-build $WORKER_BUILD_VERSION (a few minutes, once)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi
if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$BINDGEN_VERSION" ]; then
  echo "setup: installing wasm-bindgen-cli $BINDGEN_VERSION (a few minutes, once)"
  # Not --locked: one locked dependency of the CLI is missing from the registry mirror.
  cargo install wasm-bindgen-cli --version "$BINDGEN_VERSION"
fi
SCHEMATHESIS_VERSION=4.32.5
if [ "$(.venv/bin/schemathesis --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  echo "setup: installing schemathesis $SCHEMATHESIS_VERSION into .venv"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
CHDB_VERSION=4.4.0
if [ "$(.venv/bin/python -c 'import chdb; print(chdb.__version__)' 2>/dev/null)" != "$CHDB_VERSION" ]; then
  echo "setup: installing chdb $CHDB_VERSION into .venv (the SQL API stand-in of the tests)"
  .venv/bin/pip install --quiet --disable-pip-version-check "chdb==$CHDB_VERSION"
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund
fi
if [ ! -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ]; then
  echo "setup: installing Debian's chromium (the web UI's browser tests)"
  sudo_if_needed=()
  [ "$(id -u)" -eq 0 ] || sudo_if_needed=(sudo)
  "${sudo_if_needed[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_if_needed[@]}" apt-get install -y -q chromium
fi
