#!/usr/bin/env bash
# Starts the collector locally at http://127.0.0.1:${PORT:-8787}: installs
# what is missing, applies the D1 migrations to the local state in .state/
# and runs `wrangler dev` (which builds the worker). Tokens default to the
# documented local ones; override with INGEST_TOKEN / API_TOKEN. The worker's
# own token for its calls to itself (INTERNAL_TOKEN) is new on every start.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export WRANGLER_SEND_METRICS=false
PORT="${PORT:-8787}"
CI=true npx wrangler d1 migrations apply DB --local --persist-to .state < /dev/null
exec npx wrangler dev --local --ip 127.0.0.1 --port "$PORT" --persist-to .state --test-scheduled \
  --var "INGEST_TOKEN:${INGEST_TOKEN:-dev-ingest-token}" --var "API_TOKEN:${API_TOKEN:-dev-api-token}" \
  --var "INTERNAL_TOKEN:${INTERNAL_TOKEN:-$(node -e 'console.log(require("crypto").randomBytes(24).toString("hex"))')}"
