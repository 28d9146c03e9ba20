"""Independent reference implementations of the BiT ResNet-v2 forward pass, reading official-layout weights.

Two implementations that share nothing with the Java code or with each other:
  * torch_forward: PyTorch (F.conv2d, F.group_norm), float64, as bit_pytorch structures the model;
  * numpy_forward: plain NumPy (sliding windows + tensordot), float64.
Both take a dict of 'resnet/...' arrays in the official HWIO layout and an NCHW input, and return
(pre_logits, logits). The architecture (units per block, width, classes) is read from the keys.

Also: formula_weights, the deterministic weights shared with FormulaWeights.java, so that large test
checkpoints (R50x1) need not be stored: value i of key k is
    u = fmix32((crc32(k) + i * 2654435761) mod 2^32),  x = u / 2^32 - 0.5  (float64)
with fmix32 the murmur3 finalizer (all arithmetic mod 2^32),
scaled per kind (kernel: x; gamma: 1 + 0.4x; beta: 0.4x; head: 0.2x) and rounded to float32.
"""
import re
import zlib

import numpy as np


def architecture(p):
    units = {}
    for k in p:
        m = re.match(r'^resnet/block(\d+)/unit(\d+)/', k)
        if m:
            b, u = int(m.group(1)), int(m.group(2))
            units[b] = max(units.get(b, 0), u)
    return [units[b] for b in sorted(units)]


def formula_values(key, shape):
    n = int(np.prod(shape)) if len(shape) else 1
    seed = np.uint64(zlib.crc32(key.encode('utf-8')))
    i = np.arange(n, dtype=np.uint64)
    m = np.uint64(0xFFFFFFFF)
    u = (seed + i * np.uint64(2654435761)) & m
    # murmur3's 32-bit finalizer: decorrelates neighbouring indices (a bare Weyl sequence makes
    # output channels near-copies of each other and the network ill-conditioned).
    u ^= u >> np.uint64(16)
    u = (u * np.uint64(0x85EBCA6B)) & m
    u ^= u >> np.uint64(13)
    u = (u * np.uint64(0xC2B2AE35)) & m
    u ^= u >> np.uint64(16)
    x = u.astype(np.float64) / 2.0 ** 32 - 0.5
    if key.endswith('/gamma'):
        x = 1.0 + 0.4 * x
    elif key.endswith('/beta'):
        x = 0.4 * x
    elif key.startswith('resnet/head/'):
        x = 0.2 * x
    return x.astype(np.float32).reshape(shape)


def bit_shapes(units, base, classes):
    """Keys and HWIO shapes of a BiT checkpoint, in the order of the official code."""
    s = {'resnet/root_block/standardized_conv2d/kernel': (7, 7, 3, base)}
    cin = base
    for b, n in enumerate(units):
        cmid, cout = base * 2 ** b, 4 * base * 2 ** b
        for u in range(n):
            pre = 'resnet/block%d/unit%02d/' % (b + 1, u + 1)
            s[pre + 'a/group_norm/gamma'] = (cin,)
            s[pre + 'a/group_norm/beta'] = (cin,)
            if u == 0:
                s[pre + 'a/proj/standardized_conv2d/kernel'] = (1, 1, cin, cout)
            s[pre + 'a/standardized_conv2d/kernel'] = (1, 1, cin, cmid)
            s[pre + 'b/group_norm/gamma'] = (cmid,)
            s[pre + 'b/group_norm/beta'] = (cmid,)
            s[pre + 'b/standardized_conv2d/kernel'] = (3, 3, cmid, cmid)
            s[pre + 'c/group_norm/gamma'] = (cmid,)
            s[pre + 'c/group_norm/beta'] = (cmid,)
            s[pre + 'c/standardized_conv2d/kernel'] = (1, 1, cmid, cout)
            cin = cout
    s['resnet/group_norm/gamma'] = (cin,)
    s['resnet/group_norm/beta'] = (cin,)
    s['resnet/head/conv2d/kernel'] = (1, 1, cin, classes)
    s['resnet/head/conv2d/bias'] = (classes,)
    return s


def formula_weights(units, base, classes):
    return {k: formula_values(k, shape) for k, shape in bit_shapes(units, base, classes).items()}


# ---------------------------------------------------------------- PyTorch

