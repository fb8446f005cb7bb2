#!/bin/sh
# Run on a machine with this repo built (npm ci): gathers what bench/gpu needs on a GPU
# machine that has Python + PyTorch but no Node, npm or network, into bench/gpu/carry/.
# Then copy bench/gpu/ (about 25 MB with carry/) to the GPU machine and run run.py there.
# usage: pack.sh [--full]
# By default carry/ holds what run.py needs (the safetensors path loads neither onnxruntime
# nor h5wasm), small enough for a device runner's 64 MiB carry; --full adds those runtime
# modules (about 85 MB) for the CLI's other formats.
set -eu
full=0
[ "${1:-}" = "--full" ] && full=1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
carry="$here/carry"
cd "$root"
node scripts/build.mjs
rm -rf "$carry"
mkdir -p "$carry/dist" "$carry/python" "$carry/node_modules"
# The node binary that built the bundles (Linux x64 glibc; the GPU machine must match).
xz -T0 -6 -c "$(node -p process.execPath)" > "$carry/node.xz"
# cli.js is the entry; it runs cliMain.js (the rest of the CLI); worker.js is the embedded
# engine's worker, h5Worker.js the HDF5 reader's thread.
cp dist/cli.js dist/cliMain.js dist/worker.js dist/h5Worker.js "$carry/dist/"
cp python/torch_worker.py "$carry/python/"
if [ "$full" = 1 ]; then
  # Runtime modules the CLI bundle imports lazily (left external by esbuild: native or wasm parts).
  cp -r node_modules/h5wasm node_modules/onnxruntime-common "$carry/node_modules/"
  mkdir -p "$carry/node_modules/onnxruntime-node/bin/napi-v6/linux"
  cp -r node_modules/onnxruntime-node/package.json node_modules/onnxruntime-node/dist "$carry/node_modules/onnxruntime-node/"
  cp -r node_modules/onnxruntime-node/bin/napi-v6/linux/x64 "$carry/node_modules/onnxruntime-node/bin/napi-v6/linux/"
fi
npx esbuild bench/gpu/spectra.ts --bundle --platform=node --format=esm --target=node20 \
  --outfile="$carry/dist/bench-spectra.js" --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
du -sh "$carry"
