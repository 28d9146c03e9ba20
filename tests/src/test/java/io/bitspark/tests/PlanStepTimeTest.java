package io.bitspark.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.bitspark.jobs.plan.Devices;
import io.bitspark.jobs.plan.Planner;
import io.bitspark.model.checkpoint.LocalStore;

/**
 * bit plan's step time against the standalone cluster on 127.0.0.1: N = 1..4 executors of one core (as many as the
 * machine has cores: executors beyond that would share cores, which the planner does not model), two models (the
 * tiny spec at 32 px, which is dispatch- and loading-bound, and R50x1 at 64 px, which is compute-bound). Every
 * constant is measured here first and none from the runs it predicts: the device from {@code bit bench} in one
 * thread at the executor's share, N copies at once (N executors share this machine's memory bandwidth), loading from
 * {@code bit bench --data} at the share, the link from N concurrent TCP streams over loopback; scheduling is the
 * planner's constant. Logs stay in the temporary directory when it fails. Each prediction must be within 25% of the median
 * steady-state step. Slow (about 8 minutes on 2 cores):
 * {@code mvn -B verify -Pslow -pl tests -Dtest=PlanStepTimeTest}.
 */
@Tag("slow")
class PlanStepTimeTest {

    private static final Logger LOG = LoggerFactory.getLogger(PlanStepTimeTest.class);
    private static final Pattern STEP = Pattern.compile("train step:\\s+([0-9.]+) s median");
    private static final Pattern UPDATE = Pattern.compile("\\| update ([0-9.]+)");
    private static final Pattern LOAD = Pattern.compile("data loading: ([0-9.]+) ms per image");

    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    static Path dir;

    record Model(String name, String preset, int resolution, int globalBatch, int steps, int logEvery, int steadyFrom) {}

    @Test
    void predictedStepTimeIsWithinTwentyFivePercentOnOneToFourExecutors() throws Exception {
        int cores = Runtime.getRuntime().availableProcessors();
        int maxN = Math.min(4, cores);
        List<Model> models = List.of(new Model("tiny", "tiny", 32, 48, 200, 10, 100), new Model("r50x1", "r50x1", 64, 24, 30, 5, 10));
        LOG.info("{} cores: N = 1..{}", cores, maxN);
        List<String> table = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        try (SparkStandalone cluster = new SparkStandalone(dir, maxN)) {
            Path data = fashionShards(cluster);
            for (Model m : models) {
                for (int n = 1; n <= maxN; n++) {
                    int share = m.globalBatch() / n;
                    // The device: one core of this machine while n of them train, as the executors do (they share
                    // memory bandwidth and caches): n concurrent one-thread benches of the executor's share.
                    List<String> benches = benchConcurrently(n, "--preset", m.preset(), "--classes", "6", "--resolution",
                            String.valueOf(m.resolution()), "--batch", String.valueOf(share), "--steps", "10", "--warmup-seconds", "3");
                    double step = benches.stream().mapToDouble(b -> group(STEP, b)).average().orElseThrow();
                    double update = benches.stream().mapToDouble(b -> group(UPDATE, b)).average().orElseThrow();
                    Devices device = Devices.atBatch("cpu-core-of-" + n, m.preset(), 6, m.resolution(), share, step, update, 0);
                    double load = group(LOAD, bench("--data", data.toString(), "--resolution", String.valueOf(m.resolution()),
                            "--batch", String.valueOf(share), "--steps", "20")) / 1e3;
                    // The link: n concurrent TCP streams over loopback, as the ring's n executors send at once.
                    double gbps = loopbackGbps(n);
                    // Each executor prefetches its next share on a thread of its own: on a core of its own while the
                    // machine has one spare per executor, else on its compute core.
                    int loaderCores = cores - n >= n ? 1 : 0;
                    Planner.Plan plan = Planner.plan(new Planner.Question(m.preset(), 6, m.resolution(), 1141, 1, n, device, gbps,
                            m.globalBatch(), 0, 1).withRoundSteps(m.logEvery()).withData(load, loaderCores), Planner.Constants.MEASURED);
                    double measured = measure(cluster, data, m, n);
                    double err = plan.stepSeconds() / measured - 1;
                    String row = String.format(Locale.ROOT, "| %s | %d px | %d | %d (%d x %d) | %.3f s | %.3f s (compute %.3f, data %.3f%s, "
                                    + "exchange %.3f at %.1f Gbit/s, update %.3f, scheduling %.3f) | %+.0f%% |", m.name(), m.resolution(), n,
                            m.globalBatch(), n, share, measured, plan.stepSeconds(), plan.computeSeconds(), plan.dataSeconds(),
                            loaderCores > 0 ? " prefetched" : "", plan.exchangeSeconds(), gbps, plan.updateSeconds(), plan.schedulingSeconds(),
                            100 * err);
                    LOG.info("{}", row);
                    table.add(row);
                    if (Math.abs(err) > 0.25) {
                        failures.add(row);
                    }
                }
            }
        }
        LOG.info("bit plan vs the loopback cluster:\n{}", String.join("\n", table));
        assertTrue(failures.isEmpty(), "predictions off by more than 25%:\n" + String.join("\n", failures));
    }

