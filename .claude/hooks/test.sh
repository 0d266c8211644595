#!/usr/bin/env bash
# Before the assistant stops: the full check CI runs (types, typecheck, lint, tests).
set -uo pipefail
cd "${CLAUDE_PROJECT_DIR:-$(dirname "$0")/../..}"
export WRANGLER_SEND_METRICS=false
if ! out=$(npm test 2>&1); then
  echo "npm test failed; fix before stopping:" >&2
  echo "$out" | grep -v "npm warn" | tail -n 60 >&2
  exit 2
fi
exit 0
