#!/usr/bin/env bash
# The whole test suite: typecheck, lint, unit, integration and browser tests.
# WebRTC must never leave loopback, so the tests run inside a private network namespace
# (only `lo`), as docs/troubleshooting.md describes. Chromium comes from Debian when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Chromium for the browser tests; util-linux-extra's fincore shows what the page cache holds;
# coturn (a real TURN server) and nftables (DROP rules between network namespaces) for the TURN
# relay test (docs/operating.md, "Peers behind NAT: TURN"). Where systemd runs, Debian's coturn
# package installs a coturn.service; the test starts its own turnserver and needs none.
MISSING=""
command -v chromium >/dev/null 2>&1 || MISSING="$MISSING chromium"
command -v fincore >/dev/null 2>&1 || MISSING="$MISSING util-linux-extra"
command -v turnserver >/dev/null 2>&1 || MISSING="$MISSING coturn"
command -v nft >/dev/null 2>&1 || MISSING="$MISSING nftables"
if [ -n "$MISSING" ]; then
  echo "[test] installing from Debian's packages:$MISSING"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $MISSING >/dev/null
fi

echo "[test] typecheck"
npx tsc --noEmit -p tsconfig.json
npx tsc --noEmit -p shared/tsconfig.json
echo "[test] lint"
npx eslint .
echo '[test] format (prettier; npm run format rewrites)'
npx prettier --check . --log-level warn
echo "[test] build web page"
npx vite build --logLevel warn
echo "[test] bundle node-peer"
npm run --silent build:node

run_isolated() {
  if [ "$(id -u)" -eq 0 ]; then
    unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$@"
  else
    unshare -rn sh -c 'ip link set lo up && exec "$@"' sh "$@"
  fi
}
echo "[test] vitest (inside a loopback-only network namespace)"
run_isolated npx vitest run "$@"
