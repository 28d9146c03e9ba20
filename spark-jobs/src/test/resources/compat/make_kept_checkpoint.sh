#!/usr/bin/env bash
# Writes the checkpoint that KeptCheckpointTest keeps loading: a short real pre-training run of the tiny model
# (bit pretrain --preset local, 20 steps on 600 Fashion-MNIST images), a fixed input batch, and the logits
# `bit predict` gives for it with this release. Run from the repository root after `mvn install -DskipTests`:
#   spark-jobs/src/test/resources/compat/make_kept_checkpoint.sh VERSION
# and commit spark-jobs/src/test/resources/compat/VERSION/. An earlier release's directory is never rewritten.
set -euo pipefail
version=${1:?usage: $0 VERSION (e.g. 0.1.0)}
out=spark-jobs/src/test/resources/compat/$version
if [[ -e $out ]]; then
  echo "$out exists: a kept checkpoint is never rewritten" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin/bit fashion-mnist --output "$work/images" --split train --classes 0-5 --per-class 100
bin/bit prepare --input "$work/images/train" --format imagefolder --output "$work/data" --holdout 0
bin/bit pretrain --preset local --data "$work/data" --output "$work/run" \
  --set train.max_steps=20 --set checkpoint.every_steps=20 --set train.seed=7
latest=$(ls -d "$work"/run/checkpoints/step-* | sort | tail -1)
mkdir -p "$out/checkpoint"
cp "$latest/model.zip" "$latest/provenance.json" "$out/checkpoint/"
python3 - "$out/input.npy" <<'PY'
import sys
import numpy as np
# Four 32x32 RGB images in [-1, 1] that need no file: smooth gradients and a checkerboard.
n, h, w = 4, 32, 32
y, x = np.mgrid[0:h, 0:w].astype(np.float32)
imgs = []
for i in range(n):
    r = np.sin((x + 3 * i) / 5.0)
    g = np.cos((y - 2 * i) / 7.0)
    b = ((x // (2 + i) + y // (2 + i)) % 2) * 2.0 - 1.0
    imgs.append(np.stack([r, g, b]))
np.save(sys.argv[1], np.stack(imgs).astype(np.float32))
PY
bin/bit predict --checkpoint "$out/checkpoint" --input "$out/input.npy" --output "$out/logits.npy" --batch-size 4
ls -l "$out" "$out/checkpoint"
