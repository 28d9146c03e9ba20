package io.bitspark.jobs.suite;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.SerializableConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.bitspark.jobs.SparkSessions;
import io.bitspark.jobs.io.ModelLoader;
import io.bitspark.jobs.transfer.FineTuneSettings;
import io.bitspark.jobs.transfer.FineTuner;
import io.bitspark.jobs.transfer.InMemoryDataset;
import io.bitspark.model.arch.LossKind;
import io.bitspark.model.checkpoint.BitNpz;

/**
 * Runs every task of a suite with one rule: the BiT-HyperRule for the task's size and image area, the suite's
 * overrides applied alike to all, the task's own flags (flips). With selection, VTAB-1k's protocol: a seeded
 * 800/200 split of the training examples (80/20 for other sizes) scores each point of the declared grid, and the
 * best is retrained on all training examples. A task that fails is recorded with its error; the others go on.
 * With a cluster master every (task, init) is one Spark task on an executor slot, which reads the checkpoint
 * and the task's data itself; on {@code local[...]} they run one after another in this process.
 */
public final class SuiteRunner {

    private static final Logger LOG = LoggerFactory.getLogger(SuiteRunner.class);

    private SuiteRunner() {}

    /** What one (task, init) needs, shipped to an executor. */
    public record Job(SuiteSpec.Task task, String init, String checkpoint, Integer groups, SuiteSpec.Overrides overrides,
                      SuiteSpec.Grid grid, boolean select, long seed) implements Serializable {}

    /** The outcome of one (task, init); {@code top1} is null when the task failed, and {@code error} says why. */
    public record TaskResult(String task, String group, String init, String status, Double top1, Double top5, int trainSize,
                             int testSize, int classes, Map<String, Object> settings, List<Map<String, Object>> selection,
                             double seconds, String executor, String error) implements Serializable {
        public boolean ok() {
            return "ok".equals(status);
        }
    }

    /** Every job, on the cluster when the master is not local, else here in order. */
    public static List<TaskResult> run(List<Job> jobs) {
        String master = System.getProperty("spark.master", "local[*]");
        if (master.startsWith("local")) {
            List<TaskResult> out = new ArrayList<>();
            Configuration conf = io.bitspark.jobs.io.Stores.hadoopConfiguration();
            for (Job j : jobs) {
                out.add(runOne(j, conf));
            }
            return out;
        }
        SparkSession spark = SparkSessions.get("bit suite");
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        SerializableConfiguration conf = new SerializableConfiguration(spark.sparkContext().hadoopConfiguration());
        LOG.info("suite: {} (task, init) jobs as Spark tasks on {}", jobs.size(), master);
        return new ArrayList<>(jsc.parallelize(jobs, jobs.size()).map(j -> runOne(j, conf.value())).collect());
    }

    /** Checkpoints read in this JVM, by URI: several tasks on one executor read it once. */
    private static final Map<String, ModelLoader.Loaded> LOADED = new ConcurrentHashMap<>();

