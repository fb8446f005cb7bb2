#!/bin/bash
# The long fuzz run in chunks, each a separate bench/robustness/run.ts process with its own
# seed, whose report is saved as it finishes: a run stopped early keeps every finished chunk,
# and a rerun skips them. Niced, because it is meant to soak up idle CPU beside other work.
#   bench/robustness/longRun.sh OUT_DIR FORMATS INPUTS_PER_CHUNK FIRST LAST
#   e.g. bench/robustness/longRun.sh /tmp/fuzz safetensors,onnx 50000 1 8
# then: npx tsx bench/robustness/summarize.ts /tmp/fuzz
set -u
out=$1 formats=$2 per=$3 first=$4 last=$5
mkdir -p "$out"
cd "$(dirname "$0")/../.."
for k in $(seq "$first" "$last"); do
  report="$out/chunk-$k-${formats//,/_}.txt"
  grep -qs '^| all' "$report" && continue
  # Seeds k·10⁷+7: chunks never share a fast-check seed (run.ts seeds each batch of 200 with seed+start).
  nice -n 19 node --import tsx bench/robustness/run.ts --inputs "$per" --seed $((k * 10000000 + 7)) \
    --formats "$formats" --parallel 1 --timeout 5000 >"$report" 2>"$report.err"
done
