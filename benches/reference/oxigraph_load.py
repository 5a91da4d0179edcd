"""Oxigraph's own bulk loader (pyoxigraph, the Python binding of the same Rust store) on one
N-Triples file into a fresh on-disk store: triples per second, printed as one JSON object.
Run by benches/kg_import.sh beside `dlp kg import`.

    python oxigraph_load.py --file train.nt --store /tmp/oxi-store
"""
import argparse, json, time

import pyoxigraph


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--file", required=True)
    p.add_argument("--store", required=True)
    a = p.parse_args()
    store = pyoxigraph.Store(a.store)
    start = time.perf_counter()
    store.bulk_load(path=a.file, format=pyoxigraph.RdfFormat.N_TRIPLES)
    seconds = time.perf_counter() - start
    n = len(store)
    print(json.dumps({"system": "pyoxigraph", "version": pyoxigraph.__version__, "triples": n,
                      "seconds": seconds, "triples_per_second": n / seconds}))


if __name__ == "__main__":
    main()
