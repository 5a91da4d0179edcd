"""An independent check of a `dlp dni train --model cnn` checkpoint: the same CNN re-implemented
in PyTorch from the safetensors weights, tested on MNIST with the saved running statistics, with
each batch's own statistics, and with statistics recomputed on 10,000 training images (what
`dlp` does before testing, `Net::recalibrate`).

    dlp dni train --model cnn --width 32 --epochs 2 --method backprop --out runs/cnn32
    python dni_cnn_check.py runs/cnn32/checkpoints/step-00000002/model.safetensors [MNIST_DIR]
"""
import gzip, json, struct, sys
import numpy as np, torch, torch.nn.functional as F
ck = sys.argv[1]
root = (sys.argv[2] if len(sys.argv) > 2 else '../shared/data/mnist').rstrip('/') + '/'
b = open(ck, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8+n])
W = {}
for k, v in h.items():
    if k == '__metadata__': continue
    s, e = v['data_offsets']
    W[k] = torch.from_numpy(np.frombuffer(b[8+n+s:8+n+e], dtype='<f4').reshape(v['shape']).copy())
def idx(p):
    d = gzip.open(p).read(); nd = d[3]; dims = struct.unpack('>' + 'I'*nd, d[4:4+4*nd])
    return np.frombuffer(d[4+4*nd:], dtype=np.uint8).reshape(dims)
x = torch.from_numpy(idx(root + 't10k-images-idx3-ubyte.gz').astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
y = torch.from_numpy(idx(root + 't10k-labels-idx1-ubyte.gz').astype(np.int64))
blocks = sorted({k.split('.')[2] for k in W if k.startswith('net.blocks.')}, key=int)
def fwd(x, train_bn=False):
    for i in blocks:
        p = f'net.blocks.{i}.Conv.'
        x = F.conv2d(x, W[p + 'conv.weight'], W[p + 'conv.bias'], padding=2)
        if train_bn:
            x = F.batch_norm(x, None, None, W[p+'norm.gamma'], W[p+'norm.beta'], training=True, eps=1e-5)
        else:
            x = F.batch_norm(x, W[p+'norm.running_mean'], W[p+'norm.running_var'], W[p+'norm.gamma'], W[p+'norm.beta'], training=False, eps=1e-5)
        x = F.relu(x)
        x = F.max_pool2d(x, 3, 2, 1) if i == '0' else F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
    x = x.flatten(1)
    return x @ W['net.classifier.weight'] + W['net.classifier.bias']
with torch.no_grad():
    print('eval-mode test error', (fwd(x).argmax(1) != y).float().mean().item())
    errs = [(fwd(x[i:i+256], True).argmax(1) != y[i:i+256]).float().mean().item() for i in range(0, 10000, 256)]
    print('batch-stat test error', sum(errs)/len(errs))
    for i in blocks:
        p = f'net.blocks.{i}.Conv.'
        print(i, 'running var mean', W[p+'norm.running_var'].mean().item(), 'running mean mean', W[p+'norm.running_mean'].mean().item())
xt = torch.from_numpy(idx(root + 'train-images-idx3-ubyte.gz')[:10000].astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
with torch.no_grad():
    pop = {}
    z = xt
    for i in blocks:
        p = f'net.blocks.{i}.Conv.'
        z = F.conv2d(z, W[p + 'conv.weight'], W[p + 'conv.bias'], padding=2)
        m = z.mean((0, 2, 3)); v = z.var((0, 2, 3), unbiased=False)
        print(i, 'population mean/var (avg over channels)', m.mean().item(), v.mean().item(),
              'max |running - pop| mean', (W[p+'norm.running_mean'] - m).abs().max().item(), 'var ratio range', (W[p+'norm.running_var'] / v).min().item(), (W[p+'norm.running_var'] / v).max().item())
        W[p+'norm.running_mean'] = m; W[p+'norm.running_var'] = v
        z = F.relu(F.batch_norm(z, m, v, W[p+'norm.gamma'], W[p+'norm.beta'], training=False, eps=1e-5))
        z = F.max_pool2d(z, 3, 2, 1) if i == '0' else F.avg_pool2d(z, 3, 2, 1, count_include_pad=False)
    print('precise-BN test error', (fwd(x).argmax(1) != y).float().mean().item())
