#!/usr/bin/env bash
# Character-level language modelling, truncated BPTT against DNI at T = 3 and 5, on the text of
# Re-DocRED dev (English Wikipedia paragraphs, 551k characters; `../shared` has no Penn
# Treebank). Writes results/dni/charlm-*.json and prints a table.
#
#   UPDATES=5000 experiments/dni-charlm.sh      # about 10 minutes on 2 cores
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dlpapers-target}"
DATA="${DLP_DATA_DIR:-../shared/data}"
UPDATES="${UPDATES:-5000}"
if [ -z "${DLP:-}" ]; then cargo build --release -p dlp-cli; DLP="$CARGO_TARGET_DIR/release/dlp"; fi
mkdir -p results/dni runs
TEXT=runs/redocred-dev.txt
zcat "$DATA/re-docred/dev_docs.tsv.gz" | cut -f2 > "$TEXT"
for lr in 1e-2 1e-3 1e-4 3e-5 1e-5; do
  echo "== dni T=3 sg-lr $lr (1000 updates)" >&2
  "$DLP" dni charlm --text "$TEXT" --method dni --truncation 3 --updates 1000 --sg-lr "$lr" --threads 2 --json \
    > "results/dni/charlm-sweep-sglr$lr.json"
done
"$DLP" dni charlm --text "$TEXT" --method bptt --truncation 3 --updates 1000 --threads 2 --json > results/dni/charlm-sweep-bptt.json
for t in 3 5; do
  for m in bptt dni; do
    echo "== $m T=$t" >&2
    "$DLP" dni charlm --text "$TEXT" --method "$m" --truncation "$t" --updates "$UPDATES" --threads 2 --json \
      > "results/dni/charlm-$m-T$t.json"
  done
done
python3 experiments/dni_tables.py results/dni charlm "$(git rev-parse --short HEAD)" "${EPOCHS:-20}"
