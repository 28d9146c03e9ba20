#!/usr/bin/env python3
"""Reference speed of the per-image work of `bit prepare`, in PIL (Debian python3-pil), one process:
read, decode, convert to RGB, resize the shorter side to MAX_SIDE (bicubic), re-encode JPEG q90.

    /usr/bin/python3 bench/pil_reference.py IMAGE_DIR [--max-side 256] [--repeat 2]
"""
import argparse
import glob
import io
import os
import time

import PIL
from PIL import Image


def process(path, max_side):
    with open(path, 'rb') as f:
        data = f.read()
    im = Image.open(io.BytesIO(data)).convert('RGB')
    w, h = im.size
    s = min(w, h)
    if s > max_side:
        im = im.resize((round(w * max_side / s), round(h * max_side / s)), Image.BICUBIC)
    out = io.BytesIO()
    im.save(out, format='JPEG', quality=90)
    return len(out.getvalue())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('dir')
    ap.add_argument('--max-side', type=int, default=256)
    ap.add_argument('--repeat', type=int, default=2)
    a = ap.parse_args()
    files = sorted(p for p in glob.glob(os.path.join(a.dir, '**', '*'), recursive=True) if os.path.isfile(p))
    best = None
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        for p in files:
            process(p, a.max_side)
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    print('PIL %s: %d images, max side %d, best of %d: %.2f s -> %.1f images/s (1 process)'
          % (PIL.__version__, len(files), a.max_side, a.repeat, best, len(files) / best))


if __name__ == '__main__':
    main()
