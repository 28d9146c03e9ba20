#!/usr/bin/env python3
"""Reference logits for checkpoints built from formula weights (see bit_reference.formula_weights).

For each case it builds the official-layout weights from the formula, a formula input in [-1, 1], runs the
PyTorch reference in float64, checks that the NumPy reference agrees, and stores input and logits (not the
weights, which the Java test regenerates from the same formula):

    /usr/bin/python3 model-core/src/test/resources/golden/make_formula_references.py
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bit_reference as ref  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# name: (units, base width, groups, classes, batch, size)
CASES = {
    'formula_tiny': ([2, 2, 2, 2], 8, 4, 10, 2, 61),
    'formula_r50x1_c10': ([3, 4, 6, 3], 64, 32, 10, 2, 64),
}


def main():
    for name, (units, base, groups, classes, batch, size) in CASES.items():
        p = ref.formula_weights(units, base, classes)
        x = ref.formula_values('input', (batch, 3, size, size)) * 2.0  # [-1, 1)
        pre_t, logits_t = ref.torch_forward(p, x, groups)
        pre_n, logits_n = ref.numpy_forward(p, x, groups)
        agree = float(np.abs(logits_t - logits_n).max())
        assert agree < 1e-8, 'torch and numpy references disagree by %g' % agree
        out = os.path.join(HERE, name + '.npz')
        np.savez(out, input=x, pre_logits=pre_t.astype(np.float32), logits=logits_t.astype(np.float32))
        print('%s: %d weight arrays, logits %s, max |logit| %.4f, torch vs numpy %.2e'
              % (out, len(p), logits_t.shape, np.abs(logits_t).max(), agree))


if __name__ == '__main__':
    main()
