#!/usr/bin/env bash
# U-Net training step and DDIM sampling throughput: dlp (our kernels, and burn's own ops for
# comparison) against PyTorch eager on the same CPU, same threads, same architecture, in one
# invocation: REPEATS (default 3) interleaved runs of each, the run with the median training step
# kept (a shared machine's speed drifts between runs). Also a per-op table (conv and
# GroupNorm+SiLU, forward and forward+backward, on [64, 32, 28, 28]), the machine's measured
# 2048³ SGEMM rate, each side's achieved GFLOP/s on the step (FLOPs by PyTorch's counter), and
# PyTorch under torch.compile where it runs (COMPILE=0 to skip). Writes
# results/ddpm-speed-CONFIG.json and prints the ratios.
#   bash benches/ddpm_speed.sh [mnist|cifar10] [BATCH] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
config="${1:-mnist}"; batch="${2:-64}"; threads="${3:-2}"
venv=benches/reference/.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c "import torch" 2>/dev/null || "$venv/bin/pip" install --quiet "torch==2.15.0"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dlpapers-target}"
cargo xtask dlp --version >/dev/null  # brings libclang where needed, as every build here
cargo build --release -p dlp-ddpm --example unet_speed
bin="$CARGO_TARGET_DIR/release/examples/unet_speed"
out=$(mktemp -d)
compile=(); [ "${COMPILE:-1}" = 1 ] && compile=(--compile)
for r in $(seq "${REPEATS:-3}"); do
  "$bin" "$config" "$batch" "$threads" > "$out/dlp-$r.json"
  "$bin" "$config" "$batch" "$threads" burn > "$out/burn-$r.json"
  "$venv/bin/python" benches/reference/ddpm_unet.py --config "$config" --batch "$batch" --threads "$threads" \
    ${compile[@]+"${compile[@]}"} > "$out/torch-$r.json" 2> "$out/torch-$r.err" || { cat "$out/torch-$r.err" >&2; exit 1; }
  compile=()  # torch.compile once: its warm-up is minutes on 2 cores
done
mkdir -p results
python3 - "$out" "$(git rev-parse --short HEAD)" "$config" <<'PY'
import glob, json, sys
out, commit, config = sys.argv[1], sys.argv[2], sys.argv[3]


def median_run(side):
    """The run with the median training step, with every run's step time beside it."""
    runs = sorted((json.load(open(p)) for p in glob.glob(f"{out}/{side}-*.json")), key=lambda r: r["train_step_seconds"])
    return {**runs[len(runs) // 2], "train_step_seconds_runs": [r["train_step_seconds"] for r in runs]}


dlp, burn, torch = median_run("dlp"), median_run("burn"), median_run("torch")
compiled = next((r["compiled_train_step_seconds"] for r in map(lambda p: json.load(open(p)), glob.glob(f"{out}/torch-*.json"))
                 if r.get("compiled_train_step_seconds")), None)
gflop = torch["step_gflop"]
res = {"commit": commit, "command": f"bash benches/ddpm_speed.sh {config} {dlp['batch']} {dlp['threads']}",
       "dlp": dlp, "dlp_with_burn_ops": burn, "pytorch": torch,
       "pytorch_compiled_train_step_seconds": compiled,
       "train_step_ratio": torch["train_step_seconds"] / dlp["train_step_seconds"],
       "sampling_ratio": dlp["ddim_image_steps_per_second"] / torch["ddim_image_steps_per_second"],
       "step_gflop": gflop,
       "achieved_gflops": {"dlp": gflop / dlp["train_step_seconds"], "dlp_with_burn_ops": gflop / burn["train_step_seconds"],
                           "pytorch": gflop / torch["train_step_seconds"]},
       "gemm_gflops": {"dlp": dlp["gemm_gflops"], "pytorch": torch["gemm_gflops"]}}
path = f"results/ddpm-speed-{config}.json"
open(path, "w").write(json.dumps(res, indent=2) + "\n")
print(f"{config}, batch {dlp['batch']}, {dlp['threads']} threads, commit {commit} (median of {len(dlp['train_step_seconds_runs'])} interleaved runs)")
print(f"  training step: dlp {dlp['train_step_seconds']:.3f} s, burn's ops {burn['train_step_seconds']:.3f} s, PyTorch {torch['train_step_seconds']:.3f} s"
      + (f", torch.compile {compiled:.3f} s" if compiled else "") + f" -> {res['train_step_ratio']:.2f}x PyTorch")
print(f"  DDIM: dlp {dlp['ddim_image_steps_per_second']:.0f}, burn's ops {burn['ddim_image_steps_per_second']:.0f}, PyTorch {torch['ddim_image_steps_per_second']:.0f} image-steps/s -> {res['sampling_ratio']:.2f}x")
a = res["achieved_gflops"]
print(f"  step {gflop:.1f} GFLOP: dlp {a['dlp']:.0f} GFLOP/s, PyTorch {a['pytorch']:.0f}; 2048^3 SGEMM peak {dlp['gemm_gflops']:.0f} (dlp) / {torch['gemm_gflops']:.0f} (PyTorch)")
print("  op on [64, 32, 28, 28]          dlp ms   burn ms   PyTorch ms")
for op in dlp["ops_ms"]:
    print(f"  {op:<34} {dlp['ops_ms'][op]:7.2f}  {burn['ops_ms'][op]:7.2f}  {torch['ops_ms'].get(op, float('nan')):9.2f}")
print(f"-> {path}")
PY
