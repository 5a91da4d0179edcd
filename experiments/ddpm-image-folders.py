"""Image folders for `dlp ddpm train --images`: 2,000 MNIST digits as 28x28 PNGs, one folder per
class, into /tmp/folders/mnist2k, and 600 RGB 40x40 PNGs (digits in colour) into /tmp/folders/rgb40.
    python3 experiments/ddpm-image-folders.py ../shared/data
"""
import gzip, struct, zlib, os, sys, random

def png(path, w, h, rows, color):
    raw = b"".join(b"\x00" + bytes(r) for r in rows)
    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2 if color else 0, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

data = sys.argv[1]
imgs = gzip.open(f"{data}/mnist/train-images-idx3-ubyte.gz").read()[16:]
labels = gzip.open(f"{data}/mnist/train-labels-idx1-ubyte.gz").read()[8:]
out = "/tmp/folders/mnist2k"
for i in range(2000):
    d = f"{out}/{labels[i]}"
    os.makedirs(d, exist_ok=True)
    px = imgs[i * 784:(i + 1) * 784]
    png(f"{d}/{i:05d}.png", 28, 28, [px[r * 28:(r + 1) * 28] for r in range(28)], False)
# RGB 40x40: coloured digits on a tinted background, upscaled from MNIST by nearest neighbour.
out = "/tmp/folders/rgb40"
os.makedirs(out, exist_ok=True)
rnd = random.Random(0)
for i in range(600):
    px = imgs[i * 784:(i + 1) * 784]
    fg = [rnd.randrange(128, 256) for _ in range(3)]
    bg = [rnd.randrange(0, 64) for _ in range(3)]
    rows = []
    for y in range(40):
        row = []
        for x in range(40):
            v = px[min(27, y * 28 // 40) * 28 + min(27, x * 28 // 40)] / 255
            row += [int(bg[c] * (1 - v) + fg[c] * v) for c in range(3)]
        rows.append(row)
    png(f"{out}/{i:05d}.png", 40, 40, rows, True)
print("ok")
