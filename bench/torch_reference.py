#!/usr/bin/env python3
"""Reference throughput of the same BiT ResNet-v2 in PyTorch (Debian python3-torch, CPU, float32).

Mirrors `bin/bit bench`: random data of a fixed seed, SGD momentum 0.9 with weight decay 1e-4 (L2 added to
the gradient), a full train step (forward, backward, update) and an inference forward pass; the median of
the timed steps after warm-up; peak resident memory of the process.

    /usr/bin/python3 bench/torch_reference.py --preset r50x1 --resolution 128 --batch 8 --threads 2
"""
import argparse
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {
    'r50x1': ([3, 4, 6, 3], 1), 'r50x3': ([3, 4, 6, 3], 3), 'r101x1': ([3, 4, 23, 3], 1),
    'r101x3': ([3, 4, 23, 3], 3), 'r152x2': ([3, 8, 36, 3], 2), 'r152x4': ([3, 8, 36, 3], 4),
    'tiny': ([2, 2, 2, 2], 1 / 8),
}


class StdConv2d(nn.Conv2d):
    def forward(self, x):
        w = self.weight
        with torch.autograd.profiler.record_function('bit::ws'):
            v, m = torch.var_mean(w, dim=[1, 2, 3], keepdim=True, unbiased=False)
            w = (w - m) / torch.sqrt(v + 1e-10)
        return F.conv2d(x, w, self.bias, self.stride, self.padding)


class Unit(nn.Module):
    def __init__(self, cin, cmid, cout, stride, groups):
        super().__init__()
        self.gn1, self.gn2, self.gn3 = nn.GroupNorm(groups, cin), nn.GroupNorm(groups, cmid), nn.GroupNorm(groups, cmid)
        self.conv1 = StdConv2d(cin, cmid, 1, bias=False)
        self.conv2 = StdConv2d(cmid, cmid, 3, stride=stride, padding=1, bias=False)
        self.conv3 = StdConv2d(cmid, cout, 1, bias=False)
        self.proj = StdConv2d(cin, cout, 1, stride=stride, bias=False) if (stride != 1 or cin != cout) else None

    def forward(self, x):
        out = F.relu(self.gn1(x))
        shortcut = self.proj(out) if self.proj is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.gn2(out)))
        out = self.conv3(F.relu(self.gn3(out)))
        return out + shortcut


class ResNetV2(nn.Module):
    def __init__(self, units, wf, classes, groups):
        super().__init__()
        base = int(64 * wf)
        self.root = StdConv2d(3, base, 7, stride=2, padding=3, bias=False)
        blocks, cin = [], base
        for s, n in enumerate(units):
            cmid = base * 2 ** s
            for u in range(n):
                blocks.append(Unit(cin, cmid, 4 * cmid, 2 if (s > 0 and u == 0) else 1, groups))
                cin = 4 * cmid
        self.body = nn.Sequential(*blocks)
        self.gn = nn.GroupNorm(groups, cin)
        self.head = nn.Conv2d(cin, classes, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x):
        x = self.root(x)
        x = F.max_pool2d(F.pad(x, (1, 1, 1, 1)), 3, stride=2)
        x = F.relu(self.gn(self.body(x)))
        return self.head(x.mean(dim=(2, 3), keepdim=True))[:, :, 0, 0]


def peak_rss_kib():
    """VmHWM of this process image; getrusage's maxrss would include a parent's memory across fork+exec."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def timed(fn, warmup, steps, warmup_seconds=0.0, timed_seconds=0.0):
    """Step times: at least `steps` of them, adding up to at least `timed_seconds`, after the warm-up."""
    t0, done = time.perf_counter(), 0
    while done < warmup or time.perf_counter() - t0 < warmup_seconds:
        fn()
        done += 1
    out = []
    while len(out) < steps or sum(out) < timed_seconds:
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--preset', default='r50x1')
    ap.add_argument('--classes', type=int, default=None)
    ap.add_argument('--resolution', type=int, default=128)
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--warmup-seconds', type=float, default=0.0, help='also warm up at least this long')
    ap.add_argument('--steps', type=int, default=5)
    ap.add_argument('--timed-seconds', type=float, default=0.0, help='time steps until they add up to this long')
    ap.add_argument('--threads', type=int, default=None)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--breakdown', action='store_true', help='also profile one step by kind of work')
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    units, wf = PRESETS[a.preset]
    groups = 32 if wf >= 1 else 4
    classes = a.classes or (10 if a.preset == 'tiny' else 1000)
    model = ResNetV2(units, wf, classes, groups)
    opt = torch.optim.SGD(model.parameters(), lr=0.003, momentum=0.9, weight_decay=1e-4)
    x = torch.rand(a.batch, 3, a.resolution, a.resolution) * 2 - 1
    y = torch.arange(a.batch) % classes

    phases = {'forward': [], 'backward': [], 'update': []}

    def train_step():
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        phases['forward'].append(t1 - t0)
        phases['backward'].append(t2 - t1)
        phases['update'].append(t3 - t2)

    def forward():
        with torch.no_grad():
            model.eval()
            model(x)
            model.train()

    train = timed(train_step, a.warmup, a.steps, a.warmup_seconds, a.timed_seconds)
    ph = {k: statistics.mean(v[-len(train):]) for k, v in phases.items()}
    fwd = timed(forward, a.warmup, a.steps, a.warmup_seconds, a.timed_seconds)
    nparams = sum(p.numel() for p in model.parameters())
    print('torch %s, %d threads, preset %s (%d parameters), %dx%d, batch %d' % (
        torch.__version__, torch.get_num_threads(), a.preset, nparams, a.resolution, a.resolution, a.batch))
    print('train step:   %.3f s median -> %.2f images/s' % (statistics.median(train), a.batch / statistics.median(train)))
    print('forward only: %.3f s median -> %.2f images/s' % (statistics.median(fwd), a.batch / statistics.median(fwd)))
    print('train step phases, mean s/step: forward %.3f | backward %.3f | update %.3f' % (
        ph['forward'], ph['backward'], ph['update']))
    print('peak resident memory: %.2f GiB' % (peak_rss_kib() / 2 ** 20))
    if a.breakdown:
        print_breakdown(train_step, forward)


def print_breakdown(train_step, forward):
    """Time by kind of work inside one profiled train step and one forward pass (profiler overhead included)."""
    from torch.profiler import ProfilerActivity, profile

    def kinds(fn):
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            fn()
        k = {'conv': 0.0, 'WS': 0.0, 'GN': 0.0}
        for e in prof.key_averages():
            n, total, own = e.key, e.cpu_time_total / 1e6, e.self_cpu_time_total / 1e6
            if n in ('aten::mkldnn_convolution', 'aten::convolution_backward') or n.startswith('aten::thnn_conv'):
                k['conv'] += own
            elif n == 'bit::ws':
                k['WS'] += total
            elif n in ('aten::native_group_norm', 'aten::native_group_norm_backward'):
                k['GN'] += own
            elif n.startswith('autograd::engine::evaluate_function: ') and n.split(': ')[1] in (
                    'VarMeanBackward0', 'DivBackward0', 'SubBackward0', 'SqrtBackward0'):
                k['WS'] += total
        return k

    t = kinds(train_step)
    f = kinds(forward)
    print('train step by kind (profiled, s): conv %.3f, WS %.3f, GN %.3f' % (t['conv'], t['WS'], t['GN']))
    print('forward by kind (profiled, s): conv %.3f, WS %.3f, GN %.3f' % (f['conv'], f['WS'], f['GN']))


if __name__ == '__main__':
    main()
