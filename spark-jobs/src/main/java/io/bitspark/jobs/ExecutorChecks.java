package io.bitspark.jobs;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import org.apache.spark.resource.ResourceInformation;

import io.bitspark.model.runtime.DeviceCheck;

/**
 * {@link DeviceCheck} on every executor: one task per executor (each placed on its executor by locality), whose
 * results come back as one row per executor. {@code bit doctor --executors} prints them; {@code pretrain} runs it
 * once before the first step and refuses to start when a node cannot train, naming the node and the reason.
 */
public final class ExecutorChecks {

    private ExecutorChecks() {}

    /** One executor's findings. */
    public record Row(String executor, String host, String backend, int cores, String ompThreads, String gpuAddresses, String devices,
                      String cuda, String problem) implements Serializable {}

    /** The executors registered now (not the driver): executor id to host, from the block manager's list. */
    static Map<String, String> executors(JavaSparkContext jsc) {
        Map<String, String> out = new TreeMap<>();
        scala.collection.Iterator<org.apache.spark.storage.BlockManagerId> ids = jsc.sc().env().blockManager().master()
                .getMemoryStatus().keysIterator();
        while (ids.hasNext()) {
            org.apache.spark.storage.BlockManagerId b = ids.next();
            if (!b.isDriver()) {
                out.put(b.executorId(), b.host());
            }
        }
        return out;
    }

    /**
     * Waits (at most {@code max}) for executors to register: until {@code spark.executor.instances} of them have, or,
     * when that is not set, until the count has stayed the same for 3 s after the first one. Local mode has none.
     */
    public static Map<String, String> awaitExecutors(JavaSparkContext jsc, java.time.Duration max) {
        if (jsc.sc().isLocal()) {
            return executors(jsc);
        }
        int want = jsc.getConf().getInt("spark.executor.instances", -1);
        long end = System.nanoTime() + max.toNanos();
        Map<String, String> seen = executors(jsc);
        long stableSince = System.nanoTime();
        while (System.nanoTime() < end) {
            if (want > 0 ? seen.size() >= want : !seen.isEmpty() && System.nanoTime() - stableSince > 3_000_000_000L) {
                break;
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            Map<String, String> now = executors(jsc);
            if (now.size() != seen.size()) {
                stableSince = System.nanoTime();
            }
            seen = now;
        }
        return seen;
    }

    /** Runs the check on each executor (in local mode: in the driver's JVM); returns a row per executor that ran a task. */
    public static List<Row> run(JavaSparkContext jsc) {
        Map<String, String> executors = awaitExecutors(jsc, java.time.Duration.ofSeconds(30));
        List<scala.Tuple2<Integer, scala.collection.Seq<String>>> tasks = new ArrayList<>();
        int i = 0;
        for (Map.Entry<String, String> e : executors.entrySet()) {
            List<String> where = List.of("executor_" + e.getValue() + "_" + e.getKey());
            tasks.add(new scala.Tuple2<>(i++, scala.collection.JavaConverters.asScalaBuffer(where).toSeq()));
        }
        if (tasks.isEmpty()) {
            tasks.add(new scala.Tuple2<>(0, scala.collection.JavaConverters.asScalaBuffer(new ArrayList<String>()).toSeq()));
        }
        jsc.setJobDescription("bit doctor: device check on " + tasks.size() + " executor(s)");
        RDD<Integer> rdd = jsc.sc().makeRDD(scala.collection.JavaConverters.asScalaBuffer(tasks).toSeq(),
                scala.reflect.ClassTag$.MODULE$.apply(Integer.class));
        List<Row> rows = JavaRDD.fromRDD(rdd, scala.reflect.ClassTag$.MODULE$.apply(Integer.class)).map(x -> local()).collect();
        Map<String, Row> byExecutor = new TreeMap<>();
        for (Row r : rows) {
            byExecutor.putIfAbsent(r.executor() + "@" + r.host(), r);
        }
        return new ArrayList<>(byExecutor.values());
    }

    /** The check in this JVM, as a row. */
    public static Row local() {
        DeviceCheck.Report r = DeviceCheck.inspect();
        TaskContext task = TaskContext.get();
        String gpus = "-";
        if (task != null && task.resources() != null) {
            ResourceInformation g = task.resourcesJMap().get("gpu");
            if (g != null) {
                gpus = String.join(",", g.addresses());
            }
        }
        String executor = SparkEnv.get() == null ? "driver" : SparkEnv.get().executorId();
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "unknown";
        }
        String devices = r.gpus().isEmpty() ? "cpu (" + r.cores() + " cores)" : r.gpus().toString();
        String cuda = r.cudaBuild() ? "driver " + r.cudaDriver() + ", runtime " + r.cudaRuntime() + ", cuDNN " + r.cudnn() : "-";
        return new Row(executor, host, r.backend(), r.cores(), r.ompThreads(), gpus, devices, cuda, r.problem());
    }

    /** The rows as an aligned table. */
    public static String table(List<Row> rows) {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%-9s %-16s %-8s %5s %4s %-6s %-24s %s%n", "executor", "host",
                "backend", "cores", "omp", "gpus", "cuda", "devices / problem"));
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "%-9s %-16s %-8s %5d %4s %-6s %-24s %s%n", r.executor(), r.host(), r.backend(), r.cores(),
                    r.ompThreads(), r.gpuAddresses(), r.cuda(), r.problem() == null ? "ok: " + r.devices() : "PROBLEM: " + r.problem()));
        }
        return b.toString();
    }
}