    /** Loads a checkpoint once per JVM; the driver preloads it so that a local suite reads it once. */
    public static ModelLoader.Loaded model(String checkpoint, Integer groups) {
        return LOADED.computeIfAbsent(checkpoint + "#" + groups, k -> {
            try {
                return ModelLoader.load(checkpoint, BitNpz.ImportOptions.defaults().withGroups(groups), false);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    static TaskResult runOne(Job j, Configuration conf) {
        long t0 = System.nanoTime();
        SuiteSpec.Task t = j.task();
        String host = where();
        int trainSize = 0;
        int testSize = 0;
        int classes = 0;
        try {
            InMemoryDataset train = InMemoryDataset.load(t.train(), "train", conf).firstN(t.trainMax());
            InMemoryDataset test = InMemoryDataset.load(t.test(), "train", conf).firstN(t.testMax());
            trainSize = train.size();
            testSize = test.size();
            classes = train.classes();
            test.requireClasses(train.classNames(), t.train() + " (task " + t.name() + ", train)", t.test() + " (test)");
            ModelLoader.Loaded m = model(j.checkpoint(), j.groups());
            ComputationGraph source = j.init().equals("random") ? null : m.net();
            List<Map<String, Object>> selection = new ArrayList<>();
            SuiteSpec.Overrides chosen = j.overrides();
            if (j.select() && !j.grid().isEmpty()) {
                int first = train.size() == 1000 ? 800 : (int) Math.round(train.size() * 0.8);
                InMemoryDataset[] parts = train.split(first, j.seed());
                double best = -1;
                for (SuiteSpec.Overrides point : grid(j.grid())) {
                    SuiteSpec.Overrides o = j.overrides().then(point);
                    FineTuneSettings fs = settings(o, parts[0], t, j.seed());
                    ComputationGraph net = FineTuner.transferNet(source, m.spec(), train.classes(), fs, LossKind.SOFTMAX_CROSS_ENTROPY);
                    double top1 = FineTuner.fineTune(net, parts[0], parts[1], fs, LossKind.SOFTMAX_CROSS_ENTROPY).top1();
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("lr", fs.baseLr());
                    row.put("steps", fs.steps());
                    row.put(io.bitspark.model.train.Metrics.named(io.bitspark.model.train.Metrics.VAL, io.bitspark.model.train.Metrics.TOP1), top1);
                    selection.add(row);
                    LOG.info("suite {} ({}): lr {} steps {} -> validation top-1 {}", t.name(), j.init(), fs.baseLr(), fs.steps(),
                            String.format(Locale.ROOT, "%.3f", top1));
                    if (top1 > best) {
                        best = top1;
                        chosen = o;
                    }
                }
            }
            FineTuneSettings fs = settings(chosen, train, t, j.seed());
            ComputationGraph net = FineTuner.transferNet(source, m.spec(), train.classes(), fs, LossKind.SOFTMAX_CROSS_ENTROPY);
            FineTuner.Result r = FineTuner.fineTune(net, train, test, fs, LossKind.SOFTMAX_CROSS_ENTROPY);
            LOG.info("suite {} ({}): top-1 {} on {} test images", t.name(), j.init(), String.format(Locale.ROOT, "%.3f", r.top1()), testSize);
            return new TaskResult(t.name(), t.group(), j.init(), "ok", r.top1(), r.top5(), trainSize, testSize, classes, fs.asMap(),
                    selection, (System.nanoTime() - t0) / 1e9, host, null);
        } catch (Exception | OutOfMemoryError e) {
            LOG.warn("suite task {} ({}) failed: {}", t.name(), j.init(), e.toString());
            return new TaskResult(t.name(), t.group(), j.init(), "failed", null, null, trainSize, testSize, classes, Map.of(),
                    List.of(), (System.nanoTime() - t0) / 1e9, host, e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    /** The rule for this training set, then the overrides, then the task's flags. */
    static FineTuneSettings settings(SuiteSpec.Overrides o, InMemoryDataset train, SuiteSpec.Task t, long seed) {
        return FineTuneSettings.hyperRule(train.size(), train.medianWidth(), train.medianHeight(), seed)
                .with(o.steps(), o.lr(), o.batch(), o.microBatch(), o.resize(), o.crop(), o.mixup())
                .withFlip(t.flip());
    }

    /** The grid's points in order: every lr with every step count (an empty list keeps the rule's value). */
    static List<SuiteSpec.Overrides> grid(SuiteSpec.Grid g) {
        List<Double> lrs = g.lr().isEmpty() ? java.util.Collections.singletonList(null) : g.lr();
        List<Long> steps = g.steps().isEmpty() ? java.util.Collections.singletonList(null) : g.steps();
        List<SuiteSpec.Overrides> out = new ArrayList<>();
        for (Long s : steps) {
            for (Double lr : lrs) {
                out.add(new SuiteSpec.Overrides(s, lr, null, null, null, null, null));
            }
        }
        return out;
    }

    /** {@code host/executor-id} of the JVM running a task ({@code host/local} outside Spark). */
    private static String where() {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            host = "unknown";
        }
        org.apache.spark.SparkEnv env = org.apache.spark.SparkEnv.get();
        return host + "/" + (env == null ? "local" : env.executorId());
    }
}
