#!/usr/bin/env bash
# Pattern extraction on Re-DocRED dev: precision over the relations the patterns cover, recall
# over those and over all gold triples, per relation. Writes results/kg-extract/.
#
#   experiments/kg-extract.sh          # a few seconds
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dlpapers-target}"
DATA="${DLP_DATA_DIR:-../shared/data}"
if [ -z "${DLP:-}" ]; then cargo build --release -p dlp-cli; DLP="$CARGO_TARGET_DIR/release/dlp"; fi
RES=results/kg-extract
mkdir -p "$RES"
"$DLP" kg extract --eval "$DATA/re-docred/dev_revised.json.gz" --json > "$RES/redocred-dev.json"
python3 - "$RES" "$(git rev-parse --short HEAD)" "$DATA/re-docred/rel_info.json" <<'PY'
import json, sys
res, commit, rel_info = sys.argv[1], sys.argv[2], sys.argv[3]
s = json.load(open(f"{res}/redocred-dev.json")); names = json.load(open(rel_info))
c, a = s["covered"], s["all"]
out = [f"# Extraction on Re-DocRED dev (commit {commit})", "",
       "Made by `experiments/kg-extract.sh`: `dlp kg extract --eval dev_revised.json.gz`. Each document's",
       "entities are the known instances (mention strings as aliases); triples are compared at entity level.", "",
       f"- {s['documents']} documents; {len(s['per_relation'])} relations covered",
       f"- covered relations: precision **{c['precision']:.3f}** ({c['correct']}/{c['predicted']}), recall {c['recall']:.3f} of {c['gold']} gold triples",
       f"- all relations: recall {a['recall']:.3f} of {a['gold']}, F1 {a['f1']:.3f}", "",
       "| relation | name | precision | correct / predicted | recall | gold |", "| --- | --- | ---: | ---: | ---: | ---: |"]
for r, m in sorted(s["per_relation"].items(), key=lambda kv: -kv[1]["predicted"]):
    out.append(f"| {r} | {names.get(r, '')} | {m['precision']:.3f} | {m['correct']} / {m['predicted']} | {m['recall']:.3f} | {m['gold']} |")
open(f"{res}/README.md", "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
