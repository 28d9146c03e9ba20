#!/usr/bin/env bash
# prepare's driver heap and time on the standalone cluster (2 Workers of one core on 127.0.0.1; the driver a JVM of
# its own, -Xmx1g), for the sets bench/make_scale_set.py wrote: ROOT/n10000, ROOT/n100000, ROOT/n300000.
# Prints wall time per set and the driver's largest heap after a collection (from its -Xlog:gc file).
#   bench/prepare_scaling_cluster.sh /tmp/scale
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="$1"
for n in 10000 100000 300000; do
  [[ -d "$ROOT/n$n" ]] || { echo "skip $n: no $ROOT/n$n"; continue; }
  rm -rf "$ROOT/out-$n" "$ROOT/gc-$n.log"
  s=$(date +%s.%N)
  BIT_JAVA_OPTS="-Xlog:gc:file=$ROOT/gc-$n.log" "$HERE/bench/standalone_cluster.sh" 2 3g 2G -- prepare --input "$ROOT/n$n" \
    --format imagefolder --output "$ROOT/out-$n" --max-side 64 --holdout 0.01 > "$ROOT/prep-$n.log" 2>&1
  wall=$(echo "$(date +%s.%N) - $s" | bc)
  heap=$(grep -o '[0-9]*M->[0-9]*M' "$ROOT/gc-$n.log" | sed 's/.*->//; s/M//' | sort -n | tail -1)
  echo "images $n: wall $wall s, driver heap after GC at most $heap MB, manifest $(stat -c %s "$ROOT/out-$n/manifest.json") B"
done
