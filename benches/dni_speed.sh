#!/usr/bin/env bash
# The backprop step of the DNI paper's MNIST MLP (3 and 6 layers of 256, batch norm, Adam,
# batch 256), dlp against PyTorch on the same machine in the same run, 2 threads, fixed random
# inputs; plus dlp's DNI and cDNI steps. Then concurrency on MNIST: cDNI, 3 layers, 2 epochs,
# on 2 workers of 1 thread each against the same model run module by module in one worker of
# 1 thread, with each module's measured costs and the ideal they give. Writes
# results/dni-speed-mlp.json.
#
#   benches/dni_speed.sh [DATA_DIR]     (default ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/data}"
THREADS=2
STEPS=300
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dlpapers-target}"
cargo build --release -p dlp-dni --example step_speed -p dlp-cli
STEP="$CARGO_TARGET_DIR/release/examples/step_speed"
DLP="$CARGO_TARGET_DIR/release/dlp"
VENV=benches/reference/.venv
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
"$VENV/bin/python" -c "import torch" 2>/dev/null || "$VENV/bin/pip" install --quiet torch --index-url https://download.pytorch.org/whl/cpu
OUT=$(mktemp -d)
for layers in 3 6; do
  "$VENV/bin/python" benches/reference/dni_mlp.py --layers $layers --steps $STEPS --threads $THREADS > "$OUT/torch-$layers.json"
  for m in backprop dni cdni; do
    "$STEP" $m $layers 256 $STEPS $THREADS > "$OUT/dlp-$m-$layers.json"
  done
done
for w in 1 2; do
  "$DLP" dni train --dataset mnist --data-dir "$DATA" --method cdni --layers 3 --epochs 2 \
    --workers $w --threads $w --json > "$OUT/workers-$w.json"
done
python3 - "$OUT" <<'PY'
import json, os, subprocess, sys
out = sys.argv[1]
rows = []
for layers in (3, 6):
    t = json.load(open(f"{out}/torch-{layers}.json"))
    d = {m: json.load(open(f"{out}/dlp-{m}-{layers}.json")) for m in ("backprop", "dni", "cdni")}
    rows.append({"layers": layers, "torch_backprop_steps_per_second": t["steps_per_second"],
                 **{f"dlp_{m}_steps_per_second": d[m]["steps_per_second"] for m in d},
                 "backprop_ratio_to_torch": d["backprop"]["steps_per_second"] / t["steps_per_second"],
                 "torch": t["torch"]})
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
one, two = (json.load(open(f"{out}/workers-{w}.json")) for w in (1, 2))
concurrency = {
    "task": "mnist cDNI, 3 layers, batch 256, 2 epochs",
    "one_worker_one_thread_samples_per_second": one["samples_per_second"],
    "two_workers_one_thread_each_samples_per_second": two["samples_per_second"],
    "speedup": two["samples_per_second"] / one["samples_per_second"],
    "ideal_samples_per_second": two["ideal_samples_per_second"],
    "efficiency": two["efficiency"],
    "ideal_speedup_over_locked": two["ideal_speedup"],
    "workers": two["workers"], "modules": two["modules"],
    "test_error_one_worker": one["test_error"], "test_error_two_workers": two["test_error"],
}
result = {"command": "benches/dni_speed.sh", "commit": commit, "batch": 256, "threads": 2, "rows": rows,
          "concurrency": concurrency}
os.makedirs("results", exist_ok=True)
json.dump(result, open("results/dni-speed-mlp.json", "w"), indent=2)
print(json.dumps(result, indent=2))
PY
