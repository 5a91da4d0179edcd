#!/usr/bin/env bash
# U-Net training step and DDIM sampling throughput: dlp against PyTorch on the same CPU, same
# threads, same architecture, one run. Writes results/ddpm-speed.json and prints the ratios.
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
rust=$("$CARGO_TARGET_DIR/release/examples/unet_speed" "$config" "$batch" "$threads")
torch=$("$venv/bin/python" benches/reference/ddpm_unet.py --config "$config" --batch "$batch" --threads "$threads")
mkdir -p results
python3 - "$rust" "$torch" "$(git rev-parse --short HEAD)" <<'PY'
import json, sys
rust, torch, commit = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
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
