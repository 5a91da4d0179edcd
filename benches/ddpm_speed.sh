#!/usr/bin/env bash
# U-Net training step and DDIM sampling throughput: dlp against PyTorch on the same CPU, same
# threads, same architecture, in one invocation: REPEATS (default 3) interleaved runs of each,
# the run with the median training step kept (a shared machine's speed drifts by 30% between
# runs). Writes results/ddpm-speed-CONFIG.json and prints the ratios.
#   bash benches/ddpm_speed.sh [mnist|cifar10] [BATCH] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
config="${1:-mnist}"; batch="${2:-64}"; threads="${3:-2}"
venv=benches/reference/.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "torch==2.15.0"
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dlpapers-target}"
cargo build --release -p dlp-ddpm --example unet_speed
rust="[]"; torch="[]"
for _ in $(seq "${REPEATS:-3}"); do
  rust=$(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1]) + [json.loads(sys.argv[2])]))' "$rust" \
    "$("$CARGO_TARGET_DIR/release/examples/unet_speed" "$config" "$batch" "$threads")")
  torch=$(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1]) + [json.loads(sys.argv[2])]))' "$torch" \
    "$("$venv/bin/python" benches/reference/ddpm_unet.py --config "$config" --batch "$batch" --threads "$threads")")
done
mkdir -p results
python3 - "$rust" "$torch" "$(git rev-parse --short HEAD)" <<'PY'
import json, sys


def median_run(runs):
    """The run with the median training step, with every run's step time beside it."""
    runs = sorted(runs, key=lambda r: r["train_step_seconds"])
    return {**runs[len(runs) // 2], "train_step_seconds_runs": [r["train_step_seconds"] for r in runs]}


rust, torch, commit = median_run(json.loads(sys.argv[1])), median_run(json.loads(sys.argv[2])), sys.argv[3]
out = {"commit": commit, "dlp": rust, "pytorch": torch,
       "train_step_ratio": torch["train_step_seconds"] / rust["train_step_seconds"],
       "sampling_ratio": rust["ddim_image_steps_per_second"] / torch["ddim_image_steps_per_second"]}
path = f"results/ddpm-speed-{rust['config']}.json"
open(path, "w").write(json.dumps(out, indent=2) + "\n")
print(json.dumps(out, indent=2))
print(f"speed relative to PyTorch (above 1 is faster): training {out['train_step_ratio']:.2f}x, sampling {out['sampling_ratio']:.2f}x -> {path}")
for op in sorted(set(rust["ops_forward_ms"]) & set(torch["ops_forward_ms"])):
    print(f"  {op}: dlp {rust['ops_forward_ms'][op]:.2f} ms, pytorch {torch['ops_forward_ms'][op]:.2f} ms")
PY
