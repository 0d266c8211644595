#!/usr/bin/env bash
# Installs Debian's (or Ubuntu's) `chromium` package for the console's browser tests
# (test/node/console/) when no Chromium is installed. No browser is downloaded from anywhere else.
# Where it cannot be installed (not root and no passwordless sudo, no apt-get, no network) it says
# so and exits 0: those tests are then skipped with the same message, and everything else runs.
set -euo pipefail

if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "${CHROMIUM_PATH}" ]; then
  echo "chromium: ${CHROMIUM_PATH} (CHROMIUM_PATH)"
  exit 0
fi
for candidate in chromium chromium-browser google-chrome google-chrome-stable; do
  if found=$(command -v "$candidate"); then
    echo "chromium: ${found}"
    exit 0
  fi
done

skip() {
  echo "chromium: $1; the console's browser tests will be skipped (set CHROMIUM_PATH to use another Chromium)" >&2
  exit 0
}

command -v apt-get >/dev/null || skip "no apt-get to install it with"
if [ "$(id -u)" = 0 ]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  skip "not root and no passwordless sudo to install it"
fi
echo "chromium: installing Debian's chromium package (apt-get) for the console's browser tests"
"${as_root[@]}" apt-get update -qq || skip "apt-get update failed"
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq chromium >/dev/null || skip "apt-get install chromium failed"
echo "chromium: $(command -v chromium)"
