#!/usr/bin/env bash
# Installs the Debian packages the tests use as reference tools (numpy/LAPACK, onnx,
# h5py, torch) and as real peers (chromium). Idempotent: does nothing when all are present.
set -euo pipefail
# clang + lld rebuild the spectra WebAssembly kernels, to check the committed ones are current.
# Other scripts pass their own list (bench/real-models/setup.sh).
pkgs=(python3-numpy libopenblas0-pthread python3-onnx python3-h5py python3-torch
      dataset-fashion-mnist chromium time clang lld)
[ $# -gt 0 ] && pkgs=("$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Packages Debian lacks on some releases are skipped rather than failing the whole setup.
avail=()
for p in "${missing[@]}"; do apt-cache show "$p" >/dev/null 2>&1 && avail+=("$p") || echo "setup-system: $p not available, skipped" >&2; done
[ ${#avail[@]} -gt 0 ] && $SUDO apt-get install -y -qq --no-install-recommends "${avail[@]}" >/dev/null
exit 0
