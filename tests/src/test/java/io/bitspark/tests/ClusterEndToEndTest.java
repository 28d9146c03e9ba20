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
 * The jobs on real parts: a Spark standalone cluster (Master, two Workers, their executors: four more JVMs)
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
        cluster = new SparkStandalone(dir, 2);
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

    static List<Map<String, Object>> metrics(ArtifactStore run) throws Exception {
        List<Map<String, Object>> out = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        for (String f : run.list("metrics")) {
            try (InputStream in = run.open("metrics/" + f)) {
                for (String line : new String(in.readAllBytes()).split("\n")) {
                    if (!line.isBlank()) {
                        @SuppressWarnings("unchecked")
                        Map<String, Object> m = json.readValue(line, Map.class);
                        out.add(m);
                    }
                }
            }
        }
        return out;
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
        ArtifactStore shards = new HadoopStore(URI.create(s3.uri("shards/")), conf);
        DatasetManifest m;
        try (InputStream in = shards.open(DatasetManifest.FILE)) {
            m = DatasetManifest.read(in, "s3 manifest");
        }
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

    /** Fashion-MNIST on the cluster; an executor JVM is killed mid-run; the run still finishes with sound checkpoints. */
    @Test
    void pretrainingSurvivesALostExecutor() throws Exception {
        Path images = dir.resolve("fm");
        Path log = dir.resolve("fm.log");
        assertEquals(0, run(cluster.submit(log, List.of(), "fashion-mnist", "--output", images.toString(), "--split", "train",
                "--classes", "0-5", "--per-class", "150"), log, Duration.ofMinutes(2)), tail(log));
        Path data = dir.resolve("fm-shards");
        log = dir.resolve("fm-prepare.log");
        assertEquals(0, run(cluster.submit(log, List.of(), "prepare", "--input", images.resolve("train").toString(),
                "--format", "imagefolder", "--output", data.toString(), "--holdout", "0.1"), log, Duration.ofMinutes(4)), tail(log));

        Path out = dir.resolve("fm-run");
        String[] args = {"pretrain", "--preset", "local", "--data", data.toString(), "--output", out.toString(),
                "--set", "train.max_steps=40", "--set", "checkpoint.every_steps=5", "--set", "eval.every_steps=20",
                "--set", "log.every_steps=1"};
        log = dir.resolve("fm-pretrain.log");
        Process p = cluster.submit(log, List.of(), args);
        LocalStore run = new LocalStore(out);
        Processes.await("step 8 of the run", Duration.ofMinutes(5), () -> {
            try {
                return metrics(run).stream().anyMatch(r -> ((Number) r.get("step")).intValue() >= 8);
            } catch (Exception e) {
                return false;
            }
        });
        List<ProcessHandle> executors = cluster.executors();
        assertFalse(executors.isEmpty(), "no executor JVMs found");
        LOG.info("killing executor pid {} of {}", executors.get(0).pid(), executors.size());
        executors.get(0).destroyForcibly();
        int code = run(p, log, Duration.ofMinutes(8));
        if (code != 0) {
            // The driver gave up: --resume finishes the run from the newest complete checkpoint.
            LOG.info("run ended with {} after the executor was killed; resuming", code);
            Path log2 = dir.resolve("fm-resume.log");
            List<String> resume = new ArrayList<>(List.of(args));
            resume.add("--resume");
            assertEquals(0, run(cluster.submit(log2, List.of(), resume.toArray(new String[0])), log2, Duration.ofMinutes(8)), tail(log2));
        } else {
            String driverLog = Files.readString(log);
            assertTrue(driverLog.contains("Lost executor") || driverLog.contains("Lost task"),
                    "the run finished, but the driver log shows no lost executor or task: the kill missed");
        }
        List<String> names = run.list("checkpoints");
        assertTrue(names.contains("step-00000040"), names.toString());
        for (String n : names) {
            ProjectCheckpoint.Loaded l = ProjectCheckpoint.read(run, "checkpoints/" + n, true);
            assertEquals(Long.parseLong(n.substring(5)), l.provenance().globalStep(), n);
        }
        List<Map<String, Object>> rows = metrics(run);
        double top1 = rows.stream().filter(r -> r.containsKey("holdout_top1"))
                .mapToDouble(r -> ((Number) r.get("holdout_top1")).doubleValue()).max().orElse(0);
        assertTrue(top1 > 0.3, "holdout top-1 " + top1 + " (chance 0.167)");
    }
}
