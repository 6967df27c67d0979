#!/usr/bin/env bash
# Applies the D1 migrations to the remote database and deploys the worker.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx wrangler d1 migrations apply DB --remote
npx wrangler deploy
