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

    /** One executor's findings; {@code input} is the digest of the probe batch it decoded ("-" without a probe). */
    public record Row(String executor, String host, String backend, int cores, String ompThreads, String gpuAddresses, String devices,
                      String cuda, String input, String problem) implements Serializable {

        Row withProblem(String p) {
            return new Row(executor, host, backend, cores, ompThreads, gpuAddresses, devices, cuda, input, p);
        }
    }

    /**
     * A batch of the training data that every executor reads, decodes and augments as it would for a step, to compare
     * with the driver's: a node that cannot read the data, or decodes it differently (another JDK, other ImageIO
     * plugins on its class path), would train on other images than the run records.
     */
    public record InputProbe(io.bitspark.jobs.pretrain.ShardBatchLoader loader, io.bitspark.data.shards.BatchRef batch)
            implements Serializable {

        /** SHA-256 (first 16 hex digits) of the batch's features and labels as float32 bits. */
        public String digest() throws java.io.IOException {
            org.nd4j.linalg.dataset.DataSet d = loader.load(batch);
            java.security.MessageDigest sha;
            try {
                sha = java.security.MessageDigest.getInstance("SHA-256");
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
            for (org.nd4j.linalg.api.ndarray.INDArray a : new org.nd4j.linalg.api.ndarray.INDArray[] {d.getFeatures(), d.getLabels()}) {
                float[] v = a.data().asFloat();
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * v.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(v);
                sha.update(b);
                a.close();
            }
            return java.util.HexFormat.of().formatHex(sha.digest()).substring(0, 16);
        }
    }

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
        return run(jsc, null);
    }

    /**
     * As {@link #run(JavaSparkContext)}; with a probe, each executor also decodes its batch, and one that cannot, or
     * whose digest differs from the driver's, gets a problem that says so.
     */
    public static List<Row> run(JavaSparkContext jsc, InputProbe probe) {
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
        List<Row> rows = JavaRDD.fromRDD(rdd, scala.reflect.ClassTag$.MODULE$.apply(Integer.class)).map(x -> local(probe)).collect();
        Map<String, Row> byExecutor = new TreeMap<>();
        String driver = probe == null ? null : driverDigest(probe);
        for (Row r : rows) {
            byExecutor.putIfAbsent(r.executor() + "@" + r.host(), compared(r, driver));
        }
        return new ArrayList<>(byExecutor.values());
    }

    /** The probe's digest on the driver. */
    public static String driverDigest(InputProbe probe) {
        try {
            return probe.digest();
        } catch (java.io.IOException | RuntimeException e) {
            throw new IllegalArgumentException("the driver cannot read " + probe.batch() + ": " + e.getMessage(), e);
        }
    }

    /** {@code r} with a problem when it read no input or another one than the driver ({@code driver}; null: no probe). */
    public static Row compared(Row r, String driver) {
        if (driver == null || r.problem() != null) {
            return r;
        }
        if (r.input().startsWith("FAILED")) {
            return r.withProblem("cannot read the training data: " + r.input().substring("FAILED: ".length()));
        }
        if (!r.input().equals(driver)) {
            return r.withProblem("decodes the training data differently from the driver (input " + r.input() + ", driver " + driver
                    + "): compare the nodes' Java versions and the ImageIO plugins on their class paths");
        }
        return r;
    }

    /** The check in this JVM, as a row. */
    public static Row local() {
        return local(null);
    }

    /** The check in this JVM, decoding the probe's batch when there is one. */
    public static Row local(InputProbe probe) {
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
        String input = "-";
        if (probe != null) {
            try {
                input = probe.digest();
            } catch (java.io.IOException | RuntimeException e) {
                input = "FAILED: " + e.getMessage();
            }
        }
        return new Row(executor, host, r.backend(), r.cores(), r.ompThreads(), gpus, devices, cuda, input, r.problem());
    }

    /** The rows as an aligned table. */
    public static String table(List<Row> rows) {
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%-9s %-16s %-8s %5s %4s %-6s %-24s %-16s %s%n", "executor", "host",
                "backend", "cores", "omp", "gpus", "cuda", "input", "devices / problem"));
        for (Row r : rows) {
            String input = r.input().startsWith("FAILED") ? "FAILED" : r.input();
            b.append(String.format(Locale.ROOT, "%-9s %-16s %-8s %5d %4s %-6s %-24s %-16s %s%n", r.executor(), r.host(), r.backend(), r.cores(),
                    r.ompThreads(), r.gpuAddresses(), r.cuda(), input, r.problem() == null ? "ok: " + r.devices() : "PROBLEM: " + r.problem()));
        }
        return b.toString();
    }
}