def torch_forward(p, x, groups):
    import torch
    import torch.nn.functional as F

    def t(a):
        return torch.from_numpy(np.asarray(a, dtype=np.float64))

    def std_conv(h, key, stride, pad):
        w = t(p[key]).permute(3, 2, 0, 1)  # HWIO -> OIHW
        mean = w.mean(dim=(1, 2, 3), keepdim=True)
        var = w.var(dim=(1, 2, 3), keepdim=True, unbiased=False)
        return F.conv2d(h, (w - mean) / torch.sqrt(var + 1e-10), stride=stride, padding=pad)

    def gn_relu(h, name):
        return F.relu(F.group_norm(h, groups, t(p[name + '/gamma']), t(p[name + '/beta']), eps=1e-5))

    with torch.no_grad():
        h = std_conv(t(x), 'resnet/root_block/standardized_conv2d/kernel', 2, 3)
        h = F.max_pool2d(F.pad(h, (1, 1, 1, 1), value=0.0), 3, stride=2)
        for b, n in enumerate(architecture(p)):
            for u in range(n):
                pre = 'resnet/block%d/unit%02d/' % (b + 1, u + 1)
                stride = 2 if (b > 0 and u == 0) else 1
                out = gn_relu(h, pre + 'a/group_norm')
                shortcut = std_conv(out, pre + 'a/proj/standardized_conv2d/kernel', stride, 0) if u == 0 else h
                out = std_conv(out, pre + 'a/standardized_conv2d/kernel', 1, 0)
                out = std_conv(gn_relu(out, pre + 'b/group_norm'), pre + 'b/standardized_conv2d/kernel', stride, 1)
                out = std_conv(gn_relu(out, pre + 'c/group_norm'), pre + 'c/standardized_conv2d/kernel', 1, 0)
                h = out + shortcut
        h = gn_relu(h, 'resnet/group_norm')
        pre_logits = h.mean(dim=(2, 3))
        k = t(p['resnet/head/conv2d/kernel'])[0, 0]  # [C, classes]
        logits = pre_logits @ k + t(p['resnet/head/conv2d/bias'])
    return pre_logits.numpy(), logits.numpy()


# ---------------------------------------------------------------- NumPy

def _conv(h, w_hwio, stride, pad):
    kh, kw, _, _ = w_hwio.shape
    if pad:
        h = np.pad(h, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(h, (kh, kw), axis=(2, 3))  # N, C, OH', OW', kh, kw
    win = win[:, :, ::stride, ::stride]
    return np.einsum('ncxyij,ijco->noxy', win, w_hwio, optimize=True)


def _std(w):
    m = w.mean(axis=(0, 1, 2), keepdims=True)
    v = ((w - m) ** 2).mean(axis=(0, 1, 2), keepdims=True)
    return (w - m) / np.sqrt(v + 1e-10)


def _gn_relu(h, gamma, beta, groups):
    n, c, hh, ww = h.shape
    g = h.reshape(n, groups, -1)
    m = g.mean(axis=2, keepdims=True)
    v = ((g - m) ** 2).mean(axis=2, keepdims=True)
    g = ((g - m) / np.sqrt(v + 1e-5)).reshape(n, c, hh, ww)
    return np.maximum(g * gamma[None, :, None, None] + beta[None, :, None, None], 0.0)


def numpy_forward(p, x, groups):
    p = {k: np.asarray(v, dtype=np.float64) for k, v in p.items()}
    h = np.asarray(x, dtype=np.float64)
    h = _conv(h, _std(p['resnet/root_block/standardized_conv2d/kernel']), 2, 3)
    h = np.pad(h, ((0, 0), (0, 0), (1, 1), (1, 1)))
    win = np.lib.stride_tricks.sliding_window_view(h, (3, 3), axis=(2, 3))[:, :, ::2, ::2]
    h = win.max(axis=(4, 5))
    for b, n in enumerate(architecture(p)):
        for u in range(n):
            pre = 'resnet/block%d/unit%02d/' % (b + 1, u + 1)
            stride = 2 if (b > 0 and u == 0) else 1

            def gn(name, a):
                return _gn_relu(a, p[pre + name + '/group_norm/gamma'], p[pre + name + '/group_norm/beta'], groups)

            def conv(name, a, s, pad):
                return _conv(a, _std(p[pre + name + '/standardized_conv2d/kernel']), s, pad)

            out = gn('a', h)
            shortcut = conv('a/proj', out, stride, 0) if u == 0 else h
            out = conv('a', out, 1, 0)
            out = conv('b', gn('b', out), stride, 1)
            out = conv('c', gn('c', out), 1, 0)
            h = out + shortcut
    h = _gn_relu(h, p['resnet/group_norm/gamma'], p['resnet/group_norm/beta'], groups)
    pre_logits = h.mean(axis=(2, 3))
    logits = pre_logits @ p['resnet/head/conv2d/kernel'][0, 0] + p['resnet/head/conv2d/bias']
    return pre_logits, logits


def main(argv):
    """bit_reference.py WEIGHTS.npz INPUT.npy OUTPUT.npy GROUPS: NumPy logits of an official-layout file."""
    weights, inp, out, groups = argv[1], argv[2], argv[3], int(argv[4])
    p = dict(np.load(weights))
    _, logits = numpy_forward(p, np.load(inp), groups)
    np.save(out, logits.astype(np.float32))


if __name__ == '__main__':
    import sys
    main(sys.argv)
