#!/usr/bin/env bash
# Spark local[*] (2 workers) vs one process on the same cores, same data, model, seed and global batch:
# alternating rounds of `bit pretrain` with the allreduce engine, --single-process and the dl4j-paramavg
# baseline; steady-state images/s (steps after the first logged interval) and the per-step breakdown from
# each run's metrics. Usage: bench/engine_compare.sh DATASET ROUNDS STEPS [--set key=value ...]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="$1"; ROUNDS="$2"; STEPS="$3"; shift 3
OUT="${BENCH_OUT:-$(mktemp -d /tmp/bit-engine-bench.XXXX)}"
mkdir -p "$OUT"
for r in $(seq 1 "$ROUNDS"); do
  for mode in allreduce single dl4j-paramavg; do
    run="$OUT/r$r-$mode"
    args=(pretrain --preset local --data "$DATA" --output "$run" --set train.max_steps="$STEPS" \
          --set checkpoint.every_steps=100000 --set eval.every_steps=100000 --set eval.max_examples=64 "$@")
    case $mode in
      single) args+=(--single-process) ;;
      dl4j-paramavg) args+=(--set train.engine=dl4j-paramavg) ;;
    esac
    "$HERE/bin/bit" "${args[@]}" > "$run.log" 2>&1 || { echo "run $run failed; see $run.log" >&2; exit 1; }
    /usr/bin/python3 - "$run" "$mode" "$r" <<'PY'
import json, sys, glob
run, mode, r = sys.argv[1:4]
rows = []
for f in sorted(glob.glob(run + "/metrics/*.jsonl")):
    rows += [json.loads(l) for l in open(f) if l.strip()]
rows = rows[1:] if len(rows) > 2 else rows   # the first interval holds start-up
ips = sum(x["images_per_sec"] for x in rows) / len(rows)
k = lambda n: sum(x.get(n, 0) for x in rows) / len(rows)
print(f"round {r} {mode:14s} {ips:8.2f} images/s  data {k('time_data'):.3f} compute {k('time_compute'):.3f} "
      f"exchange {k('time_exchange'):.3f} update {k('time_update'):.3f} scheduling {k('time_scheduling'):.3f} s/step  "
      f"executor sent {k('bytes_executor_sent')/1e6:.2f} MB/step  driver {(k('bytes_driver_sent')+k('bytes_driver_received'))/1e3:.1f} KB/step")
PY
  done
done
