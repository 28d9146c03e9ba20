#!/usr/bin/env python3
"""Real-photo benchmark input: crops of ~500x375 from Debian's MATE background photos, as JPEG (q90).

    /usr/bin/python3 bench/make_photo_crops.py OUT_DIR [--count 600]

Writes OUT_DIR/<photo-name>/<i>.jpg (an image folder: one class per source photo), the size of typical
ILSVRC-2012 images.
"""
import argparse
import glob
import os
import random

from PIL import Image


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('out')
    ap.add_argument('--count', type=int, default=600)
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    photos = sorted(glob.glob('/usr/share/backgrounds/mate/*/*.jpg'))
    if not photos:
        raise SystemExit('install the Debian package mate-backgrounds')
    rng = random.Random(a.seed)
    per = (a.count + len(photos) - 1) // len(photos)
    n = 0
    for p in photos:
        im = Image.open(p).convert('RGB')
        cls = os.path.splitext(os.path.basename(p))[0]
        os.makedirs(os.path.join(a.out, cls), exist_ok=True)
        for i in range(per):
            if n >= a.count:
                break
            # a random crop at a random scale, resized to ~500x375 as in ILSVRC-2012
            s = rng.uniform(0.3, 1.0)
            w, h = int(im.width * s), int(im.height * s)
            x, y = rng.randint(0, im.width - w), rng.randint(0, im.height - h)
            crop = im.crop((x, y, x + w, y + h)).resize((500, 375), Image.BICUBIC)
            crop.save(os.path.join(a.out, cls, '%04d.jpg' % i), quality=90)
            n += 1
    print('wrote %d crops of %d photos to %s' % (n, len(photos), a.out))


if __name__ == '__main__':
    main()
