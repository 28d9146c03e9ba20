package io.bitspark.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.bitspark.data.TestImages;
import io.bitspark.data.manifest.DatasetManifest;
import io.bitspark.jobs.io.HadoopStore;
import io.bitspark.model.checkpoint.ArtifactStore;
import io.bitspark.model.checkpoint.LocalStore;
import io.bitspark.model.checkpoint.ProjectCheckpoint;

/**
 * The jobs on real parts: a Spark standalone cluster (Master, three Workers, their executors: six more JVMs)
 * and an S3 server process, all on 127.0.0.1. Jobs are submitted with Spark's own SparkSubmit and the jobs jar.
 */
class ClusterEndToEndTest {

    private static final Logger LOG = LoggerFactory.getLogger(ClusterEndToEndTest.class);

    @TempDir
    static Path dir;
    static SparkStandalone cluster;
    static S3Server s3;

    @BeforeAll
    static void start() throws Exception {
        s3 = new S3Server(dir, "bit");
        // Three workers of one core, each offering one (fake) GPU whose address is its index.
        cluster = new SparkStandalone(dir, WORKERS, w -> {
            try {
                Path script = dir.resolve("gpu-" + w + ".sh");
                Files.writeString(script, "#!/bin/sh\necho '{\"name\": \"gpu\", \"addresses\": [\"" + w + "\"]}'\n");
                script.toFile().setExecutable(true);
                return List.of("-Dspark.worker.resource.gpu.amount=1", "-Dspark.worker.resource.gpu.discoveryScript=" + script);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
        if (s3 != null) {
            s3.close();
        }
    }

    static int run(Process p, Path log, Duration timeout) throws Exception {
        if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
            Processes.stop(p);
            throw new AssertionError("timed out after " + timeout + "; log tail:\n" + tail(log));
        }
        return p.exitValue();
    }

    static String tail(Path log) throws Exception {
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    /** The run's metrics lines as the report reads them (its lineage of attempts). */
    static List<Map<String, Object>> metrics(ArtifactStore run) throws Exception {
        return io.bitspark.model.run.MetricsLog.history(run);
    }

    /** Raw images in S3 -> prepare -> shards in S3 -> pretrain with checkpoints in S3 -> --resume -> .npz in S3. */
    @Test
    void s3PipelineOnTheCluster() throws Exception {
        Configuration conf = new Configuration();
        s3.hadoopSettings().forEach(conf::set);
        FileSystem fs = FileSystem.get(URI.create(s3.uri("")), conf);
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < 30; i++) {
                try (OutputStream out = fs.create(new org.apache.hadoop.fs.Path(s3.uri("raw/class" + c + "/" + i + ".jpg")))) {
                    out.write(TestImages.jpeg(10_000L * c + i, 48, 40));
                }
            }
        }
        try (OutputStream out = fs.create(new org.apache.hadoop.fs.Path(s3.uri("raw/class1/broken.jpg")))) {
            out.write("not an image".getBytes());
        }
        List<String> s3conf = s3.sparkConf();
        Path log = dir.resolve("s3-prepare.log");
        assertEquals(0, run(cluster.submit(log, s3conf, "prepare", "--input", s3.uri("raw"), "--format", "imagefolder",
                "--output", s3.uri("shards"), "--holdout", "0.1", "--max-side", "64"), log, Duration.ofMinutes(5)), tail(log));
        io.bitspark.data.shards.PreparedDataset shards = io.bitspark.data.shards.PreparedDataset.open(s3.uri("shards"), conf);
        DatasetManifest m = shards.manifest();
        assertEquals(91, m.totals().inputs());
        assertEquals(90, m.totals().written());
        assertEquals(Map.of("UNSUPPORTED_FORMAT", 1L), m.rejects());

        String[] train = {"--preset", "local", "--data", s3.uri("shards"), "--output", s3.uri("runs/s3"),
                "--set", "model.preset=micro", "--set", "data.resolution=16", "--set", "train.global_batch=16",
                "--set", "checkpoint.every_steps=3", "--set", "eval.every_steps=1000", "--set", "log.every_steps=1"};
        log = dir.resolve("s3-pretrain.log");
        assertEquals(0, run(cluster.submit(log, s3conf, concat("pretrain", train, "--set", "train.max_steps=4")), log,
                Duration.ofMinutes(5)), tail(log));
        ArtifactStore run = new HadoopStore(URI.create(s3.uri("runs/s3/")), conf);
        assertTrue(ProjectCheckpoint.isComplete(run, "checkpoints/step-00000004"), run.list("checkpoints").toString());
        log = dir.resolve("s3-resume.log");
        assertEquals(0, run(cluster.submit(log, s3conf, concat("pretrain", train, "--set", "train.max_steps=7", "--resume")), log,
                Duration.ofMinutes(5)), tail(log));
        assertTrue(Files.readString(log).contains("resuming from s3a://bit/runs/s3/checkpoints/step-00000004"), tail(log));
        ProjectCheckpoint.Loaded last = ProjectCheckpoint.read(run, "checkpoints/step-00000007", true);
        assertEquals(7, last.provenance().globalStep());
        assertEquals(3, last.provenance().spec().numClasses());

        log = dir.resolve("s3-export.log");
        assertEquals(0, run(cluster.submit(log, s3conf, "export", "--checkpoint", s3.uri("runs/s3/checkpoints/step-00000007"),
                "--format", "npz", "--output", s3.uri("models/micro.npz")), log, Duration.ofMinutes(3)), tail(log));
        assertTrue(fs.getFileStatus(new org.apache.hadoop.fs.Path(s3.uri("models/micro.npz"))).getLen() > 1000);
        assertTrue(fs.exists(new org.apache.hadoop.fs.Path(s3.uri("models/micro.npz.provenance.json"))));
        // Credentials travel as Hadoop settings and never appear in a job's log or in provenance.
        for (String name : new String[] {"s3-prepare.log", "s3-pretrain.log", "s3-resume.log", "s3-export.log"}) {
            assertFalse(Files.readString(dir.resolve(name)).contains("test-secret-key"), name + " shows the secret key");
        }
        try (InputStream in = run.open("checkpoints/step-00000007/provenance.json")) {
            assertFalse(new String(in.readAllBytes()).contains("test-secret-key"), "provenance holds the secret key");
        }
    }

    static String[] concat(String first, String[] middle, String... rest) {
        List<String> l = new ArrayList<>();
        l.add(first);
        l.addAll(List.of(middle));
        l.addAll(List.of(rest));
        return l.toArray(new String[0]);
    }

    static final int WORKERS = 3;

    /** Fashion-MNIST classes 0-5 from the Debian package, prepared on the cluster (once). */
    static Path fashionShards() throws Exception {
        Path data = dir.resolve("fm-shards");
        if (Files.exists(data.resolve(DatasetManifest.FILE))) {
            return data;
        }
        Path images = dir.resolve("fm");
        Path log = dir.resolve("fm.log");
        assertEquals(0, run(cluster.submit(log, List.of(), "fashion-mnist", "--output", images.toString(), "--split", "train",
                "--classes", "0-5", "--per-class", "150"), log, Duration.ofMinutes(2)), tail(log));
        log = dir.resolve("fm-prepare.log");
        assertEquals(0, run(cluster.submit(log, List.of(), "prepare", "--input", images.resolve("train").toString(),
                "--format", "imagefolder", "--output", data.toString(), "--holdout", "0.1"), log, Duration.ofMinutes(4)), tail(log));
        return data;
    }

    /** A 3-worker allreduce run of the local preset (tiny ResNet-v2 at 32 px), global batch 48. */
    static String[] engineRun(Path data, Path out, int steps, String... more) {
        List<String> a = new ArrayList<>(List.of("pretrain", "--preset", "local", "--data", data.toString(), "--output", out.toString(),
                "--set", "train.workers=" + WORKERS, "--set", "train.global_batch=48", "--set", "train.epochs=100", "--set", "train.max_steps=" + steps,
                "--set", "checkpoint.every_steps=6", "--set", "checkpoint.keep=40", "--set", "eval.every_steps=50",
                "--set", "log.every_steps=5"));
        a.addAll(List.of(more));
        return a.toArray(new String[0]);
    }

    /**
     * {@code bit suite} with a cluster master: each (task, init) is one Spark task; the executors read the checkpoint
     * and the tasks' data themselves, tasks spread over the executors, and every task reports a result.
     */
    @Test
    void suiteTasksRunAsSparkTasksOnTheExecutors() throws Exception {
        Path npz = io.bitspark.model.checkpoint.FormulaWeights.write(io.bitspark.model.arch.ResNetV2Presets.get("tiny"),
                dir.resolve("suite-tiny.npz"));
        Path s = dir.resolve("suite");
        Path log = dir.resolve("suite-data.log");
        assertEquals(0, run(cluster.submit(log, List.of(), "suite-data", "--output", s.toString(), "--train", "30", "--test", "24",
                "--tasks", "fashion-unseen,rotation,location"),
                log, Duration.ofMinutes(4)), tail(log));
        log = dir.resolve("suite.log");
        Path out = dir.resolve("suite-out");
        assertEquals(0, run(cluster.submit(log, List.of(), "suite", "--checkpoint", npz.toString(), "--groups", "4", "--suite",
                s.resolve("suite.conf").toString(), "--steps", "5", "--batch", "8", "--output", out.toString()), log,
                Duration.ofMinutes(6)), tail(log));
        Map<String, Object> json = new ObjectMapper().readValue(out.resolve("suite.json").toFile(),
                new com.fasterxml.jackson.core.type.TypeReference<Map<String, Object>>() {});
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> tasks = (List<Map<String, Object>>) json.get("tasks");
        assertEquals(3, tasks.size());
        java.util.Set<String> executors = new java.util.TreeSet<>();
        for (Map<String, Object> t : tasks) {
            assertEquals("ok", t.get("status"), t.toString());
            String executor = String.valueOf(t.get("executor"));
            assertFalse(executor.endsWith("/driver") || executor.endsWith("/local"), "ran outside an executor: " + t);
            executors.add(executor);
        }
        assertTrue(executors.size() >= 2, "3 tasks on " + WORKERS + " executors all ran on " + executors);
    }

    /** Each executor gets one (fake) GPU address from its worker's discovery script; tasks take one each. */
    static final List<String> GPU_CONF = List.of("spark.executor.resource.gpu.amount=1", "spark.task.resource.gpu.amount=1");

    static double maxAbsDiff(ArtifactStore a, String da, ArtifactStore b, String db) throws Exception {
        org.nd4j.linalg.api.ndarray.INDArray pa = ProjectCheckpoint.read(a, da, true).net().params();
        org.nd4j.linalg.api.ndarray.INDArray pb = ProjectCheckpoint.read(b, db, true).net().params();
        return pa.sub(pb).amaxNumber().doubleValue();
    }

    static double mean(List<Map<String, Object>> rows, String key) {
        return rows.stream().filter(r -> r.containsKey(key)).mapToDouble(r -> ((Number) r.get(key)).doubleValue()).average().orElse(Double.NaN);
    }

    /**
     * The allreduce engine on 3 executor JVMs: equal to one process on the combined batch; bytes per step for each
     * executor and for the driver, the driver's share under 1%; each executor bound to a distinct (fake) GPU address;
     * 100 steps with driver heap and executor memory flat between the first and last 20 steps.
     */
    @Test
    void allReduceOnThreeExecutorsIsExactCheapForTheDriverAndFlat() throws Exception {
        // bit doctor --executors: one row per executor, each with its own (fake) GPU address and a CPU backend that works,
        // and each decoding the data's first training rows in its own JVM to the driver's pixels.
        Path data = fashionShards();
        Path dlog = dir.resolve("doctor.log");
        assertEquals(0, run(cluster.submit(dlog, GPU_CONF, "doctor", "--executors", "--data", data.toString(), "--resolution", "32"),
                dlog, Duration.ofMinutes(2)), tail(dlog));
        String doctor = Files.readString(dlog);
        assertTrue(doctor.contains("executors (" + WORKERS + "):") && doctor.contains("spark.task.resource.gpu.amount = 1"), tail(dlog));
        java.util.regex.Matcher digest = java.util.regex.Pattern.compile("digest ([0-9a-f]{16}) in this JVM").matcher(doctor);
        assertTrue(digest.find(), tail(dlog));
        java.util.regex.Matcher rowm = java.util.regex.Pattern.compile(
                "(?m)^(\\d+)\\s+\\S+\\s+CPU\\s+\\d+\\s+\\S+\\s+(\\d+)\\s+-\\s+([0-9a-f]{16})\\s+ok: cpu").matcher(doctor);
        java.util.Set<String> executors = new java.util.TreeSet<>();
        java.util.Set<String> addresses = new java.util.TreeSet<>();
        while (rowm.find()) {
            executors.add(rowm.group(1));
            addresses.add(rowm.group(2));
            assertEquals(digest.group(1), rowm.group(3), "executor " + rowm.group(1) + " decodes the data as the driver:\n" + doctor);
        }
        assertEquals(WORKERS, executors.size(), "one ok row per executor:\n" + doctor);
        assertEquals(WORKERS, addresses.size(), "each executor's task holds its own GPU address:\n" + doctor);

        Path out = dir.resolve("engine-run");
        Path log = dir.resolve("engine-run.log");
        // Executor heaps committed up front, so that their RSS over the soak shows native memory, not the JVM
        // growing its heap towards spark.executor.memory.
        List<String> conf = new ArrayList<>(GPU_CONF);
        conf.add("spark.executor.extraJavaOptions=-Xms2g -XX:+AlwaysPreTouch");
        assertEquals(0, run(cluster.submit(log, conf, engineRun(data, out, 100)), log, Duration.ofMinutes(8)), tail(log));
        Path single = dir.resolve("engine-single");
        Path slog = dir.resolve("engine-single.log");
        assertEquals(0, run(cluster.submit(slog, List.of(), engineRun(data, single, 6, "--single-process")), slog,
                Duration.ofMinutes(4)), tail(slog));
        LocalStore runStore = new LocalStore(out);
        double diff = maxAbsDiff(runStore, "checkpoints/step-00000006", new LocalStore(single), "checkpoints/step-00000006");
        LOG.info("3 executors vs one process on the combined batch after 6 steps: max |param diff| {}", diff);
        assertTrue(diff < 1e-5, "3-worker allreduce differs from the single process by " + diff);
        Path micro = dir.resolve("engine-micro");
        Path mlog = dir.resolve("engine-micro.log");
        assertEquals(0, run(cluster.submit(mlog, List.of(), engineRun(data, micro, 6, "--set", "train.micro_batches=2")), mlog,
                Duration.ofMinutes(4)), tail(mlog));
        double mdiff = maxAbsDiff(new LocalStore(micro), "checkpoints/step-00000006", new LocalStore(single), "checkpoints/step-00000006");
        LOG.info("3 executors x 2 micro-batches vs one process after 6 steps: max |param diff| {}", mdiff);
        assertTrue(mdiff < 1e-5, "3-worker allreduce with 2 micro-batches differs from the single process by " + mdiff);

        List<Map<String, Object>> rows = metrics(runStore);
        List<Map<String, Object>> steady = rows.subList(1, rows.size());
        double execBytes = mean(steady, "bytes_executor_sent") + mean(steady, "bytes_executor_received");
        double driverBytes = mean(steady, "bytes_driver_sent") + mean(steady, "bytes_driver_received");
        LOG.info("per step: each executor sent {} and received {} bytes; the driver sent {} and received {} bytes ({}% of an executor's)",
                mean(steady, "bytes_executor_sent"), mean(steady, "bytes_executor_received"), mean(steady, "bytes_driver_sent"),
                mean(steady, "bytes_driver_received"), 100 * driverBytes / execBytes);
        assertTrue(execBytes > 1e5, "executors moved " + execBytes + " bytes per step");
        assertTrue(driverBytes < 0.01 * execBytes, "the driver moved " + driverBytes + " bytes per step, executors " + execBytes);
        // bit plan's traffic model: 2 (N-1)/N x 4 bytes x parameters per executor per step.
        io.bitspark.jobs.plan.Planner.Plan plan = io.bitspark.jobs.plan.Planner.plan(new io.bitspark.jobs.plan.Planner.Question(
                "tiny", 6, 32, 900, 1, WORKERS, io.bitspark.jobs.plan.Devices.get("cpu"), 10, 48, 0, 1),
                io.bitspark.jobs.plan.Planner.Constants.MEASURED);
        double sent = mean(steady, "bytes_executor_sent");
        assertEquals(plan.bytesPerExecutorPerStep(), sent, 0.01 * sent, "bit plan's bytes per executor per step vs measured");

        String driverLog = Files.readString(log);
        java.util.Set<String> devices = new java.util.TreeSet<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("rank \\d+: executor \\S+ on \\S+, gpu:(\\d+)").matcher(driverLog);
        while (m.find()) {
            devices.add(m.group(1));
        }
        LOG.info("GPU addresses the executors bound to: {}", devices);
        assertEquals(WORKERS, devices.size(), "distinct GPU addresses, one per executor: " + devices);

        List<Map<String, Object>> first = window(rows, 1, 20);
        List<Map<String, Object>> warm = window(rows, 21, 40);
        List<Map<String, Object>> lastRows = window(rows, 81, 100);
        double heap0 = mean(first, "driver_heap_used"), heapW = mean(warm, "driver_heap_used"), heap1 = mean(lastRows, "driver_heap_used");
        double rss0 = mean(first, "executor_rss_max"), rssW = mean(warm, "executor_rss_max"), rss1 = mean(lastRows, "executor_rss_max");
        LOG.info("soak, steps 1-20 / 21-40 / 81-100: driver heap {} / {} / {} MB, largest executor RSS {} / {} / {} MB", heap0 / 1e6,
                heapW / 1e6, heap1 / 1e6, rss0 / 1e6, rssW / 1e6, rss1 / 1e6);
        // Executors grow while they warm up (JIT, DL4J workspaces sized by the first steps, allocator arenas), so
        // flatness is judged from steps 21-40 on.
        assertTrue(rss1 < rssW * 1.10 + 50e6, "executor RSS grew from " + rssW + " to " + rss1);
        assertTrue(heap1 < Math.max(heap0, heapW) * 1.5 + 100e6, "driver heap grew from " + heap0 + " to " + heap1);
    }

    static List<Map<String, Object>> window(List<Map<String, Object>> rows, int from, int to) {
        return rows.stream().filter(r -> ((Number) r.get("step")).intValue() >= from && ((Number) r.get("step")).intValue() <= to).toList();
    }

    /** An executor JVM is killed mid-run: the run finishes, and its final parameters equal an uninterrupted run's. */
    @Test
    void aLostExecutorCostsTimeNotTheResult() throws Exception {
        Path data = fashionShards();
        Path ref = dir.resolve("kill-ref");
        Path rlog = dir.resolve("kill-ref.log");
        assertEquals(0, run(cluster.submit(rlog, List.of(), engineRun(data, ref, 40)), rlog, Duration.ofMinutes(6)), tail(rlog));

        Path out = dir.resolve("kill-run");
        Path log = dir.resolve("kill-run.log");
        Process p = cluster.submit(log, List.of(), engineRun(data, out, 40));
        LocalStore run = new LocalStore(out);
        Processes.await("step 15 of the run", Duration.ofMinutes(5), () -> {
            try {
                return metrics(run).stream().anyMatch(r -> ((Number) r.get("step")).intValue() >= 15);
            } catch (Exception e) {
                return false;
            }
        });
        List<ProcessHandle> executors = cluster.executors();
        assertFalse(executors.isEmpty(), "no executor JVMs found");
        LOG.info("killing executor pid {} of {}", executors.get(0).pid(), executors.size());
        executors.get(0).destroyForcibly();
        assertEquals(0, run(p, log, Duration.ofMinutes(8)), tail(log));
        String driverLog = Files.readString(log);
        assertTrue(driverLog.contains("Lost executor") || driverLog.contains("failed (attempt"),
                "the run finished, but the driver log shows no lost executor or failed round: the kill missed");
        assertTrue(driverLog.contains("the workers lost their state and restored it"), "the workers did not restore from a checkpoint");
        double diff = maxAbsDiff(run, "checkpoints/step-00000040", new LocalStore(ref), "checkpoints/step-00000040");
        LOG.info("run with a killed executor vs uninterrupted run after 40 steps: max |param diff| {}", diff);
        assertTrue(diff < 1e-5, "final parameters differ by " + diff);
        for (String n : run.list("checkpoints")) {
            ProjectCheckpoint.Loaded l = ProjectCheckpoint.read(run, "checkpoints/" + n, true);
            assertEquals(Long.parseLong(n.substring(5)), l.provenance().globalStep(), n);
        }
        double top1 = metrics(run).stream().filter(r -> r.containsKey("holdout_top1"))
                .mapToDouble(r -> ((Number) r.get("holdout_top1")).doubleValue()).max().orElse(0);
        assertTrue(top1 > 0.3, "holdout top-1 " + top1 + " (chance 0.167)");
    }
}
