#!/usr/bin/env bash
# A Spark standalone cluster on 127.0.0.1 from the build's own runtime jars (spark-runtime/target/jars), for
# runs that need one JVM per worker (e.g. BiT-R152x4 with 2 workers): a Master and N Workers of one core each,
# then `bin/bit --master spark://127.0.0.1:PORT <command...>`, then the cluster is stopped.
#   bench/standalone_cluster.sh N WORKER_MEMORY EXECUTOR_OFFHEAP -- <bit command and options>
# e.g. bench/standalone_cluster.sh 2 12g 10G -- pretrain --preset local --data /tmp/fm6ds --output /tmp/r152 \
#        --set model.preset=r152x4 --set data.resolution=32 --set train.global_batch=2 --set train.max_steps=2
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="$1"; WMEM="$2"; OFFHEAP="$3"; shift 3; [[ "${1:-}" == "--" ]] && shift
DIR="$(mktemp -d /tmp/bit-standalone.XXXX)"
export SPARK_HOME="$DIR/spark" SPARK_SCALA_VERSION=2.12 SPARK_LOCAL_IP=127.0.0.1 SPARK_CONF_DIR="$DIR/spark/conf"
mkdir -p "$SPARK_HOME/jars" "$SPARK_CONF_DIR"
ln -s "$HERE"/spark-runtime/target/jars/* "$SPARK_HOME/jars/"
cp "$HERE/conf/log4j2.properties" "$SPARK_CONF_DIR/"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
OPENS=(-XX:+IgnoreUnrecognizedVMOptions --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
       --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED)
PORT=$((20000 + RANDOM % 20000))
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; pkill -f "CoarseGrainedExecutorBackend.*$DIR" 2>/dev/null || true; }
trap cleanup EXIT
"$JAVA" "${OPENS[@]}" -Xmx512m -cp "$SPARK_HOME/jars/*" org.apache.spark.deploy.master.Master --host 127.0.0.1 \
  --port "$PORT" --webui-port 0 > "$DIR/master.log" 2>&1 & pids+=($!)
sleep 4
for w in $(seq 1 "$N"); do
  "$JAVA" "${OPENS[@]}" -Xmx512m -cp "$SPARK_HOME/jars/*" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 \
    --cores 1 --memory "$WMEM" --webui-port 0 --work-dir "$DIR/work$w" "spark://127.0.0.1:$PORT" > "$DIR/worker$w.log" 2>&1 & pids+=($!)
done
sleep 8
BIT_JAVA_OPTS="${BIT_JAVA_OPTS:-} -Xmx1g -Dspark.jars=$HERE/spark-jobs/target/bit-jobs.jar -Dspark.executor.memory=2g \
  -Dspark.executor.cores=1 -Dspark.executor.extraJavaOptions=-Dorg.bytedeco.javacpp.maxbytes=$OFFHEAP \
  -Dspark.driver.host=127.0.0.1 -Dspark.driver.bindAddress=127.0.0.1" \
  "$HERE/bin/bit" --master "spark://127.0.0.1:$PORT" "$@"
