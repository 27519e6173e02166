#!/usr/bin/env bash
# Compiles contracts/src with forge and exports, per contract, the ABI and the creation and
# runtime bytecode to contracts/artifacts/<Contract>.json (test doubles from contracts/test/doubles
# to contracts/artifacts/doubles/) — the files the Rust bindings
# (contracts/bindings, alloy `sol!`) are generated from, committed so `cargo build` never
# needs node.
#
#   scripts/contracts-artifacts.sh           rewrite contracts/artifacts/
#   scripts/contracts-artifacts.sh --check   fail (exit 1, with a diff) when the committed
#                                            artifacts differ from a fresh compile
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
contracts="$root/contracts"
mode="${1:-write}"
bin="$("$root/scripts/contracts-toolchain.sh")"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$contracts" && "$bin/forge" build --skip test --skip script --out "$work/out" \
  --cache-path "$work/cache" >"$work/build.log" 2>&1) || { cat "$work/build.log" >&2; exit 1; }

mkdir -p "$work/artifacts"
node - "$contracts" "$work/out" "$work/artifacts" <<'JS'
const fs = require("fs"), path = require("path");
const [contracts, out, dest] = process.argv.slice(2);
// src/ -> artifacts/; the test doubles the Rust tests deploy (test/doubles/, never deployed
// by the scripts) -> artifacts/doubles/.
const sources = [];
function walk(dir, to) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, to); else if (e.name.endsWith(".sol")) sources.push([p, to]);
  }
}
walk(path.join(contracts, "src"), dest);
walk(path.join(contracts, "test", "doubles"), path.join(dest, "doubles"));
sources.sort((a, b) => a[0].localeCompare(b[0]));
for (const [src, to] of sources) {
  const dir = path.join(out, path.basename(src));
  if (!fs.existsSync(dir)) continue; // only free errors or types: no contract to export
  for (const f of fs.readdirSync(dir).sort()) {
    const a = JSON.parse(fs.readFileSync(path.join(dir, f)));
    // Only contracts defined in this source file, not ones it imports.
    const target = Object.entries((a.metadata && a.metadata.settings.compilationTarget) || {});
    if (target.length !== 1 || path.resolve(contracts, target[0][0]) !== path.resolve(src)) continue;
    const name = target[0][1];
    const artifact = { abi: a.abi, bytecode: a.bytecode.object, deployedBytecode: a.deployedBytecode.object };
    fs.mkdirSync(to, { recursive: true });
    fs.writeFileSync(path.join(to, name + ".json"), JSON.stringify(artifact, null, 2) + "\n");
  }
}
JS

if [[ "$mode" == "--check" ]]; then
  if ! diff -ru "$contracts/artifacts" "$work/artifacts" >"$work/diff"; then
    echo "contracts-artifacts: contracts/artifacts/ is stale: it differs from a fresh compile of contracts/src." >&2
    head -n 40 "$work/diff" >&2
    echo "Run 'scripts/contracts-artifacts.sh' (or 'make artifacts') and commit contracts/artifacts/." >&2
    exit 1
  fi
  echo "contracts-artifacts: contracts/artifacts/ matches a fresh compile ($(find "$work/artifacts" -name '*.json' | wc -l) contracts)"
else
  rm -rf "$contracts/artifacts"
  cp -r "$work/artifacts" "$contracts/artifacts"
  echo "contracts-artifacts: wrote $(find "$contracts/artifacts" -name '*.json' | wc -l) artifacts to contracts/artifacts/"
fi
