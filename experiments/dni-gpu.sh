#!/usr/bin/env bash
# dlp on a GPU: burn's wgpu backend on Vulkan (`--features vulkan`), then the paper's CNN
# (3 blocks of 128 5x5 filters) for 1 epoch by backprop, DNI and cDNI side by side on one GPU,
# and the PyTorch reference of the same CNN. Summaries go to results/dni/gpu/.
#
# Build here (about 25 minutes on 2 cores, its own target directory):
#   CARGO_TARGET_DIR=~/.cache/dlpapers-target-gpu cargo build --release -p dlp-cli --features vulkan
# then on the GPU machine, with the Vulkan loader (Debian's libvulkan1) and the NVIDIA driver's
# Vulkan ICD (libGLX_nvidia, which needs libglvnd0 and libglx0):
#   DLP=path/to/dlp DLP_DATA_DIR=path/to/data experiments/dni-gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DLP="${DLP:-$HOME/.cache/dlpapers-target-gpu/release/dlp}"
OUT="${OUT:-results/dni/gpu}"
mkdir -p "$OUT"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
"$DLP" dni train --dataset mnist --method backprop --epochs 1 --device gpu --json > "$OUT/gpu-fc-bp-e1.json" &
for m in backprop dni cdni; do
  "$DLP" dni train --dataset mnist --model cnn --method $m --epochs 1 --device gpu --json > "$OUT/cnn128-$m-e1.json" &
done
wait
python3 benches/reference/dni_cnn_torch.py "${DLP_DATA_DIR:-../shared/data}/mnist" 1 128 > "$OUT/torch-cnn128-e1.json"
