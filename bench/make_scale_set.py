#!/usr/bin/env python3
"""Writes COUNT small real-looking JPEGs for prepare's scaling study: random crops (64-320 px squares, shown at
48-96 px) of Debian's mate-backgrounds photographs, spread over CLASSES folders named like ImageNet synsets.
Deterministic from --seed. Usage: make_scale_set.py OUT --count 300000 [--classes 1000] [--seed 0]"""
import argparse
import glob
import os
import random

from PIL import Image

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--count", type=int, required=True)
p.add_argument("--classes", type=int, default=1000)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--photos", default="/usr/share/backgrounds/mate")
a = p.parse_args()
files = sorted(f for f in glob.glob(os.path.join(a.photos, "**", "*"), recursive=True)
               if f.lower().endswith((".jpg", ".jpeg", ".png")) and "5640" not in f and "3840" not in f)
photos = []
for f in files:
    im = Image.open(f).convert("RGB")
    im.thumbnail((1280, 1280))
    photos.append(im)
rng = random.Random(a.seed)
for c in range(a.classes):
    os.makedirs(os.path.join(a.out, "n%08d" % c), exist_ok=True)
for i in range(a.count):
    im = photos[rng.randrange(len(photos))]
    side = rng.randint(64, min(320, im.width, im.height))
    x = rng.randint(0, im.width - side)
    y = rng.randint(0, im.height - side)
    shown = rng.randint(48, 96)
    crop = im.crop((x, y, x + side, y + side)).resize((shown, shown), Image.BILINEAR)
    crop.save(os.path.join(a.out, "n%08d" % (i % a.classes), "%07d.jpg" % i), quality=85)
