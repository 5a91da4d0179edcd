#!/usr/bin/env bash
# `dlp kg serve` under load, beside Oxigraph's own server (`oxigraph serve`, oxigraph-cli 0.5.13)
# on the same facts, in one run: REQUESTS cheap queries (an ASK on one subject) from 64 kept-alive
# connections while 16 expensive queries (ORDER BY over every fact) run alongside; both servers
# time queries out at 2 s. Prints one JSON object per server: throughput, p50/p99 of the cheap queries,
# status codes, transport errors, each slow query's status and seconds, RSS before and after.
#
#   bash benches/kg_serve_load.sh [FACTS] [REQUESTS]        (defaults 1000000 10000)
#
# Needs `oxigraph` on PATH or in ~/.cache/dlpapers/oxigraph-cli/bin (cargo install oxigraph-cli
# --version 0.5.13 --locked --root ~/.cache/dlpapers/oxigraph-cli; it builds RocksDB, ~15 min).
set -euo pipefail
cd "$(dirname "$0")/.."
facts=${1:-1000000}
requests=${2:-10000}
oxigraph=$(command -v oxigraph || echo "$HOME/.cache/dlpapers/oxigraph-cli/bin/oxigraph")
cargo build --release -q -p dlp-cli -p dlp-kg --example sparql_load
target=${CARGO_TARGET_DIR:-target}
dlp="$target/release/dlp"
load="$target/release/examples/sparql_load"
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# FACTS facts: subjects s0…, ten predicates each, objects among the subjects.
python3 - "$facts" > "$work/facts.nt" <<'EOF'
import sys
n = int(sys.argv[1]) // 10
w = sys.stdout.write
for i in range(n):
    for j in range(10):
        w(f"<http://e/s{i}> <http://e/p{j}> <http://e/s{(i * 7 + j * 13) % n}> .\n")
EOF
"$dlp" kg import --store "$work/dlp" "$work/facts.nt" >&2
"$oxigraph" load --location "$work/oxi" --file "$work/facts.nt" >&2

cheap='ASK { <http://e/s{i}> <http://e/p3> ?o }'
slow='SELECT ?s WHERE { ?s ?p ?o } ORDER BY DESC(?s) LIMIT 1'
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
wait_for() { for _ in $(seq 100); do curl -s -o /dev/null "http://$1/sparql?query=ASK%7B%7D" && return; sleep 0.2; done; }

measure() { # NAME PID ADDR
  wait_for "$3"
  local before; before=$(rss "$2")
  local out; out=$("$load" "http://$3/sparql" "$requests" 64 16 "$cheap" "$slow")
  sleep 2
  echo "{\"server\": \"$1\", \"facts\": $facts, \"rss_kb_before\": $before, \"rss_kb_after\": $(rss "$2"), \"load\": $out}"
}

"$dlp" kg serve --store "$work/dlp" --bind 127.0.0.1:17878 --timeout-ms 2000 >/dev/null 2>&1 &
pid=$!
measure "dlp kg serve --timeout-ms 2000" $pid 127.0.0.1:17878
kill $pid; wait $pid 2>/dev/null || true

"$oxigraph" serve --location "$work/oxi" --bind 127.0.0.1:17879 --timeout-s 2 >/dev/null 2>&1 &
pid=$!
measure "oxigraph serve --timeout-s 2 (oxigraph-cli 0.5.13)" $pid 127.0.0.1:17879
kill $pid; wait $pid 2>/dev/null || true
