#!/usr/bin/env bash
# Runs the KG completion configs named on the command line (default: every small-graph one) and
# the rule miner on Nations and UMLS, copying each summary.json to results/kg-completion/ and
# rebuilding results/kg-completion/README.md from all summaries there.
#
#   experiments/kg-completion.sh                          # kg-*-umls, kg-*-nations, rules
#   experiments/kg-completion.sh kg-complex-wn18rr        # one large run
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dlpapers-target}"
DATA="${DLP_DATA_DIR:-../shared/data}"
# DLP=/path/to/dlp uses that binary instead of building one.
if [ -z "${DLP:-}" ]; then cargo build --release -p dlp-cli; DLP="$CARGO_TARGET_DIR/release/dlp"; fi
RES=results/kg-completion
mkdir -p "$RES" runs
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  names=(kg-complex-umls kg-distmult-umls kg-rotate-umls kg-transe-umls
         kg-complex-nations kg-distmult-nations kg-rotate-nations kg-transe-nations)
  for ds in umls nations; do
    mkdir -p "runs/kg-rules-$ds"
    "$DLP" kg rules mine --dataset "$ds" --data-dir "$DATA" --out "runs/kg-rules-$ds" --force --threads 2 --json > "runs/kg-rules-$ds/mine.json"
    "$DLP" kg rules eval --dataset "$ds" --data-dir "$DATA" --rules "runs/kg-rules-$ds/rules.tsv" --threads 2 --json \
      | python3 -c "import json,sys; e=json.load(sys.stdin); m=json.load(open('runs/kg-rules-$ds/mine.json')); e.update(model='rules', mine_seconds=m['seconds'], config='dlp kg rules mine --dataset $ds'); print(json.dumps(e, indent=2))" \
      > "$RES/kg-rules-$ds.json"
  done
fi
for name in "${names[@]}"; do
  cfg="experiments/$name.toml"
  ds=$(sed -n 's/^# dlp kg embed train --dataset \([^ ]*\) .*/\1/p' "$cfg")
  "$DLP" kg embed train --dataset "$ds" --data-dir "$DATA" --config "$cfg" --out "runs/$name" --force --threads 2 --json \
    | python3 -c "import json,sys; s=json.load(sys.stdin); s['config']='$cfg'; print(json.dumps(s, indent=2))" > "$RES/$name.json"
done
python3 - "$RES" "$(git rev-parse --short HEAD)" <<'PY'
import glob, json, os, sys
res, commit = sys.argv[1], sys.argv[2]
rows = []
for p in sorted(glob.glob(f"{res}/*.json")):
    s = json.load(open(p))
    rows.append((s["dataset"], s["model"], s["mrr"], s["hits_at_1"], s["hits_at_10"],
                 s.get("train_seconds", s.get("mine_seconds")), s.get("seconds"), s.get("config", "")))
lines = ["# KG completion results", "",
         f"Filtered test metrics (realistic ties, both sides), 2 threads, made by `experiments/kg-completion.sh [NAMES]` at commit {commit}.",
         "Time: training (or mining) seconds, and the whole command's seconds including evaluation.", "",
         "| dataset | model | MRR | Hits@1 | Hits@10 | train s | total s | config |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
for d, m, mrr, h1, h10, ts, tot, cfg in sorted(rows):
    lines.append(f"| {d} | {m} | {mrr:.3f} | {h1:.3f} | {h10:.3f} | {ts:.1f} | {tot:.1f} | `{cfg}` |")
open(f"{res}/README.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
