#!/usr/bin/env bash
# The Copy task (Jaderberg et al. 2017, Table 2, shortened to fit 2 cores): an LSTM of 256 units
# trained by truncated BPTT with T = 3 and T = 5, without and with synthetic gradients between
# windows, UPDATES windows each (default 20,000), under the curriculum of dlp dni copy. Summaries
# go to results/dni/copy-*.json; then results/dni/README.md is rebuilt.
#
#   experiments/dni-copy.sh [TASK]      (copy or repeat-copy; default copy)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dlpapers-target}"
if [ -z "${DLP:-}" ]; then cargo build --release -p dlp-cli; DLP="$CARGO_TARGET_DIR/release/dlp"; fi
TASK="${1:-copy}"
UPDATES="${UPDATES:-20000}"
RES=results/dni
mkdir -p "$RES"
for t in 3 5; do
  for m in bptt dni; do
    "$DLP" dni copy --task "$TASK" --method $m --truncation $t --updates "$UPDATES" --threads 2 --json \
      > "$RES/$TASK-$m-T$t.json"
    python3 -c "import json; s=json.load(open('$RES/$TASK-$m-T$t.json')); print('$TASK $m T=$t: longest solved', s['max_length_solved'], 'in', round(s['seconds']), 's')"
  done
done
python3 experiments/dni_tables.py "$RES" copy "$(git rev-parse --short HEAD)" "${EPOCHS:-20}"
