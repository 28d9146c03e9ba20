#!/usr/bin/env bash
# The first run on a machine with NVIDIA GPUs: builds the CUDA jobs jar, runs `bit doctor`, `bit bench` for R50x1 at
# 224 px (train and inference) and a two-executor `pretrain` of the local preset on Spark local-cluster mode, and
# writes a results block in the format of docs/BENCHMARKS.md to $OUT/BENCHMARKS-gpu.md.
# Usage: bench/gpu_first_run.sh [cuda|cuda-redist]   (cuda: the node has CUDA 11.6 + cuDNN 8.3; cuda-redist: only the driver)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROFILE="${1:-cuda}"
OUT="${BENCH_OUT:-$(mktemp -d /tmp/bit-gpu.XXXX)}"
mkdir -p "$OUT"
cd "$HERE"
echo "== build (-P$PROFILE)"
mvn -B -q -P"$PROFILE" -DskipTests -pl model-core,data-pipeline,spark-jobs -am package
ls -la spark-jobs/target/bit-jobs.jar | tee "$OUT/jar.txt"

echo "== bit doctor"
bin/bit doctor | tee "$OUT/doctor.txt" || { echo "bit doctor found a problem: see $OUT/doctor.txt" >&2; exit 3; }

echo "== bit bench R50x1 at 224 (batch 32)"
bin/bit bench --preset r50x1 --resolution 224 --batch 32 --steps 20 > "$OUT/bench-r50x1-224.txt" 2>&1
tail -20 "$OUT/bench-r50x1-224.txt"

echo "== data: Fashion-MNIST, 6 classes"
bin/bit fashion-mnist --output "$OUT/fm" --split train --classes 0-5 --per-class 1000 > "$OUT/fm.log" 2>&1
bin/bit prepare --input "$OUT/fm/train" --format imagefolder --output "$OUT/fm-ds" --holdout 0.05 > "$OUT/prepare.log" 2>&1

echo "== pretrain: 2 executors (one JVM and one GPU each when there are 2), local preset, 200 steps; then one process"
GPUS=$(nvidia-smi --query-gpu=index --format=csv,noheader | wc -l)
[[ "$GPUS" -ge 2 ]] || echo "note: $GPUS GPU(s): both workers bind GPU 0" >&2
# Spark local mode with 2 workers in one JVM (each binds the device Spark gives its task, else device 0); for one
# executor JVM per GPU use bench/standalone_cluster.sh with spark.worker.resource.gpu.* set.
bin/bit --master "local[2]" pretrain --preset local --data "$OUT/fm-ds" --output "$OUT/run-2gpu" \
  --set train.workers=2 --set train.max_steps=200 > "$OUT/pretrain-2gpu.log" 2>&1
bin/bit pretrain --preset local --data "$OUT/fm-ds" --output "$OUT/run-single" --set train.max_steps=200 --single-process \
  > "$OUT/pretrain-single.log" 2>&1

/usr/bin/python3 - "$OUT" <<'PY' | tee "$OUT/BENCHMARKS-gpu.md"
import json, glob, sys, re, datetime, subprocess
out = sys.argv[1]
def rows(run):
    r = []
    for f in sorted(glob.glob(run + "/metrics/*.jsonl")):
        r += [json.loads(l) for l in open(f) if l.strip()]
    return [x for x in r if "images_per_sec" in x][1:]
def ips(run):
    r = rows(run)
    return sum(x["images_per_sec"] for x in r) / len(r) if r else float("nan")
gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"], capture_output=True, text=True).stdout.strip()
print(f"## GPU first run ({datetime.date.today()}, {gpu})\n")
print("Command: `bench/gpu_first_run.sh`; doctor output, bench log and run logs in the run folder.\n")
bench = open(out + "/bench-r50x1-224.txt").read()
m = re.findall(r".*images/s.*", bench)
print("| what | result |\n|---|---|")
for line in m[-4:]:
    print(f"| bit bench R50x1 224 | {line.strip()} |")
print(f"| pretrain local preset, 2 workers | {ips(out + '/run-2gpu'):.1f} images/s |")
print(f"| pretrain local preset, one process | {ips(out + '/run-single'):.1f} images/s |")
PY
echo "results: $OUT/BENCHMARKS-gpu.md"
