#!/usr/bin/env python3
"""Reference logits of a BiT ResNet-v2 for the Java golden-value test.

An independent PyTorch implementation of the released architecture (bit_pytorch's structure: StdConv2d
with biased variance and eps 1e-10, GroupNorm eps 1e-5, pre-activation bottlenecks with the stride on the
3x3 and the projection on the pre-activated input, root conv 7x7/2 pad 3 then zero pad 1 and max pool
3x3/2). Weights are drawn from a seeded NumPy generator, written in the official BiT .npz layout (HWIO
kernels, keys 'resnet/...'), loaded into the PyTorch model from that file, and run in float64.

Run from the repository root with Debian's python3-torch and python3-numpy:
    /usr/bin/python3 model-core/src/test/resources/golden/make_golden.py
It rewrites tiny_golden.npz beside this script; CI only reads the stored file.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))

# The 'tiny' preset of ResNetV2Presets: width 1/8, two units per stage, 4 groups, 10 classes.
UNITS = [2, 2, 2, 2]
BASE = 8
GROUPS = 4
CLASSES = 10
SEED = 20240601
BATCH, SIZE = 2, 61  # odd size: exercises floor division in every strided layer


def std_conv(x, w_hwio, stride, pad):
    w = torch.from_numpy(w_hwio).permute(3, 2, 0, 1)  # HWIO -> OIHW
    mean = w.mean(dim=(1, 2, 3), keepdim=True)
    var = w.var(dim=(1, 2, 3), keepdim=True, unbiased=False)
    w = (w - mean) / torch.sqrt(var + 1e-10)
    return F.conv2d(x, w, stride=stride, padding=pad)


def gn_relu(x, p, name):
    g = torch.from_numpy(p[name + '/gamma'])
    b = torch.from_numpy(p[name + '/beta'])
    return F.relu(F.group_norm(x, GROUPS, g, b, eps=1e-5))


def forward(p, x):
    x = std_conv(x, p['resnet/root_block/standardized_conv2d/kernel'], 2, 3)
    x = F.pad(x, (1, 1, 1, 1), value=0.0)
    x = F.max_pool2d(x, 3, stride=2)
    for s, units in enumerate(UNITS):
        for u in range(units):
            pre = 'resnet/block%d/unit%02d/' % (s + 1, u + 1)
            stride = 2 if (s > 0 and u == 0) else 1
            out = gn_relu(x, p, pre + 'a/group_norm')
            shortcut = x
            if u == 0:
                shortcut = std_conv(out, p[pre + 'a/proj/standardized_conv2d/kernel'], stride, 0)
            out = std_conv(out, p[pre + 'a/standardized_conv2d/kernel'], 1, 0)
            out = std_conv(gn_relu(out, p, pre + 'b/group_norm'), p[pre + 'b/standardized_conv2d/kernel'], stride, 1)
            out = std_conv(gn_relu(out, p, pre + 'c/group_norm'), p[pre + 'c/standardized_conv2d/kernel'], 1, 0)
            x = out + shortcut
    x = gn_relu(x, p, 'resnet/group_norm')
    pre_logits = x.mean(dim=(2, 3))
    k = torch.from_numpy(p['resnet/head/conv2d/kernel']).permute(3, 2, 0, 1)
    logits = F.conv2d(pre_logits[:, :, None, None], k, bias=torch.from_numpy(p['resnet/head/conv2d/bias']))
    return pre_logits, logits[:, :, 0, 0]


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
    p64 = {k: v.astype(np.float64) for k, v in loaded.items() if k.startswith('resnet/')}
    with torch.no_grad():
        pre_logits, logits = forward(p64, torch.from_numpy(loaded['input'].astype(np.float64)))
    np.savez(out_path, input=x, pre_logits=pre_logits.numpy().astype(np.float32),
             logits=logits.numpy().astype(np.float32), **params)
    print('wrote %s: %d weight arrays, logits %s, |logits| max %.4f'
          % (out_path, len(params), tuple(logits.shape), float(logits.abs().max())))


if __name__ == '__main__':
    main()
