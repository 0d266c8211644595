#!/usr/bin/env bash
# After an edit of a TypeScript file: typecheck, and hand the errors back to the assistant (exit 2).
set -uo pipefail
cd "${CLAUDE_PROJECT_DIR:-$(dirname "$0")/../..}"
input=$(cat)
case "$input" in *".ts\""*) ;; *) exit 0 ;; esac
if ! out=$(npx --no-install tsc --noEmit -p . 2>&1); then
  echo "$out" | grep -v "npm warn" | head -n 40 >&2
  exit 2
fi
exit 0
