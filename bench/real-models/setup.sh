#!/usr/bin/env bash
# Installs the Debian packages bench/real-models needs: PIL to render text lines and pages,
# several font families so the renderer sees more than one face, the Vim user manual
# (vim-runtime) as real English text, espeak-ng and sox to speak and resample the wake-word
# model's phrases, GNU time for the compress runs' peak RSS. Idempotent (scripts/setup-system.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash scripts/setup-system.sh python3-numpy python3-pil vim-runtime time espeak-ng sox \
  fonts-dejavu-core fonts-dejavu-extra fonts-liberation fonts-freefont-ttf
