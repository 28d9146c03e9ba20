package io.bitspark.jobs.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

import io.bitspark.jobs.ExecutorChecks;
import io.bitspark.jobs.SparkSessions;
import io.bitspark.model.runtime.DeviceCheck;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bit doctor}: what this JVM (and, with --executors, every executor) can train on, and what is wrong. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Check the ND4J backend, devices (GPUs: memory, compute capability, native support), CUDA and cuDNN "
                + "versions, native environment and the Spark settings that matter for training; --executors runs the same "
                + "check in one task per executor. Exit code 3 when something cannot train.")
public final class DoctorCommand implements Callable<Integer> {

    /** Spark settings that decide how training runs, with their defaults. */
    static final String[][] SPARK = {
            {"spark.master", "(set by spark-submit or -Dspark.master)"},
            {"spark.executor.instances", "(cluster manager default)"},
            {"spark.executor.cores", "(cluster manager default)"},
            {"spark.executor.memory", "1g"},
            {"spark.task.cpus", "1"},
            {"spark.executor.resource.gpu.amount", "(none)"},
            {"spark.task.resource.gpu.amount", "(none)"},
            {"spark.executor.resource.gpu.discoveryScript", "(none)"},
            {"spark.driver.maxResultSize", "1g"},
            {"spark.dynamicAllocation.enabled", "false"},
            {"spark.executorEnv.OMP_NUM_THREADS", "(spark.task.cpus, set by bit)"},
    };

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--executors", description = "Also run the check in one task per executor and print a table.")
    boolean executors;

    @Option(names = "--data", paramLabel = "URI", description = "With --executors: a prepared data set whose first training rows "
            + "every executor reads, decodes and augments as for a step; an executor that cannot, or gets other pixels than "
            + "this JVM, is a problem.")
    String data;

    @Option(names = "--resolution", defaultValue = "224", description = "Resolution of the --data check (default: ${DEFAULT-VALUE}).")
    int resolution;

    @Override
    public Integer call() throws java.io.IOException {
        PrintWriter out = spec.commandLine().getOut();
        DeviceCheck.Report r = DeviceCheck.inspect();
        out.printf(Locale.ROOT, "backend:      %s (ND4J %s, %s build)%n", r.backend(), r.nd4jVersion(), r.cudaBuild() ? "CUDA " + DeviceCheck.CUDA_BUILD : "CPU");
        out.printf(Locale.ROOT, "cpu:          %d cores, OpenMP threads %s, BLAS %s%n", r.cores(), r.ompThreads(), r.blas());
        if (r.cudaBuild()) {
            out.printf(Locale.ROOT, "cuda:         driver %s, runtime %s (build %s), cuDNN %s (build %s)%n", found(r.cudaDriver()),
                    found(r.cudaRuntime()), DeviceCheck.CUDA_BUILD, found(r.cudnn()), DeviceCheck.CUDNN_BUILD);
            for (DeviceCheck.Gpu g : r.gpus()) {
                out.printf(Locale.ROOT, "              %s%n", g);
            }
        } else {
            out.println("gpus:         none used (CPU build; build with -Pcuda or -Pcuda-redist for GPUs)");
        }
        out.printf(Locale.ROOT, "java:         %s, max heap %.1f GB%n", System.getProperty("java.version"), Runtime.getRuntime().maxMemory() / 1e9);
        for (Map.Entry<String, String> e : r.environment().entrySet()) {
            out.printf(Locale.ROOT, "env:          %s=%s%n", e.getKey(), e.getValue());
        }
        SparkConf conf = new SparkConf();
        for (String[] s : SPARK) {
            out.printf(Locale.ROOT, "spark:        %s = %s%n", s[0], conf.get(s[0], s[1]));
        }
        for (String w : advice(conf)) {
            out.printf(Locale.ROOT, "warning:      %s%n", w);
        }
        boolean ok = r.problem() == null;
        out.printf(Locale.ROOT, "status:       %s%n", ok ? "ok" : "PROBLEM: " + r.problem());
        if (data != null && !executors) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--data checks the executors: add --executors");
        }
        if (executors) {
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(SparkSessions.get("bit doctor").sparkContext());
            ExecutorChecks.InputProbe probe = data == null ? null : probe(jsc.hadoopConfiguration());
            if (probe != null) {
                out.printf(Locale.ROOT, "input:        %s (%s px, seed 0): digest %s in this JVM%n", probe.batch(), resolution,
                        ExecutorChecks.driverDigest(probe));
            }
            List<ExecutorChecks.Row> rows = ExecutorChecks.run(jsc, probe);
            out.printf(Locale.ROOT, "%nexecutors (%d):%n%s", rows.size(), ExecutorChecks.table(rows));
            ok &= rows.stream().allMatch(x -> x.problem() == null);
        }
        out.flush();
        return ok ? 0 : 3;
    }

    /** The first rows (up to 4) of the first training shard of --data, as a training step would see them in epoch 0. */
    private ExecutorChecks.InputProbe probe(org.apache.hadoop.conf.Configuration conf) throws java.io.IOException {
        io.bitspark.data.shards.PreparedDataset d = io.bitspark.data.shards.PreparedDataset.open(data, conf, "--data");
        io.bitspark.data.shards.PreparedDataset.Split train = io.bitspark.data.shards.PreparedDataset.Split.TRAIN;
        if (d.rows(train) == 0) {
            throw new IllegalArgumentException("--data " + data + ": no training rows");
        }
        io.bitspark.jobs.pretrain.ShardBatchLoader loader = new io.bitspark.jobs.pretrain.ShardBatchLoader(conf,
                io.bitspark.data.image.Augment.Config.bit(resolution), d.numClasses(), 0, true);
        return new ExecutorChecks.InputProbe(loader, d.inOrder(train, 4, 4).get(0));
    }

    private static String found(String v) {
        return v == null ? "not found" : v;
    }

    /** Settings that make training slow or fail. */
    static List<String> advice(SparkConf conf) {
        List<String> w = new java.util.ArrayList<>();
        if (conf.getBoolean("spark.dynamicAllocation.enabled", false)) {
            w.add("spark.dynamicAllocation.enabled = true: pre-training runs barrier stages that need all workers at once; "
                    + "use a fixed number of executors");
        }
        String cores = conf.get("spark.executor.cores", null);
        String task = conf.get("spark.task.cpus", "1");
        if (cores != null && !cores.equals(task)) {
            w.add("spark.executor.cores = " + cores + " but spark.task.cpus = " + task + ": several training workers would share an "
                    + "executor's cores; for pre-training give each executor one task slot (spark.task.cpus = spark.executor.cores)");
        }
        String gpuExec = conf.get("spark.executor.resource.gpu.amount", null);
        String gpuTask = conf.get("spark.task.resource.gpu.amount", null);
        if (gpuExec != null && gpuTask == null) {
            w.add("spark.executor.resource.gpu.amount is set but spark.task.resource.gpu.amount is not: tasks are not given a GPU "
                    + "each (set it to 1)");
        }
        if (gpuExec != null && conf.get("spark.executor.resource.gpu.discoveryScript", null) == null
                && !conf.get("spark.master", "").startsWith("k8s")) {
            w.add("GPUs requested without spark.executor.resource.gpu.discoveryScript: executors cannot report their GPU addresses");
        }
        return w;
    }
}
