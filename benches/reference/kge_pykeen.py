"""PyKEEN 1.11 training throughput for a KG embedding model, the same settings as `dlp kg embed
train --training ns` (negative sampling, Adam, no regulariser): training triples per second of
one or more epochs, printed as one JSON object. Run by benches/kg_speed.sh beside the Rust side.

    python kge_pykeen.py --data ../shared/data/fb15k-237 --model transe --threads 2
"""
import argparse, gzip, json, os, time

import numpy as np
import torch
import pykeen
from pykeen.losses import MarginRankingLoss, NSSALoss
from pykeen.models import RotatE, TransE
from pykeen.training import SLCWATrainingLoop
from pykeen.triples import TriplesFactory


def read(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\r\n").split("\t") for line in f if line.strip()]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--model", choices=["transe", "rotate"], required=True)
    p.add_argument("--dim", type=int, default=200)
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--negatives", type=int, default=64)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lr", type=float, default=0.001)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    name = next(n for n in ("train.txt", "train.txt.gz") if os.path.exists(os.path.join(a.data, n)))
    triples = np.array(read(os.path.join(a.data, name)), dtype=str)
    tf = TriplesFactory.from_labeled_triples(triples)
    if a.model == "transe":
        model = TransE(triples_factory=tf, embedding_dim=a.dim, scoring_fct_norm=1, loss=MarginRankingLoss(margin=1.0))
    else:
        model = RotatE(triples_factory=tf, embedding_dim=a.dim, loss=NSSALoss(margin=6.0, adversarial_temperature=1.0))
    optimizer = torch.optim.Adam(model.parameters(), lr=a.lr)
    loop = SLCWATrainingLoop(
        model=model,
        triples_factory=tf,
        optimizer=optimizer,
        negative_sampler="basic",
        negative_sampler_kwargs=dict(num_negs_per_pos=a.negatives),
    )
    start = time.perf_counter()
    losses = loop.train(triples_factory=tf, num_epochs=a.epochs, batch_size=a.batch, use_tqdm=False)
    seconds = time.perf_counter() - start
    print(json.dumps({
        "system": "pykeen", "model": a.model, "dim": a.dim, "batch": a.batch, "negatives": a.negatives,
        "epochs": a.epochs, "threads": a.threads, "seconds": seconds,
        "triples_per_second": a.epochs * tf.num_triples / seconds, "final_loss": losses[-1],
        "pykeen": pykeen.get_version(), "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
