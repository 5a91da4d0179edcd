"""pytorch-fid's own FID network and Fréchet distance, on random weights, for the tests of
`dlp ddpm eval --inception` (crates/dlp-ddpm/tests/inception.rs). The real weights cannot be
downloaded here; random ones (with random batch-norm statistics) exercise every layer the same.

    python fid_reference.py OUT_DIR

writes into OUT_DIR:
- inception.pth: the state_dict of pytorch-fid's `fid_inception_v3()` architecture, random;
- images.safetensors: `gray` [3, 1, 28, 28] and `rgb` [2, 3, 40, 40] images in [0, 1];
- features.safetensors: pytorch-fid `InceptionV3([3])` pool features of each set, [n, 2048];
- frechet.json: feature sets and `calculate_frechet_distance` of each pair, well and badly
  conditioned.
"""
import json, os, sys
import numpy as np
import torch
import torchvision
from safetensors.torch import save_file
import pytorch_fid.inception as pi
from pytorch_fid.fid_score import calculate_frechet_distance

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)

# fid_inception_v3's architecture, without its download.
net = torchvision.models.inception.Inception3(num_classes=1008, aux_logits=False, init_weights=True)
net.Mixed_5b = pi.FIDInceptionA(192, pool_features=32)
net.Mixed_5c = pi.FIDInceptionA(256, pool_features=64)
net.Mixed_5d = pi.FIDInceptionA(288, pool_features=64)
net.Mixed_6b = pi.FIDInceptionC(768, channels_7x7=128)
net.Mixed_6c = pi.FIDInceptionC(768, channels_7x7=160)
net.Mixed_6d = pi.FIDInceptionC(768, channels_7x7=160)
net.Mixed_6e = pi.FIDInceptionC(768, channels_7x7=192)
net.Mixed_7b = pi.FIDInceptionE_1(1280)
net.Mixed_7c = pi.FIDInceptionE_2(2048)
with torch.no_grad():
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.2, 0.2)
state = net.state_dict()
torch.save(state, os.path.join(out, "inception.pth"))

# pytorch-fid's InceptionV3 wrapper (resize to 299 bilinearly, scale to [-1, 1], 2048-d pool),
# loading these weights through its own loader.
pi.load_state_dict_from_url = lambda *a, **k: state
model = pi.InceptionV3([pi.InceptionV3.BLOCK_INDEX_BY_DIM[2048]], resize_input=True,
                       normalize_input=True).eval()

g = torch.Generator().manual_seed(1)
images = {"gray": torch.rand(3, 1, 28, 28, generator=g), "rgb": torch.rand(2, 3, 40, 40, generator=g)}
save_file(images, os.path.join(out, "images.safetensors"))
with torch.no_grad():
    feats = {k: model(v.expand(-1, 3, -1, -1).contiguous())[0].squeeze(-1).squeeze(-1)
             for k, v in images.items()}
save_file(feats, os.path.join(out, "features.safetensors"))

rng = np.random.default_rng(2)
cases = []
for name, n1, n2, d, rank in [("well", 400, 300, 16, 16), ("singular", 12, 10, 32, 32),
                             ("low-rank", 200, 150, 24, 4)]:
    mix = rng.normal(size=(rank, d))
    x = rng.normal(size=(n1, rank)) @ mix
    y = 1.3 * rng.normal(size=(n2, rank)) @ mix + 0.2
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    fid = float(calculate_frechet_distance(mu1, s1, mu2, s2))
    cases.append({"name": name, "d": d, "x": x.tolist(), "y": y.tolist(), "fid": fid})
json.dump(cases, open(os.path.join(out, "frechet.json"), "w"))
print(json.dumps({c["name"]: c["fid"] for c in cases}))
