#!/usr/bin/env python3
"""Reference logits of a BiT ResNet-v2 for the Java golden-value test.

The independent PyTorch implementation of bit_reference.py (bit_pytorch's structure: StdConv2d with
biased variance and eps 1e-10, GroupNorm eps 1e-5, pre-activation bottlenecks with the stride on the 3x3
and the projection on the pre-activated input, root conv 7x7/2 pad 3 then zero pad 1 and max pool 3x3/2).
Weights are drawn from a seeded NumPy generator, written in the official BiT .npz layout (HWIO
kernels, keys 'resnet/...'), loaded into the PyTorch model from that file, and run in float64.

Run from the repository root with Debian's python3-torch and python3-numpy:
    /usr/bin/python3 model-core/src/test/resources/golden/make_golden.py
It rewrites tiny_golden.npz beside this script; CI only reads the stored file.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bit_reference as ref  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# The 'tiny' preset of ResNetV2Presets: width 1/8, two units per stage, 4 groups, 10 classes.
UNITS = [2, 2, 2, 2]
BASE = 8
GROUPS = 4
CLASSES = 10
SEED = 20240601
BATCH, SIZE = 2, 61  # odd size: exercises floor division in every strided layer


def make_params(rng):
    p = {}

    def conv(name, k, cin, cout):
        p[name + '/standardized_conv2d/kernel'] = rng.normal(0, 1, (k, k, cin, cout)).astype(np.float32)

    def gn(name, c):
        p[name + '/group_norm/gamma'] = (1 + 0.2 * rng.normal(0, 1, c)).astype(np.float32)
        p[name + '/group_norm/beta'] = (0.2 * rng.normal(0, 1, c)).astype(np.float32)

    conv('resnet/root_block', 7, 3, BASE)
    cin = BASE
    for s, units in enumerate(UNITS):
        cmid, cout = BASE * 2 ** s, 4 * BASE * 2 ** s
        for u in range(units):
            pre = 'resnet/block%d/unit%02d/' % (s + 1, u + 1)
            gn(pre + 'a', cin)
            if u == 0:
                conv(pre + 'a/proj', 1, cin, cout)
            conv(pre + 'a', 1, cin, cmid)
            gn(pre + 'b', cmid)
            conv(pre + 'b', 3, cmid, cmid)
            gn(pre + 'c', cmid)
            conv(pre + 'c', 1, cmid, cout)
            cin = cout
    p['resnet/group_norm/gamma'] = (1 + 0.2 * rng.normal(0, 1, cin)).astype(np.float32)
    p['resnet/group_norm/beta'] = (0.2 * rng.normal(0, 1, cin)).astype(np.float32)
    p['resnet/head/conv2d/kernel'] = (0.1 * rng.normal(0, 1, (1, 1, cin, CLASSES))).astype(np.float32)
    p['resnet/head/conv2d/bias'] = (0.1 * rng.normal(0, 1, CLASSES)).astype(np.float32)
    return p


def main():
    rng = np.random.RandomState(SEED)
    params = make_params(rng)
    x = rng.uniform(-1, 1, (BATCH, 3, SIZE, SIZE)).astype(np.float32)
    out_path = os.path.join(HERE, 'tiny_golden.npz')
    np.savez(out_path, input=x, **params)
    # Reload from the file so that the reference sees exactly what Java reads.
    loaded = dict(np.load(out_path))
    weights = {k: v for k, v in loaded.items() if k.startswith('resnet/')}
    pre_logits, logits = ref.torch_forward(weights, loaded['input'], GROUPS)
    np.savez(out_path, input=x, pre_logits=pre_logits.astype(np.float32), logits=logits.astype(np.float32), **params)
    print('wrote %s: %d weight arrays, logits %s, |logits| max %.4f'
          % (out_path, len(params), tuple(logits.shape), float(np.abs(logits).max())))


if __name__ == '__main__':
    main()