    /** The median steady-state step (global batch / images per second of each metrics interval from steadyFrom on, but the last). */
    static double measure(SparkStandalone cluster, Path data, Model m, int n) throws Exception {
        Path out = dir.resolve(m.name() + "-" + n);
        Path log = dir.resolve(m.name() + "-" + n + ".log");
        List<String> args = new ArrayList<>(List.of("pretrain", "--preset", "local", "--data", data.toString(), "--output", out.toString(),
                "--set", "model.preset=" + m.preset(), "--set", "data.resolution=" + m.resolution(), "--set", "train.workers=" + n,
                "--set", "train.global_batch=" + m.globalBatch(), "--set", "train.epochs=1000", "--set", "train.max_steps=" + m.steps(),
                "--set", "checkpoint.every_steps=100000", "--set", "eval.every_steps=100000", "--set", "log.every_steps=" + m.logEvery()));
        assertEquals(0, ClusterEndToEndTest.run(cluster.submit(log,
                List.of("spark.executor.extraJavaOptions=-Dorg.bytedeco.javacpp.maxbytes=4G"), args.toArray(new String[0])), log, Duration.ofMinutes(6)),
                ClusterEndToEndTest.tail(log));
        List<Map<String, Object>> rows = ClusterEndToEndTest.metrics(new LocalStore(out));
        double[] steps = rows.stream().filter(r -> ((Number) r.get("step")).intValue() > m.steadyFrom()
                        && ((Number) r.get("step")).intValue() < m.steps())
                .mapToDouble(r -> m.globalBatch() / ((Number) r.get("images_per_sec")).doubleValue()).sorted().toArray();
        assertTrue(steps.length >= 3, "steady intervals: " + steps.length);
        LOG.info("{} on {} executors: steady steps {}", m.name(), n, java.util.Arrays.toString(steps));
        return io.bitspark.model.stats.Stats.median(steps);
    }

    /** Throughput per stream of {@code streams} concurrent TCP streams over 127.0.0.1 (128 MB each, 1 MB writes). */
    static double loopbackGbps(int streams) throws Exception {
        long total = 128L << 20;
        List<ServerSocket> servers = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        double[] gbps = new double[streams];
        try {
            for (int i = 0; i < streams; i++) {
                ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                servers.add(server);
                int port = server.getLocalPort();
                threads.add(new Thread(() -> {
                    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port); OutputStream o = s.getOutputStream()) {
                        byte[] buf = new byte[1 << 20];
                        for (long sent = 0; sent < total; sent += buf.length) {
                            o.write(buf);
                        }
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }));
                int k = i;
                threads.add(new Thread(() -> {
                    try (Socket s = server.accept(); InputStream in = s.getInputStream()) {
                        byte[] buf = new byte[1 << 20];
                        long t0 = System.nanoTime();
                        long got = 0;
                        for (int r; (r = in.read(buf)) > 0; ) {
                            got += r;
                        }
                        gbps[k] = got * 8 / ((System.nanoTime() - t0) / 1e9) / 1e9;
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }));
            }
            threads.forEach(Thread::start);
            for (Thread t : threads) {
                t.join();
            }
        } finally {
            for (ServerSocket server : servers) {
                server.close();
            }
        }
        return java.util.Arrays.stream(gbps).average().orElseThrow();
    }

    /** {@code n} copies of {@code bin/bit bench ...} at once, each in one thread; their outputs. */
    static List<String> benchConcurrently(int n, String... args) throws Exception {
        List<java.util.concurrent.CompletableFuture<String>> runs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            runs.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return bench(args);
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            }, java.util.concurrent.Executors.newSingleThreadExecutor()));
        }
        List<String> out = new ArrayList<>();
        for (java.util.concurrent.CompletableFuture<String> r : runs) {
            out.add(r.get());
        }
        return out;
    }

    /** {@code bin/bit bench ...} in one thread (as an executor of one core runs), its output. */
    static String bench(String... args) throws Exception {
        Path root = Path.of("..").toAbsolutePath().normalize();
        List<String> cmd = new ArrayList<>(List.of(root.resolve("bin/bit").toString(), "bench"));
        cmd.addAll(List.of(args));
        Path log = Files.createTempFile(dir, "bench", ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(root.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("OMP_NUM_THREADS", "1");
        Process p = pb.start();
        assertTrue(p.waitFor(10, TimeUnit.MINUTES), "bench timed out");
        String out = Files.readString(log);
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    static double group(Pattern p, String text) {
        Matcher m = p.matcher(text);
        assertTrue(m.find(), p + " not in:\n" + text);
        return Double.parseDouble(m.group(1));
    }

    /** Fashion-MNIST classes 0-5, 200 per class, prepared on the cluster. */
    static Path fashionShards(SparkStandalone cluster) throws Exception {
        Path images = dir.resolve("fm");
        Path data = dir.resolve("fm-shards");
        Path log = dir.resolve("fm.log");
        assertEquals(0, ClusterEndToEndTest.run(cluster.submit(log, List.of(), "fashion-mnist", "--output", images.toString(), "--split",
                "train", "--classes", "0-5", "--per-class", "200"), log, Duration.ofMinutes(2)), ClusterEndToEndTest.tail(log));
        log = dir.resolve("fm-prepare.log");
        assertEquals(0, ClusterEndToEndTest.run(cluster.submit(log, List.of(), "prepare", "--input", images.resolve("train").toString(),
                "--format", "imagefolder", "--output", data.toString(), "--holdout", "0.05"), log, Duration.ofMinutes(4)),
                ClusterEndToEndTest.tail(log));
        return data;
    }
}
