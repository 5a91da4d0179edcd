"""Loads a `dlp export --format pytorch` file into the matching torch.nn.Module with
`load_state_dict(strict=True)`, the module built from the file's model card alone:

    from pytorch_export import load
    net, card = load("unet.safetensors")   # a UNet, MlpDenoiser, DniNet or Kge, in eval mode

With a check file (written by the test crates/dlp-cli/tests/export_pytorch.rs: inputs and dlp's
outputs), runs the module on the inputs and compares; prints one JSON line and exits 1 when an
output differs by more than 1e-5 (absolute, or relative to the largest output):

    python pytorch_export.py WEIGHTS.safetensors CHECK.safetensors
"""
import json, sys
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file

from ddpm_unet import UNet, timestep_embedding


class MlpDenoiser(nn.Module):
    """dlp-ddpm's 2-D denoiser (crates/dlp-ddpm/src/model.rs): h = SiLU(input(x) + time(e(t))),
    residual blocks h += SiLU(block(h)), then the output layer."""

    def __init__(self, hidden, layers):
        super().__init__()
        self.input, self.time = nn.Linear(2, hidden), nn.Linear(64, hidden)
        self.blocks = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(layers))
        self.output = nn.Linear(hidden, 2)

    def forward(self, x, t):
        h = F.silu(self.input(x) + self.time(timestep_embedding(t, 64)))
        for b in self.blocks:
            h = h + F.silu(b(h))
        return self.output(h)


class DniBlock(nn.Module):
    """dlp-dni's block: Linear, batch norm, ReLU (FC); or a 5x5 convolution keeping the size,
    batch norm, ReLU and 3x3 pooling with stride 2 (max in the first block, else average)."""

    def __init__(self, c_in, width, image=None, first=False):
        super().__init__()
        self.image, self.first = image, first
        if image is None:
            self.linear, self.norm = nn.Linear(c_in, width), nn.BatchNorm1d(width)
        else:
            self.conv, self.norm = nn.Conv2d(c_in, width, 5, padding=2), nn.BatchNorm2d(width)

    def forward(self, x):
        if self.image is None:
            return F.relu(self.norm(self.linear(x)))
        y = F.relu(self.norm(self.conv(x.reshape(x.shape[0], *self.image))))
        y = F.max_pool2d(y, 3, 2, 1) if self.first else F.avg_pool2d(y, 3, 2, 1, count_include_pad=False)
        return y.flatten(1)


class DniNet(nn.Module):
    """dlp-dni's network (crates/dlp-dni/src/layers.rs): blocks, then a linear classifier, on
    flat rows [B, features]."""

    def __init__(self, arch, layers, width, input, classes):
        super().__init__()
        blocks, image = [], (arch["cnn"]["image"] if isinstance(arch, dict) else None)
        features = input
        for i in range(layers):
            if image is None:
                blocks.append(DniBlock(features, width)); features = width
            else:
                blocks.append(DniBlock(image[0], width, image, i == 0))
                image = [width, (image[1] + 1) // 2, (image[2] + 1) // 2]
                features = width * image[1] * image[2]
        self.blocks, self.classifier = nn.ModuleList(blocks), nn.Linear(features, classes)

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return self.classifier(x)


class Kge(nn.Module):
    """dlp-kg's embedding tables (crates/dlp-kg/src/embed/score.rs): a complex vector is its d
    real parts then its d imaginary parts; RotatE's relation is its d phases."""

    def __init__(self, model, dim, num_entities, num_relations, reciprocal):
        super().__init__()
        self.model, self.dim = model, dim
        complex_ = model in ("complex", "rotate")
        rel_width = dim if model == "rotate" else (2 * dim if complex_ else dim)
        self.entities = nn.Embedding(num_entities, 2 * dim if complex_ else dim)
        self.relations = nn.Embedding(num_relations * (2 if reciprocal else 1), rel_width)

    def forward(self, h, r, t):
        """f(h, r, t) for index tensors h, r, t."""
        eh, er, et = self.entities(h), self.relations(r), self.entities(t)
        d = self.dim
        if self.model == "distmult":
            return (eh * er * et).sum(-1)
        if self.model == "complex":
            hr, hi, rr, ri, tr, ti = eh[:, :d], eh[:, d:], er[:, :d], er[:, d:], et[:, :d], et[:, d:]
            return (hr * rr * tr + hi * rr * ti + hr * ri * ti - hi * ri * tr).sum(-1)
        if self.model == "rotate":
            hc, tc = torch.complex(eh[:, :d], eh[:, d:]), torch.complex(et[:, :d], et[:, d:])
            return -(hc * torch.polar(torch.ones_like(er), er) - tc).abs().sum(-1)
        p = self.model["transe"]["p"]
        return -torch.linalg.vector_norm(eh + er - et, ord=p, dim=-1)


def load(path):
    """The module for an exported file, its weights loaded strictly, in eval mode; and the card."""
    with safe_open(path, "pt") as f:
        meta = f.metadata()
    card, kind = json.loads(meta["dlp_config"]), meta["dlp_model"]
    if kind == "ddpm-unet":
        u = card["model"]["unet"] if "unet" in card["model"] else card["model"]
        net = UNet(u["in_channels"], u["resolution"], u["ch"], u["ch_mult"], u["num_res_blocks"],
                   u["attn_resolutions"], u["dropout"], u["num_classes"])
    elif kind == "ddpm-mlp":
        net = MlpDenoiser(card["model"]["hidden"], card["model"]["layers"])
    elif kind == "dni-net":
        t = card["train"]
        net = DniNet(t["arch"], t["layers"], t["width"], card["input"], card["classes"])
    elif kind == "kge":
        net = Kge(card["model"], card["dim"], card["num_entities"], card["num_relations"], card["reciprocal"])
    else:
        raise SystemExit(f"{path}: no PyTorch module for `{kind}`")
    net.load_state_dict(load_file(path), strict=True)
    return net.eval(), card


def check(weights, check_file):
    net, _ = load(weights)
    c = load_file(check_file)
    with torch.no_grad():
        if isinstance(net, (UNet, MlpDenoiser)):
            out = net(c["x"], c["t"].long())
        elif isinstance(net, DniNet):
            out = net(c["x"])
        else:
            h, r, t = c["triples"].long().unbind(1)
            out = net(h, r, t)
    diff = (out - c["expected"]).abs().max().item()
    scale = max(1.0, c["expected"].abs().max().item())
    ok = diff <= 1e-5 * scale
    print(json.dumps({"model": type(net).__name__, "max_abs_diff": diff, "scale": scale, "ok": ok}))
    return ok


if __name__ == "__main__":
    sys.exit(0 if check(sys.argv[1], sys.argv[2]) else 1)
