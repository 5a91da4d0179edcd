#!/usr/bin/env bash
# Bulk import speed: FB15k-237's training triples as N-Triples into a fresh on-disk store, by
# `dlp kg import` and by Oxigraph's own bulk loader (pyoxigraph), same file, same machine, same
# run. Writes results/kg-import-fb15k237.json.
#
#   benches/kg_import.sh [DATA_DIR]      (default ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-../shared/data}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dlpapers-target}"
if [ -z "${DLP:-}" ]; then cargo build --release -p dlp-cli; DLP="$CARGO_TARGET_DIR/release/dlp"; fi
VENV=benches/reference/.venv
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
"$VENV/bin/python" -c "import pyoxigraph" 2>/dev/null || "$VENV/bin/pip" install --quiet pyoxigraph
T=$(mktemp -d)
"$DLP" kg import --store "$T/convert" "$DATA/fb15k-237/train.txt.gz" > /dev/null
"$DLP" kg export --store "$T/convert" "$T/train.nt" > /dev/null
"$DLP" kg import --store "$T/dlp" --threads 2 "$T/train.nt" --json > "$T/dlp.json"
"$VENV/bin/python" benches/reference/oxigraph_load.py --file "$T/train.nt" --store "$T/oxigraph" > "$T/oxigraph.json"
python3 - "$T" "$(git rev-parse --short HEAD)" <<'PY'
import json, sys
t, commit = sys.argv[1], sys.argv[2]
d = json.load(open(f"{t}/dlp.json"))
o = json.load(open(f"{t}/oxigraph.json"))
f = d["files"][0]
r = {"command": "benches/kg_import.sh", "commit": commit, "file": "FB15k-237 train as N-Triples",
     "triples": f["quads"], "dlp_seconds": f["seconds"], "dlp_triples_per_second": f["quads_per_second"],
     "oxigraph_seconds": o["seconds"], "oxigraph_triples_per_second": o["triples_per_second"],
     "oxigraph_version": o["version"], "ratio": f["quads_per_second"] / o["triples_per_second"]}
json.dump(r, open("results/kg-import-fb15k237.json", "w"), indent=2)
print(json.dumps(r, indent=2))
PY
rm -rf "$T"
