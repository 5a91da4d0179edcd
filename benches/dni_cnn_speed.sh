#!/usr/bin/env bash
# The DNI paper's MNIST CNN trained by backprop (3 blocks of a 5x5 convolution to WIDTH channels,
# batch norm, ReLU, pooling; Adam, batch 256): dlp against PyTorch on the same CPU threads, one
# epoch each, REPEATS (default 3) interleaved runs, the median kept. Samples per second of
# training (data loading and test not timed), and each side's test error. Writes
# results/dni-speed-cnn.json.
#   bash benches/dni_cnn_speed.sh [DATA_DIR] [WIDTH] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/data}"; WIDTH="${2:-32}"; THREADS="${3:-2}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dlpapers-target}"
cargo xtask dlp --version >/dev/null
DLP="$CARGO_TARGET_DIR/release/dlp"
VENV=benches/reference/.venv
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c "import torch, numpy" 2>/dev/null || "$VENV/bin/pip" install --quiet "torch==2.15.0" numpy
OUT=$(mktemp -d)
for r in $(seq "${REPEATS:-3}"); do
  "$DLP" dni train --model cnn --method backprop --width "$WIDTH" --epochs 1 --threads "$THREADS" \
    --dataset mnist --data-dir "$DATA" --json > "$OUT/dlp-$r.json"
  OMP_NUM_THREADS="$THREADS" "$VENV/bin/python" benches/reference/dni_cnn_torch.py "$DATA/mnist" 1 "$WIDTH" \
    > "$OUT/torch-$r.json"
done
python3 - "$OUT" "$(git rev-parse --short HEAD)" "$WIDTH" "$THREADS" <<'PY'
import glob, json, sys
out, commit, width, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def median(side):
    runs = sorted((json.load(open(p)) for p in glob.glob(f"{out}/{side}-*.json")), key=lambda r: r["samples_per_second"])
    return {**runs[len(runs) // 2], "samples_per_second_runs": [r["samples_per_second"] for r in runs]}
dlp, torch = median("dlp"), median("torch")
res = {"commit": commit, "width": width, "threads": threads, "command": f"bash benches/dni_cnn_speed.sh DATA {width} {threads}",
       "dlp": {k: dlp[k] for k in ("samples_per_second", "samples_per_second_runs", "test_error")},
       "pytorch": {k: torch[k] for k in ("samples_per_second", "samples_per_second_runs", "test_error", "torch")},
       "ratio": dlp["samples_per_second"] / torch["samples_per_second"]}
open("results/dni-speed-cnn.json", "w").write(json.dumps(res, indent=2) + "\n")
print(json.dumps(res, indent=2))
print(f"DNI CNN (width {width}, {threads} threads): dlp {res['ratio']:.2f}x PyTorch's samples per second")
PY
