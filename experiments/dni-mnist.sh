#!/usr/bin/env bash
# The DNI tables on MNIST (Jaderberg et al. 2017, Table 1 and Sections 3.3–3.4), shortened to fit
# 2 cores: every method gets the same number of updates (EPOCHS epochs of batch 256).
#   1. depth: backprop, DNI and cDNI on FC nets of 3–6 layers of 256 units, seeds 0–2;
#   2. stochastic updates: cDNI, 3 layers, p in {1, 0.5, 0.2}, at equal iterations and at equal
#      expected layer updates (EPOCHS/p epochs);
#   3. forward unlocking: decoupled (synthetic inputs and cDNI) beside backprop and backprop with
#      the first block frozen at its random start;
#   4. cnn (not in the default): the paper's CNN, 3 blocks of CNN_WIDTH 5x5 filters (paper: 128;
#      default 32 to fit the CPU), backprop, DNI and cDNI, CNN_EPOCHS epochs (default 2);
#   5. preact (not in the default): DNI with modules meeting at the pre-activation (after batch
#      norm, before the ReLU; `--interface preactivation`, synthetic-gradient rate 3e-3), the
#      depth protocol's layers, seeds and epochs;
#   6. sgrate (not in the default): unconditional DNI, 3 layers, EPOCHS/4 epochs, by the rate and
#      the hidden layer of the synthetic-gradient models, beside backprop and cDNI.
#   7. cifar10 and fashion-mnist (not in the default): the depth protocol on that dataset, seeds
#      SEEDS (default 0 1 2; the sweep time is written per invocation and the table adds them),
#      plus DNI at the pre-activation; fetches the dataset into the data directory first if it is
#      not there (`dlp data fetch`), so DLP_DATA_DIR must be writable and hold mnist too;
#   8. cifar10-cnn (not in the default): the CNN part on CIFAR-10 (CNN_WIDTH, CNN_EPOCHS).
#   9. floor (not in the default): the depth protocol with every block frozen at its random
#      start (`--freeze LAYERS`: the classifier alone learns), the error that DNI's synthetic
#      gradients must beat to have taught the blocks anything.
#  10. preact-mlp (not in the default): preact with an MLP synthetic-gradient model (1,024 hidden
#      units, batch norm, ReLU; `--sg-hidden 1024`), the depth protocol's layers, seeds and epochs.
#  11. sgwidth (not in the default): preact-mlp at 4 layers by the hidden width of M_i: 4,096 units
#      with seeds 0-2, 512 and 2,048 with seed 0 (1,024 is preact-mlp's).
#  12. decay (not in the default): the depth protocol with the layers' rate decayed (`--lr-decay`:
#      a tenth from 60% of the steps, a hundredth from 80%) for backprop and cDNI, and DNI at the
#      pre-activation with an MLP M_i of 1,024 units at rate 1e-2.
#  13. decay-wide (not in the default): decay's DNI with M_i of 2,048 units at 4 to 6 layers.
#  14. orth and floor-orth (not in the default): decay and floor with every FC block starting
#      from random orthogonal weights (`--orthogonal-init`) instead of Kaiming-uniform ones.
#  15. identity and floor-identity (not in the default): orth and floor with the square blocks
#      starting at the identity (`--identity-init`); LAYERS (default 3 4 5 6) picks the depths in
#      decay, orth, identity and identity-workers.
#  16. identity-workers (not in the default): identity with DNI and cDNI on the concurrent
#      trainer, 2 workers of one thread (`--workers 2`; backprop is locked and runs sequentially).
# Summaries go to results/dni/*.json; results/dni/README.md is rebuilt from them; `table` stamps
# the tables of FAMILY (default mnist; cnn, sgrate) with the current commit.
#
#   experiments/dni-mnist.sh [depth|stochastic|forward|cnn|preact|preact-mlp|sgwidth|decay|decay-wide|orth|identity|identity-workers|floor|floor-orth|floor-identity|sgrate|cifar10|fashion-mnist|cifar10-cnn|table]...   # default: depth stochastic forward table
#   FAMILY=cnn experiments/dni-mnist.sh cnn table
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dlpapers-target}"
DATA="${DLP_DATA_DIR:-../shared/data}"
if [ -z "${DLP:-}" ]; then cargo build --release -p dlp-cli; DLP="$CARGO_TARGET_DIR/release/dlp"; fi
EPOCHS="${EPOCHS:-20}"
RES=results/dni
mkdir -p "$RES"
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(depth stochastic forward table)

