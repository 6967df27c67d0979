#!/usr/bin/env bash
# `npm run deploy`: installs the toolchain if missing, then scripts/deploy.mjs
# creates what the account lacks, applies the remote migrations and deploys.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node scripts/deploy.mjs
