#!/usr/bin/env bash
# Installs the Debian packages bench/real-models needs: PIL to render text lines and pages,
# several font families so the renderer sees more than one face, the Vim user manual
# (vim-runtime) as real English text, espeak-ng and sox to speak and resample the wake-word
# model's phrases, GNU time for the compress runs' peak RSS.
# Idempotent: does nothing when all are present (mirrors scripts/setup-system.sh).
set -euo pipefail
pkgs=(python3-numpy python3-pil vim-runtime time espeak-ng sox
      fonts-dejavu-core fonts-dejavu-extra fonts-liberation fonts-freefont-ttf)
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
for p in "${missing[@]}"; do apt-cache show "$p" >/dev/null 2>&1 && avail+=("$p") || echo "real-models setup: $p not available, skipped" >&2; done
[ ${#avail[@]} -gt 0 ] && $SUDO apt-get install -y -qq --no-install-recommends "${avail[@]}" >/dev/null
exit 0
