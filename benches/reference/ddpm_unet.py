"""The dlp-ddpm U-Net, layer for layer, in PyTorch: seconds per training step and DDIM sampling
throughput on CPU, printed as one JSON object. Run by benches/ddpm_speed.sh beside the Rust side.

    python ddpm_unet.py --config mnist --batch 64 --threads 2
"""
import argparse, json, math, time
import torch
import torch.nn as nn
import torch.nn.functional as F


def groups(c):
    return next(g for g in range(32, 0, -1) if c % g == 0)


def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float64) / (half - 1))
    args = t.double()[:, None] * freqs[None]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1).float()


class Attn(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = nn.GroupNorm(groups(c), c)
        self.q, self.k, self.v, self.proj_out = (nn.Linear(c, c) for _ in range(4))

    def forward(self, x):
        b, c, h, w = x.shape
        s = self.norm(x).reshape(b, c, h * w).transpose(1, 2)
        a = torch.softmax(self.q(s) @ self.k(s).transpose(1, 2) / math.sqrt(c), dim=2)
        return x + self.proj_out(a @ self.v(s)).transpose(1, 2).reshape(b, c, h, w)


class Res(nn.Module):
    def __init__(self, cin, cout, temb, dropout, attn):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups(cin), cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.temb_proj = nn.Linear(temb, cout)
        self.norm2, self.drop = nn.GroupNorm(groups(cout), cout), nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        self.attn = Attn(cout) if attn else nn.Identity()

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x))) + self.temb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.drop(F.silu(self.norm2(h))))
        return self.attn(self.shortcut(x) + h)


class UNet(nn.Module):
    """The dlp-ddpm U-Net (crates/dlp-ddpm/src/unet.rs) with the same parameter names, so that
    `dlp export --format pytorch` weights load with strict=True. Down and Up stages are plain
    convolutions (Up after a nearest x2 upsampling)."""

    def __init__(self, in_ch, res, ch, mult, nrb, attn_res, dropout, num_classes=0):
        super().__init__()
        temb = 4 * ch
        self.ch, self.num_classes = ch, num_classes
        self.conv_in = nn.Conv2d(in_ch, ch, 3, padding=1)
        self.temb_in, self.temb_out = nn.Linear(ch, temb), nn.Linear(temb, temb)
        if num_classes:
            self.class_emb = nn.Embedding(num_classes + 1, temb)  # the last is the null class
        self.down, skips, w, r = nn.ModuleList(), [ch], ch, res
        for i, m in enumerate(mult):
            for _ in range(nrb):
                self.down.append(Res(w, ch * m, temb, dropout, r in attn_res)); w = ch * m; skips.append(w)
            if i + 1 < len(mult):
                self.down.append(nn.Conv2d(w, w, 3, stride=2, padding=1)); skips.append(w); r //= 2
        self.mid = nn.ModuleList([Res(w, w, temb, dropout, True), Res(w, w, temb, dropout, False)])
        self.up = nn.ModuleList()
        for i in reversed(range(len(mult))):
            for _ in range(nrb + 1):
                s = skips.pop(); self.up.append(Res(w + s, ch * mult[i], temb, dropout, r in attn_res)); w = ch * mult[i]
            if i > 0:
                self.up.append(nn.Conv2d(w, w, 3, padding=1)); r *= 2
        self.norm_out, self.conv_out = nn.GroupNorm(groups(w), w), nn.Conv2d(w, in_ch, 3, padding=1)

    def forward(self, x, t, y=None):
        temb = self.temb_out(F.silu(self.temb_in(timestep_embedding(t, self.ch))))
        if self.num_classes:
            y = torch.full_like(t, self.num_classes) if y is None else y
            temb = temb + self.class_emb(y)
        h = self.conv_in(x); hs = [h]
        for m in self.down:
            h = m(h, temb) if isinstance(m, Res) else m(h); hs.append(h)
        for m in self.mid:
            h = m(h, temb)
        for m in self.up:
            if isinstance(m, Res):
                h = m(torch.cat([h, hs.pop()], 1), temb)
            else:
                h = m(F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))


CONFIGS = {
    "mnist": dict(in_ch=1, res=28, ch=16, mult=[1, 2, 4], nrb=1, attn_res=[7], dropout=0.1),
    "cifar10": dict(in_ch=3, res=32, ch=128, mult=[1, 2, 2, 2], nrb=2, attn_res=[16], dropout=0.1),
}


