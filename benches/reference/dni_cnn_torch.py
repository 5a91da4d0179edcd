"""The reference for `dlp dni train --model cnn --method backprop`: the same CNN trained the same
way in PyTorch (3 blocks of a 5x5 convolution to WIDTH channels, batch norm, ReLU and 3x3/2
pooling, max then average; a linear classifier; Adam at 1e-3, batch 256, the epoch's last partial
batch dropped), timed on the device PyTorch picks (CUDA where there is one). Prints one JSON line
with the seconds of training, samples per second and the test error (batch norm in eval mode).

    python dni_cnn_torch.py [MNIST_DIR] [EPOCHS] [WIDTH]
"""
import gzip, json, struct, sys, time
import numpy as np, torch, torch.nn as nn

root = (sys.argv[1] if len(sys.argv) > 1 else '../shared/data/mnist').rstrip('/') + '/'
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
width = int(sys.argv[3]) if len(sys.argv) > 3 else 128
dev = 'cuda' if torch.cuda.is_available() else 'cpu'
torch.manual_seed(0)


def idx(p):
    d = gzip.open(p).read(); nd = d[3]; dims = struct.unpack('>' + 'I' * nd, d[4:4 + 4 * nd])
    return np.frombuffer(d[4 + 4 * nd:], dtype=np.uint8).reshape(dims)


def load(split):
    x = torch.from_numpy(idx(root + f'{split}-images-idx3-ubyte.gz').astype(np.float32) / 255.0)
    y = torch.from_numpy(idx(root + f'{split}-labels-idx1-ubyte.gz').astype(np.int64))
    return x.reshape(-1, 1, 28, 28).to(dev), y.to(dev)


def block(c_in, first):
    pool = nn.MaxPool2d(3, 2, 1) if first else nn.AvgPool2d(3, 2, 1, count_include_pad=False)
    return [nn.Conv2d(c_in, width, 5, padding=2), nn.BatchNorm2d(width), nn.ReLU(), pool]


xtr, ytr = load('train')
xte, yte = load('t10k')
net = nn.Sequential(*block(1, True), *block(width, False), *block(width, False), nn.Flatten(),
                    nn.Linear(width * 16, 10)).to(dev)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
steps = len(xtr) // 256
if dev == 'cuda':
    torch.cuda.synchronize()
start = time.perf_counter()
for _ in range(epochs):
    perm = torch.randperm(len(xtr), device=dev)
    for s in range(steps):
        i = perm[s * 256:(s + 1) * 256]
        opt.zero_grad(set_to_none=True)
        loss_fn(net(xtr[i]), ytr[i]).backward()
        opt.step()
if dev == 'cuda':
    torch.cuda.synchronize()
seconds = time.perf_counter() - start
net.eval()
with torch.no_grad():
    wrong = sum((net(xte[i:i + 1000]).argmax(1) != yte[i:i + 1000]).sum().item()
                for i in range(0, len(xte), 1000))
print(json.dumps({'reference': 'pytorch', 'torch': torch.__version__, 'device': dev,
                  'width': width, 'epochs': epochs, 'seconds': seconds,
                  'samples_per_second': epochs * steps * 256 / seconds,
                  'test_error': wrong / len(xte)}))
