#!/usr/bin/env bash
# KG embedding training throughput, dlp against PyKEEN 1.11 on the same machine, same run:
# FB15k-237, dim 200, batch 1024, 64 negatives, Adam 0.001, one epoch, 2 threads; TransE (L1,
# margin loss) and RotatE (self-adversarial loss); plus the time of dlp's filtered evaluation of
# the full test set. Writes results/kg-speed-fb15k237.json.
#
#   benches/kg_speed.sh [DATA_DIR]      (default ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/data}"
THREADS=2
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dlpapers-target}"
cargo build --release -p dlp-cli
DLP="$CARGO_TARGET_DIR/release/dlp"
VENV=benches/reference/.venv
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
"$VENV/bin/python" -c "import pykeen" 2>/dev/null || "$VENV/bin/pip" install --quiet "pykeen==1.11.1"
OUT=$(mktemp -d)
for model in transe rotate; do
  loss=margin; margin=1; [ "$model" = rotate ] && loss=nssa && margin=6
  "$DLP" kg embed train --dataset "$DATA/fb15k-237" --model "$model" --training ns --loss "$loss" \
    --margin "$margin" --dim 200 --batch-size 1024 --negatives 64 --optimizer adam --lr 0.001 \
    --epochs 1 --eval-every 0 --reciprocal false --regularizer none --threads "$THREADS" \
    --out "$OUT/dlp-$model" --json > "$OUT/dlp-$model.json"
  /usr/bin/time -f %e -o "$OUT/eval-$model.time" "$DLP" kg embed eval --run "$OUT/dlp-$model" \
    --dataset "$DATA/fb15k-237" --threads "$THREADS" --json > "$OUT/eval-$model.json"
  "$VENV/bin/python" benches/reference/kge_pykeen.py --data "$DATA/fb15k-237" --model "$model" \
    --threads "$THREADS" > "$OUT/pykeen-$model.json"
done
python3 - "$OUT" <<'PY'
import json, subprocess, sys, os
out = sys.argv[1]
rows = {}
for m in ["transe", "rotate"]:
    d = json.load(open(f"{out}/dlp-{m}.json"))
    p = json.load(open(f"{out}/pykeen-{m}.json"))
    rows[m] = {
        "dlp_triples_per_second": d["triples_per_second"],
        "pykeen_triples_per_second": p["triples_per_second"],
        "ratio": d["triples_per_second"] / p["triples_per_second"],
        "dlp_eval_seconds_full_test": float(open(f"{out}/eval-{m}.time").read().strip()),
        "pykeen": p["pykeen"], "torch": p["torch"],
    }
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
result = {"command": "benches/kg_speed.sh", "commit": commit, "dataset": "fb15k-237", "dim": 200, "batch": 1024,
          "negatives": 64, "optimizer": "adam 0.001", "epochs": 1, "threads": 2, "models": rows}
os.makedirs("results", exist_ok=True)
with open("results/kg-speed-fb15k237.json", "w") as f:
    json.dump(result, f, indent=2)
print(json.dumps(result, indent=2))
PY