run() { # NAME ARGS...
  local name=$1; shift
  "$DLP" dni train --dataset "${DATASET:-mnist}" --data-dir "$DATA" --json "$@" \
    | python3 -c "import json,sys; s=json.load(sys.stdin); s['args']='$*'; print(json.dumps(s, indent=2))" \
    > "$RES/$name.json"
  python3 -c "import json; s=json.load(open('$RES/$name.json')); print('$name', 'test error', round(s['test_error'], 4), 'in', round(s['seconds'], 1), 's')"
}

for part in "${parts[@]}"; do
  case $part in
    depth)
      start=$(date +%s)
      for layers in 3 4 5 6; do for seed in 0 1 2; do for m in backprop dni cdni; do
        run "depth-$m-l$layers-s$seed" --method $m --layers $layers --epochs "$EPOCHS" --seed $seed
      done; done; done
      echo "{\"part\": \"depth\", \"epochs\": $EPOCHS, \"seconds\": $(( $(date +%s) - start ))}" > "$RES/depth-sweep-time.json"
      ;;
    stochastic)
      base=$(( EPOCHS / 4 ))
      for p in 1 0.5 0.2; do
        run "stochastic-p$p-iters" --method cdni --update-prob $p --epochs $base
        equal=$(python3 -c "print(round($base / $p))")
        [ "$p" = 1 ] || run "stochastic-p$p-updates" --method cdni --update-prob $p --epochs "$equal"
      done
      ;;
    forward)
      for m in "decoupled" "backprop" "backprop --freeze 1"; do
        run "forward-${m// --freeze 1/-frozen-first}" --method $m --epochs "$EPOCHS"
      done
      ;;
    cnn)
      for m in backprop dni cdni; do
        run "cnn-$m" --model cnn --width "${CNN_WIDTH:-32}" --method $m --epochs "${CNN_EPOCHS:-2}"
      done
      ;;
    preact)
      start=$(date +%s)
      for layers in 3 4 5 6; do for seed in 0 1 2; do
        run "preact-dni-l$layers-s$seed" --method dni --interface preactivation --sg-lr 3e-3 --layers $layers --epochs "$EPOCHS" --seed $seed
      done; done
      echo "{\"part\": \"preact\", \"epochs\": $EPOCHS, \"seconds\": $(( $(date +%s) - start ))}" > "$RES/preact-sweep-time.json"
      ;;
    preact-mlp)
      start=$(date +%s)
      for layers in 3 4 5 6; do for seed in 0 1 2; do
        run "preactmlp-dni-l$layers-s$seed" --method dni --interface preactivation --sg-hidden 1024 --sg-lr 3e-3 --layers $layers --epochs "$EPOCHS" --seed $seed
      done; done
      echo "{\"part\": \"preact-mlp\", \"epochs\": $EPOCHS, \"seconds\": $(( $(date +%s) - start ))}" > "$RES/preactmlp-sweep-time.json"
      ;;
    sgwidth)
      start=$(date +%s)
      for seed in 0 1 2; do
        run "sgwidth-l4-h4096-s$seed" --method dni --interface preactivation --sg-hidden 4096 --sg-lr 3e-3 --layers 4 --epochs "$EPOCHS" --seed $seed
      done
      for h in 512 2048; do
        run "sgwidth-l4-h$h-s0" --method dni --interface preactivation --sg-hidden $h --sg-lr 3e-3 --layers 4 --epochs "$EPOCHS" --seed 0
      done
      echo "{\"part\": \"sgwidth\", \"epochs\": $EPOCHS, \"seconds\": $(( $(date +%s) - start ))}" > "$RES/sgwidth-sweep-time.json"
      ;;
    decay|orth|identity|identity-workers)
      start=$(date +%s)
      name=${part//-/}
      init=(); [ "$part" = orth ] && init=(--orthogonal-init)
      [[ "$part" = identity* ]] && init=(--identity-init)
      workers=(); [ "$part" = identity-workers ] && workers=(--workers 2)
      for layers in ${LAYERS:-3 4 5 6}; do for seed in 0 1 2; do
        run "$name-backprop-l$layers-s$seed" --method backprop --lr-decay ${init[@]+"${init[@]}"} --layers $layers --epochs "$EPOCHS" --seed $seed
        run "$name-cdni-l$layers-s$seed" --method cdni --lr-decay ${init[@]+"${init[@]}"} ${workers[@]+"${workers[@]}"} --layers $layers --epochs "$EPOCHS" --seed $seed
        run "$name-dni-l$layers-s$seed" --method dni --lr-decay ${init[@]+"${init[@]}"} ${workers[@]+"${workers[@]}"} --interface preactivation --sg-hidden 1024 --sg-lr 1e-2 --layers $layers --epochs "$EPOCHS" --seed $seed
      done; done
      echo "{\"part\": \"$part\", \"epochs\": $EPOCHS, \"seconds\": $(( $(date +%s) - start ))}" > "$RES/$name-sweep-time.json"
      ;;
    decay-wide)
      start=$(date +%s)
      for layers in 4 5 6; do for seed in 0 1 2; do
        run "decaywide-dni-l$layers-s$seed" --method dni --lr-decay --interface preactivation --sg-hidden 2048 --sg-lr 1e-2 --layers $layers --epochs "$EPOCHS" --seed $seed
      done; done
      echo "{\"part\": \"decay-wide\", \"epochs\": $EPOCHS, \"seconds\": $(( $(date +%s) - start ))}" > "$RES/decaywide-sweep-time.json"
      ;;
    floor|floor-orth|floor-identity)
      start=$(date +%s)
      init=(); [ "$part" = floor-orth ] && init=(--orthogonal-init)
      [ "$part" = floor-identity ] && init=(--identity-init)
      for layers in 3 4 5 6; do for seed in 0 1 2; do
        run "$part-l$layers-s$seed" --method backprop ${init[@]+"${init[@]}"} --freeze $layers --layers $layers --epochs "$EPOCHS" --seed $seed
      done; done
      echo "{\"part\": \"$part\", \"epochs\": $EPOCHS, \"seconds\": $(( $(date +%s) - start ))}" > "$RES/$part-sweep-time.json"
      ;;
    sgrate)
      quarter=$(( EPOCHS / 4 ))
      run "sgrate-backprop" --method backprop --epochs $quarter
      run "sgrate-cdni" --method cdni --epochs $quarter
      for r in 1e-4 1e-3 1e-2 3e-2 1e-1; do run "sgrate-dni-h0-r$r" --method dni --sg-lr $r --epochs $quarter; done
      for r in 1e-3 1e-2; do run "sgrate-dni-h1024-r$r" --method dni --sg-hidden 1024 --sg-lr $r --epochs $quarter; done
      ;;
    cifar10-cnn)
      for m in backprop dni cdni; do
        DATASET=cifar10 run "cifar10-cnn-$m" --model cnn --width "${CNN_WIDTH:-32}" --method $m --epochs "${CNN_EPOCHS:-2}"
      done
      ;;
    cifar10|fashion-mnist)
      "$DLP" data verify "$part" --data-dir "$DATA" >/dev/null 2>&1 || "$DLP" data fetch "$part" --data-dir "$DATA"
      start=$(date +%s)
      for seed in ${SEEDS:-0 1 2}; do for layers in 3 4 5 6; do
        for m in backprop dni cdni; do
          DATASET=$part run "$part-$m-l$layers-s$seed" --method $m --layers $layers --epochs "$EPOCHS" --seed $seed
        done
        DATASET=$part run "$part-preact-l$layers-s$seed" --method dni --interface preactivation --sg-lr 3e-3 --layers $layers --epochs "$EPOCHS" --seed $seed
      done; done
      seeds=${SEEDS:-0 1 2}
      echo "{\"part\": \"$part\", \"epochs\": $EPOCHS, \"seconds\": $(( $(date +%s) - start ))}" > "$RES/$part-sweep-time-s${seeds// /-}.json"
      ;;
    table) python3 experiments/dni_tables.py "$RES" "${FAMILY:-mnist}" "$(git rev-parse --short HEAD)" "$EPOCHS" ;;
    *) echo "unknown part $part" >&2; exit 2 ;;
  esac
done
