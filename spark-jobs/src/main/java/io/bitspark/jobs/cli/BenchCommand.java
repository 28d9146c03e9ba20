package io.bitspark.jobs.cli;

import java.io.PrintWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.nd4j.linalg.factory.Nd4j;

import io.bitspark.data.image.ImageProcessor;
import io.bitspark.data.image.ProcessorBenchmark;
import io.bitspark.model.arch.ModelOptions;
import io.bitspark.model.arch.ResNetV2Presets;
import io.bitspark.model.arch.ResNetV2Spec;
import io.bitspark.model.bench.CheckpointIoBenchmark;
import io.bitspark.model.bench.TrainStepBenchmark;
import io.bitspark.model.layers.LayerProfiler;
import io.bitspark.model.runtime.NativeEnvironment;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bit bench}: images/s of a training step and of inference for one preset, resolution and batch. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure train-step (forward+backward+update) and forward-only images/s on random data.")
public final class BenchCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--preset", defaultValue = "r50x1", description = "Preset (default: ${DEFAULT-VALUE}).")
    String preset;

    @Option(names = "--classes", description = "Head classes (default: the preset's).")
    Integer classes;

    @Option(names = "--resolution", defaultValue = "128", description = "Square input size (default: ${DEFAULT-VALUE}).")
    int resolution;

    @Option(names = "--batch", defaultValue = "8", description = "Images per step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--warmup", defaultValue = "2", description = "Untimed steps first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--warmup-seconds", defaultValue = "5",
            description = "Warm up for at least this long as well, so the JIT has compiled the kernels (default: ${DEFAULT-VALUE}).")
    double warmupSeconds;

    @Option(names = "--warmup-jit-seconds", defaultValue = "30",
            description = "Then go on warming up for at most this long, until consecutive steps of at least 1 s "
                    + "during each of which the JIT compiler worked for at most 5%% of the step's time; 0: no wait "
                    + "(default: ${DEFAULT-VALUE}).")
    double warmupJitSeconds;

    @Option(names = "--steps", defaultValue = "5", description = "Timed steps, at least (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--timed-seconds", defaultValue = "3",
            description = "Go on timing steps until they add up to at least this long, here and in the reference; the "
                    + "median step counts (default: ${DEFAULT-VALUE}).")
    double timedSeconds;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of weights and data (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--prepare-dir", paramLabel = "DIR",
            description = "Instead: time the per-image work of prepare (decode, resize, hash, encode) on DIR in one thread.")
    java.nio.file.Path prepareDir;

    @Option(names = "--data", paramLabel = "DIR",
            description = "Instead: time what an executor does to load a training batch of --batch images (read the shard's rows, "
                    + "decode, inception crop at --resolution, flip) from the prepared data set DIR, in one thread, --steps batches.")
    java.nio.file.Path data;

    @Option(names = "--max-side", defaultValue = "256", description = "With --prepare-dir: shorter-side bound (default: ${DEFAULT-VALUE}).")
    int maxSide;

    @Option(names = "--npz-write", paramLabel = "FILE",
            description = "Instead: time exporting the preset with random weights to an official .npz at FILE.")
    java.nio.file.Path npzWrite;

    @Option(names = "--npz-read", paramLabel = "FILE",
            description = "Instead: time importing the official .npz at FILE (run in a fresh process for its own peak memory).")
    java.nio.file.Path npzRead;

    @Option(names = "--standardized-kernels", defaultValue = "auto", paramLabel = "auto|keep|recompute",
            description = "Keep each standardized kernel from forward to backprop (keep) or standardize again into one "
                    + "scratch kernel (recompute); auto keeps up to 1 GiB of kernels (default: ${DEFAULT-VALUE}).")
    String standardizedKernels;

    @Option(names = "--inference-kernels", defaultValue = "frozen", paramLabel = "frozen|per-pass",
            description = "Forward-only passes standardize each kernel once and reuse it, as prediction and evaluation do "
                    + "(frozen), or standardize every kernel in every pass (per-pass) (default: ${DEFAULT-VALUE}).")
    String inferenceKernels;

    @Option(names = "--layout", split = ",", paramLabel = "NHWC|NCHW",
            description = "Activation layout inside the network (default: NHWC); "
                    + "several, comma-separated, are alternated within each round.")
    List<CNN2DFormat> layout;

    @Option(names = "--reference", paramLabel = "SCRIPT",
            description = "Also run this reference script (bench/torch_reference.py) with the same settings and environment after each round, and print the ratios.")
    java.nio.file.Path reference;

    @Option(names = "--python", defaultValue = "/usr/bin/python3", description = "Interpreter for --reference (default: ${DEFAULT-VALUE}).")
    String python;

    @Option(names = "--rounds", defaultValue = "1", description = "Measure this many times, alternating with the reference (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Override
    public Integer call() throws Exception {
        if (prepareDir != null) {
            ProcessorBenchmark.Result r = ProcessorBenchmark.run(prepareDir,
                    new ImageProcessor.Config(maxSide, 90, 64L << 20, 89_478_485L, 8), Math.max(2, steps / 2));
            PrintWriter out = spec.commandLine().getOut();
            out.printf(Locale.ROOT, "prepare per-image work: %d images (%d accepted), max side %d, best pass %.2f s -> %.1f images/s (1 thread)%n",
                    r.images(), r.ok(), maxSide, r.seconds(), r.imagesPerSecond());
            out.flush();
            return 0;
        }
        if (data != null) {
            double perImage = loadSecondsPerImage(data, resolution, batch, Math.max(2, steps), seed);
            PrintWriter out = spec.commandLine().getOut();
            out.printf(Locale.ROOT, "data loading: %.3f ms per image (median of %d batches of %d at %d px, 1 thread) -> %.0f images/s%n",
                    perImage * 1e3, Math.max(2, steps), batch, resolution, 1 / perImage);
            out.flush();
            return 0;
        }
        ResNetV2Spec s = ResNetV2Presets.get(preset);
        if (classes != null) {
            s = s.withClasses(classes);
        }
        if (npzWrite != null || npzRead != null) {
            CheckpointIoBenchmark.Result io = npzWrite != null
                    ? CheckpointIoBenchmark.write(s, npzWrite, seed) : CheckpointIoBenchmark.read(npzRead);
            PrintWriter out = spec.commandLine().getOut();
            out.printf(Locale.ROOT, "%s %s: %,d parameters, %.2f GiB file, %.1f s, peak RSS %.2f GiB, peak Java heap %.2f GiB%n",
                    io.phase(), npzWrite != null ? npzWrite : npzRead, io.parameters(), io.fileBytes() / (double) (1L << 30),
                    io.seconds(), io.peakRssBytes() / (double) (1L << 30), io.peakHeapBytes() / (double) (1L << 30));
            out.flush();
            return 0;
        }
        PrintWriter out = spec.commandLine().getOut();
        // One or more layouts, alternated within each round (same JVM, same machine state): an A/B test.
        List<CNN2DFormat> layouts = layout == null || layout.isEmpty() ? java.util.Collections.singletonList(null) : layout;
        java.util.Map<String, List<double[]>> ratios = new java.util.LinkedHashMap<>();
        java.util.Map<String, List<double[]>> rates = new java.util.LinkedHashMap<>();
        for (int round = 1; round <= rounds; round++) {
            if (rounds > 1) {
                out.printf(Locale.ROOT, "--- round %d of %d%n", round, rounds);
            }
            java.util.Map<String, TrainStepBenchmark.Result> results = new java.util.LinkedHashMap<>();
            for (CNN2DFormat l : layouts) {
                TrainStepBenchmark.Result r = TrainStepBenchmark.run(
                        new TrainStepBenchmark.Config(s, resolution, batch, warmup, steps, seed, l, warmupSeconds,
                                io.bitspark.model.layers.StandardizedKernels.parse(standardizedKernels), frozenInference(),
                                warmupJitSeconds, timedSeconds));
                String name = (l != null ? l : ModelOptions.layoutFor(s)).name();
                print(out, s, r, name);
                results.put(name, r);
                rates.computeIfAbsent(name, k -> new ArrayList<>()).add(new double[] {r.trainImagesPerSecond(), r.forwardImagesPerSecond()});
            }
            if (reference != null) {
                ReferenceRun ref = runReference(s, results.values().iterator().next().threads());
                out.printf(Locale.ROOT, "reference (%s): train %.2f images/s, forward %.2f images/s, peak resident memory %.2f GiB%n",
                        ref.version(), ref.trainImagesPerSecond(), ref.forwardImagesPerSecond(), ref.peakRssGiB());
                results.forEach((name, r) -> {
                    double[] ratio = {r.trainImagesPerSecond() / ref.trainImagesPerSecond(),
                            r.forwardImagesPerSecond() / ref.forwardImagesPerSecond()};
                    out.printf(Locale.ROOT, "ratio bit (%s) / reference: train %.2fx, forward %.2fx%n", name, ratio[0], ratio[1]);
                    ratios.computeIfAbsent(name, k -> new ArrayList<>()).add(ratio);
                });
            }
            out.flush();
        }
        ratios.forEach((name, list) -> {
            if (list.size() > 1) {
                out.printf(Locale.ROOT, "median ratio (%s) over %d rounds: train %.2fx, forward %.2fx%n", name, list.size(),
                        median(list, 0), median(list, 1));
            }
        });
        if (layouts.size() > 1) {
            rates.forEach((name, v) -> out.printf(Locale.ROOT, "median images/s (%s) over %d rounds: train %.2f, forward %.2f%n",
                    name, v.size(), median(v, 0), median(v, 1)));
        }
        out.flush();
        return 0;
    }

    private boolean frozenInference() {
        return switch (inferenceKernels) {
            case "frozen" -> true;
            case "per-pass" -> false;
            default -> throw new CommandLine.ParameterException(spec.commandLine(),
                    "--inference-kernels must be frozen or per-pass, got '" + inferenceKernels + "'");
        };
    }

    private static double median(List<double[]> rows, int column) {
        return io.bitspark.model.stats.Stats.median(rows.stream().mapToDouble(r -> r[column]).toArray());
    }

    private void print(PrintWriter out, ResNetV2Spec s, TrainStepBenchmark.Result r, String layoutName) {
        out.printf(Locale.ROOT, "preset %s (%,d parameters), %dx%d, batch %d, float32, %s, %d timed steps (>= %d and >= %.0f s) after >= %d warm-up steps and >= %.0f s"
                        + " (then up to %.0f s more while the JIT compiler is busy)%n",
                s.name(), r.parameters(), resolution, resolution, batch, layoutName, r.trainSeconds().length, steps, timedSeconds,
                warmup, warmupSeconds, warmupJitSeconds);
        out.printf(Locale.ROOT, "backend %s, %d cores, seed %d, %s%n",
                Nd4j.getExecutioner().getEnvironmentInformation().getProperty("backend", "?"), r.threads(), seed,
                NativeEnvironment.describe());
        out.printf(Locale.ROOT, "train step:   %.3f s median -> %.2f images/s%n", r.medianTrainSeconds(), r.trainImagesPerSecond());
        out.printf(Locale.ROOT, "forward only: %.3f s median -> %.2f images/s (kernels %s)%n", r.medianForwardSeconds(),
                r.forwardImagesPerSecond(), r.config().frozenInference() ? "standardized once, frozen" : "standardized every pass");
        TrainStepBenchmark.Breakdown t = r.train();
        Map<LayerProfiler.Kind, Double> tl = t.layers();
        out.printf(Locale.ROOT, "train step breakdown, mean s/step: forward %.3f (conv %.3f, WS %.3f, GN %.3f, other %.3f)"
                        + " | backward %.3f (conv %.3f, WS %.3f, GN %.3f, other %.3f) | update %.3f%n",
                t.phases().get("forward"), tl.get(LayerProfiler.Kind.CONV_FORWARD), tl.get(LayerProfiler.Kind.WS_FORWARD),
                tl.get(LayerProfiler.Kind.GN_FORWARD), t.forwardOther(),
                t.phases().get("backward"), tl.get(LayerProfiler.Kind.CONV_BACKWARD), tl.get(LayerProfiler.Kind.WS_BACKWARD),
                tl.get(LayerProfiler.Kind.GN_BACKWARD), t.backwardOther(), t.phases().get("update"));
        TrainStepBenchmark.Breakdown f = r.forward();
        Map<LayerProfiler.Kind, Double> fl = f.layers();
        out.printf(Locale.ROOT, "forward-only breakdown, mean s/step: %.3f (conv %.3f, WS %.3f, GN %.3f, other %.3f)%n",
                f.phases().get("forward"), fl.get(LayerProfiler.Kind.CONV_FORWARD), fl.get(LayerProfiler.Kind.WS_FORWARD),
                fl.get(LayerProfiler.Kind.GN_FORWARD), f.forwardOther());
        out.printf(Locale.ROOT, "peak resident memory: %.2f GiB (process high-water mark)%n", r.peakRssBytes() / (double) (1L << 30));
    }

    /** What the reference script printed. */
    record ReferenceRun(String version, double trainImagesPerSecond, double forwardImagesPerSecond, double peakRssGiB) {}

    private static final Pattern REF_TRAIN = Pattern.compile("(?m)^train step:\\s+\\S+ s median -> ([0-9.]+) images/s");
    private static final Pattern REF_FORWARD = Pattern.compile("(?m)^forward only:\\s+\\S+ s median -> ([0-9.]+) images/s");
    private static final Pattern REF_RSS = Pattern.compile("(?m)^peak resident memory: ([0-9.]+) GiB");
    private static final Pattern REF_VERSION = Pattern.compile("(?m)^(torch [^,\\s]+)");

    /**
     * Runs the reference script on the same preset, resolution, batch, steps, seed and thread count, in this
     * process's environment, and parses its summary lines.
     */
    private ReferenceRun runReference(ResNetV2Spec s, int threads) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(python, reference.toString(), "--preset", preset,
                "--classes", String.valueOf(s.numClasses()), "--resolution", String.valueOf(resolution),
                "--batch", String.valueOf(batch), "--warmup", String.valueOf(warmup),
                "--warmup-seconds", String.valueOf(warmupSeconds), "--steps", String.valueOf(steps),
                "--timed-seconds", String.valueOf(timedSeconds),
                "--threads", String.valueOf(threads), "--seed", String.valueOf(seed)));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int code = p.waitFor();
        Matcher t = REF_TRAIN.matcher(text);
        Matcher f = REF_FORWARD.matcher(text);
        Matcher m = REF_RSS.matcher(text);
        Matcher v = REF_VERSION.matcher(text);
        if (code != 0 || !t.find() || !f.find() || !m.find()) {
            throw new IllegalStateException("reference " + String.join(" ", cmd) + " failed (exit " + code + "): "
                    + text.substring(Math.max(0, text.length() - 2000)));
        }
        return new ReferenceRun(v.find() ? v.group(1) : "reference", Double.parseDouble(t.group(1)),
                Double.parseDouble(f.group(1)), Double.parseDouble(m.group(1)));
    }

    /**
     * Seconds per image of {@link io.bitspark.jobs.pretrain.ShardBatchLoader} on a prepared data set: batches of {@code batch}
     * consecutive rows of the first training shard (wrapping), epoch-seeded augmentation as in training; median over
     * {@code batches} after one untimed batch.
     */
    static double loadSecondsPerImage(java.nio.file.Path dir, int resolution, int batch, int batches, long seed) throws java.io.IOException {
        org.apache.hadoop.conf.Configuration conf = new org.apache.hadoop.conf.Configuration();
        io.bitspark.data.shards.PreparedDataset d = io.bitspark.data.shards.PreparedDataset.open(dir.toString(), conf, "--data");
        if (d.shards(io.bitspark.data.shards.PreparedDataset.Split.TRAIN).isEmpty()) {
            throw new IllegalArgumentException("--data " + dir + ": the manifest lists no training shard");
        }
        io.bitspark.data.manifest.DatasetManifest.Shard shard = d.shards(io.bitspark.data.shards.PreparedDataset.Split.TRAIN).get(0);
        if (shard.rows() < batch) {
            throw new IllegalArgumentException(dir + ": the first shard has " + shard.rows() + " rows, fewer than --batch " + batch);
        }
        io.bitspark.jobs.pretrain.ShardBatchLoader loader = new io.bitspark.jobs.pretrain.ShardBatchLoader(
                conf, io.bitspark.data.image.Augment.Config.bit(resolution), d.numClasses(), seed, true);
        String uri = d.shardUris(io.bitspark.data.shards.PreparedDataset.Split.TRAIN).get(0);
        double[] t = new double[batches];
        for (int b = -1; b < batches; b++) {
            long from = (long) Math.max(0, b) * batch % (shard.rows() - batch + 1);
            long t0 = System.nanoTime();
            org.nd4j.linalg.dataset.DataSet x = loader.load(new io.bitspark.data.shards.BatchRef(uri, from, batch, b + 1));
            double sec = (System.nanoTime() - t0) / 1e9;
            x.getFeatures().close();
            x.getLabels().close();
            if (b >= 0) {
                t[b] = sec / batch;
            }
        }
        return io.bitspark.model.stats.Stats.median(t);
    }
}
