"""The backprop step of the DNI paper's MNIST MLP in PyTorch, the reference for benches/dni_speed.sh.

Linear(784→256) → BatchNorm1d → ReLU, `layers` times, then Linear(256→10); cross-entropy; Adam
1e-3; batch 256 of fixed random inputs (data loading is not timed on either side).

    python dni_mlp.py --layers 3 --batch 256 --steps 300 --threads 2
"""
import argparse
import json
import time

import torch
from torch import nn


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    mods, d = [], 784
    for _ in range(a.layers):
        mods += [nn.Linear(d, a.width), nn.BatchNorm1d(a.width), nn.ReLU()]
        d = a.width
    net = nn.Sequential(*mods, nn.Linear(d, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(a.batch, 784)
    y = torch.randint(0, 10, (a.batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(20):
        step()
    start = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    float(loss.detach())
    secs = time.perf_counter() - start
    print(json.dumps({"steps_per_second": a.steps / secs, "samples_per_second": a.steps * a.batch / secs,
                      "layers": a.layers, "batch": a.batch, "threads": a.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