def ms(f, reps=10):
    """Milliseconds per call of f, after one warm-up call."""
    f()
    s = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - s) * 1000 / reps


def op_table():
    """The U-Net's building blocks on [64, 32, 28, 28], with the same keys as unet_speed.rs."""
    y = torch.randn(64, 32, 28, 28)
    conv, gn = nn.Conv2d(32, 32, 3, padding=1), nn.GroupNorm(32, 32)
    r = torch.randn(64, 32, 28, 28)

    def backward(f):
        x = y.clone().requires_grad_()
        (f(x) * r).sum().backward()

    with torch.no_grad():
        fwd = {"conv3x3_forward_ms": ms(lambda: conv(y)), "groupnorm_silu_forward_ms": ms(lambda: F.silu(gn(y))),
               "silu_ms": ms(lambda: F.silu(y)), "exp_ms": ms(lambda: torch.exp(y))}
    return {**fwd, "conv3x3_forward_backward_ms": ms(lambda: backward(conv)),
            "groupnorm_silu_forward_backward_ms": ms(lambda: backward(lambda x: F.silu(gn(x))))}


def gemm_gflops(n=2048):
    """The machine's single-precision matrix-product rate on these threads (best of 3)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    best = min(ms(lambda: a @ b, reps=3) for _ in range(3))
    return 2 * n ** 3 / best / 1e6


def step_flops(net, shape, t):
    """FLOPs of one training step (forward and backward), by PyTorch's own counter."""
    from torch.utils.flop_counter import FlopCounterMode
    x = torch.randn(shape)
    with FlopCounterMode(display=False) as counter:
        (net(x, t) - x).pow(2).mean().backward()
    net.zero_grad()
    return counter.get_total_flops()


def train_step_seconds(fwd, net, opt, shape, t, steps, warmup):
    """Median seconds of a training step (loss, backward, clipping, Adam) after `warmup` steps."""
    times = []
    for i in range(steps + warmup):
        x = torch.randn(shape)
        s = time.perf_counter()
        loss = (fwd(x, t) - x).pow(2).mean()
        opt.zero_grad(); loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - s)
    return sorted(times)[len(times) // 2]


def compiled_step_seconds(c, shape, t, steps=5):
    """The training step under torch.compile (None where it does not run on this machine)."""
    try:
        torch.manual_seed(0)
        net = UNet(**c)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        return train_step_seconds(torch.compile(net), net, opt, shape, t, steps, warmup=2)
    except Exception as e:  # no C++ compiler or an unsupported CPU: say so, keep the rest
        print(f"torch.compile did not run: {e}", file=__import__("sys").stderr)
        return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--config", default="mnist")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--ddim-steps", type=int, default=10)
    p.add_argument("--compile", action="store_true", help="also time the step under torch.compile")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = CONFIGS[a.config]
    net = UNet(**c)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    shape = (a.batch, c["in_ch"], c["res"], c["res"])
    t = torch.randint(0, 1000, (a.batch,))
    train_s = train_step_seconds(net, net, opt, shape, t, a.steps, warmup=1)
    net.eval()
    with torch.no_grad():
        x = torch.randn(shape)
        s = time.perf_counter()
        for k in range(a.ddim_steps):
            x = x - 0.01 * net(x, torch.full((a.batch,), 999 - k * 10))
        sample_s = time.perf_counter() - s
    ops = op_table()
    step_gflop = step_flops(net, shape, t) / 1e9
    compiled = compiled_step_seconds(c, shape, t) if a.compile else None
    print(json.dumps({
        "framework": f"pytorch {torch.__version__}", "config": a.config, "batch": a.batch,
        "threads": a.threads, "parameters": sum(p.numel() for p in net.parameters()),
        "train_step_seconds": train_s,
        "ddim_image_steps_per_second": a.batch * a.ddim_steps / sample_s,
        "forward_seconds": sample_s / a.ddim_steps,
        "ops_ms": ops,
        "step_gflop": step_gflop,
        "gemm_gflops": gemm_gflops(),
        "compiled_train_step_seconds": compiled,
    }))


if __name__ == "__main__":
    main()
