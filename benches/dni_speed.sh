#!/usr/bin/env bash
# The backprop step of the DNI paper's MNIST MLP (3 and 6 layers of 256, batch norm, Adam,
# batch 256), dlp against PyTorch on the same machine in the same run, at 1 and 2 threads, fixed
# random inputs, REPEATS (default 3) interleaved runs of each with the median kept (a shared
# machine's speed drifts by 30% between runs); plus dlp's DNI and cDNI steps at 2 threads. Then concurrency on MNIST: cDNI, 3 layers, 2 epochs,
# on 2 workers of 1 thread each against the same model run module by module in one worker of
# 1 thread, with each module's measured costs and the ideal they give. Writes
# results/dni-speed-mlp.json.
#
#   benches/dni_speed.sh [DATA_DIR]     (default ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/data}"
STEPS=300
REPEATS="${REPEATS:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dlpapers-target}"
cargo build --release -p dlp-dni --example step_speed -p dlp-cli
STEP="$CARGO_TARGET_DIR/release/examples/step_speed"
DLP="$CARGO_TARGET_DIR/release/dlp"
VENV=benches/reference/.venv
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
"$VENV/bin/python" -c "import torch" 2>/dev/null || "$VENV/bin/pip" install --quiet torch --index-url https://download.pytorch.org/whl/cpu
OUT=$(mktemp -d)
for layers in 3 6; do
  for t in 1 2; do for r in $(seq "$REPEATS"); do
    "$VENV/bin/python" benches/reference/dni_mlp.py --layers $layers --steps $STEPS --threads $t > "$OUT/torch-$layers-$t-$r.json"
    "$STEP" backprop $layers 256 $STEPS $t > "$OUT/dlp-backprop-$layers-$t-$r.json"
  done; done
  for m in dni cdni; do "$STEP" $m $layers 256 $STEPS 2 > "$OUT/dlp-$m-$layers-2-1.json"; done
done
for w in 1 2; do
  "$DLP" dni train --dataset mnist --data-dir "$DATA" --method cdni --layers 3 --epochs 2 \
    --workers $w --threads $w --json > "$OUT/workers-$w.json"
done
REPEATS="$REPEATS" python3 - "$OUT" <<'PY'
import glob, json, os, statistics, subprocess, sys
out = sys.argv[1]


def median(prefix):
    """The median steps per second of the runs `prefix`-*.json, and all of them."""
    runs = [json.load(open(p))["steps_per_second"] for p in sorted(glob.glob(f"{out}/{prefix}-*.json"))]
    return statistics.median(runs), runs


rows = []
for layers in (3, 6):
    for threads in (1, 2):
        (t, t_runs), (d, d_runs) = median(f"torch-{layers}-{threads}"), median(f"dlp-backprop-{layers}-{threads}")
        row = {"layers": layers, "threads": threads, "torch_backprop_steps_per_second": t,
               "dlp_backprop_steps_per_second": d, "backprop_ratio_to_torch": d / t,
               "torch_runs": t_runs, "dlp_runs": d_runs,
               "torch": json.load(open(f"{out}/torch-{layers}-{threads}-1.json"))["torch"]}
        if threads == 2:
            row.update({f"dlp_{m}_steps_per_second": median(f"dlp-{m}-{layers}-2")[0] for m in ("dni", "cdni")})
        rows.append(row)
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
result = {"command": "benches/dni_speed.sh", "commit": commit, "batch": 256, "repeats": int(os.environ["REPEATS"]), "rows": rows,
          "concurrency": concurrency}
os.makedirs("results", exist_ok=True)
json.dump(result, open("results/dni-speed-mlp.json", "w"), indent=2)
print(json.dumps(result, indent=2))
PY
