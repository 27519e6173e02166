#!/usr/bin/env bash
# Installs the pinned Solidity toolchain (forge, anvil, solcjs) from the npm registry into
# contracts/node_modules, exactly as contracts/package-lock.json pins it, and checks that
# forge runs with the offline solc wrapper. Idempotent: does nothing when already installed.
#
# Needs: node >= 20 and npm. Prints the bin directory to put on PATH as its last line.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
contracts="$root/contracts"
stamp="$contracts/node_modules/.refute-lock"

command -v npm >/dev/null || { echo "contracts-toolchain: npm not found; install Node.js 20+" >&2; exit 1; }

if ! cmp -s "$contracts/package-lock.json" "$stamp" 2>/dev/null; then
  echo "contracts-toolchain: npm ci (forge, anvil, solc as pinned in contracts/package-lock.json)" >&2
  (cd "$contracts" && npm ci --no-audit --no-fund --loglevel=error >&2)
  cp "$contracts/package-lock.json" "$stamp"
fi

bin="$contracts/node_modules/.bin"
"$bin/forge" --version >/dev/null
"$bin/anvil" --version >/dev/null
"$contracts/bin/solc" --version >/dev/null
echo "$bin"
