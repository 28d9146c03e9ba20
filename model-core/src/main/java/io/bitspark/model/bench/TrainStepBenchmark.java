package io.bitspark.model.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.bitspark.model.arch.ModelOptions;
import io.bitspark.model.arch.ResNetV2Builder;
import io.bitspark.model.arch.ResNetV2Spec;
import io.bitspark.model.layers.FrozenKernels;
import io.bitspark.model.layers.LayerProfiler;
import io.bitspark.model.layers.StandardizedKernels;
import io.bitspark.model.runtime.NativeEnvironment;
import io.bitspark.model.train.SgdMomentum;
import io.bitspark.model.train.SgdStep;

/**
 * Measures images/s of a full training step (forward, backward, SGD-momentum update with weight decay) and
 * of an inference forward pass, on random data of a fixed seed, float32. Reports the median over timed
 * steps after warm-up, and the process's peak resident memory.
 */
public final class TrainStepBenchmark {

    private static final Logger LOG = LoggerFactory.getLogger(TrainStepBenchmark.class);

    /**
     * What to measure. Warm-up runs at least {@code warmup} steps and at least {@code warmupSeconds}, so the
     * JIT has compiled the kernels of small, fast models too, and then for up to {@code jitQuietSeconds} more until
     * consecutive steps of at least {@value #JIT_QUIET_WINDOW_SECONDS} s during each of which the JIT compiler worked for
     * at most {@value #JIT_BUSY_FRACTION} of the step's time (on 2 cores
     * its threads otherwise take a share of the timed steps: 1.5 s of compilation during the first round's 7.6 s of
     * R50x1 steps at 224 px); {@code layout} null: the one
     * {@link ModelOptions#layoutFor} picks for the spec; {@code kernels}: where the standardized kernels live
     * between forward and backprop; {@code frozenInference}: the forward-only passes run inside a {@link FrozenKernels}
     * scope, as prediction, evaluation and feature extraction run them (false: every pass standardizes every kernel).
     * The timed steps are at least {@code steps} and go on until they add up to at least {@code timedSeconds}.
     */
    public record Config(ResNetV2Spec spec, int resolution, int batch, int warmup, int steps, long seed,
                         CNN2DFormat layout, double warmupSeconds, StandardizedKernels kernels, boolean frozenInference,
                         double jitQuietSeconds, double timedSeconds) {
        public static final double DEFAULT_WARMUP_SECONDS = 5.0;

        public Config(ResNetV2Spec spec, int resolution, int batch, int warmup, int steps, long seed,
                      CNN2DFormat layout, double warmupSeconds) {
            this(spec, resolution, batch, warmup, steps, seed, layout, warmupSeconds, StandardizedKernels.AUTO, true, 0, 0);
        }

        public Config(ResNetV2Spec spec, int resolution, int batch, int warmup, int steps, long seed) {
            this(spec, resolution, batch, warmup, steps, seed, null, DEFAULT_WARMUP_SECONDS);
        }

        public Config {
            Objects.requireNonNull(spec, "spec");
            Objects.requireNonNull(kernels, "kernels");
            if (resolution < 8 || batch < 1 || warmup < 0 || steps < 1 || warmupSeconds < 0 || jitQuietSeconds < 0
                    || timedSeconds < 0) {
                throw new IllegalArgumentException("invalid benchmark config: resolution " + resolution + ", batch " + batch
                        + ", warmup " + warmup + ", steps " + steps + ", warm-up seconds " + warmupSeconds
                        + ", JIT wait seconds " + jitQuietSeconds + ", timed seconds " + timedSeconds);
            }
        }
    }

    /**
     * Timings in seconds per step; images/s are batch / median step time. The breakdowns are mean seconds
     * per timed step: phases (forward, backward, update) and, inside them, the custom layers' work.
     */
    public record Result(Config config, long parameters, double[] trainSeconds, double[] forwardSeconds,
                         long peakRssBytes, int threads, Breakdown train, Breakdown forward) {
        public double trainImagesPerSecond() {
            return config.batch() / median(trainSeconds);
        }

        public double forwardImagesPerSecond() {
            return config.batch() / median(forwardSeconds);
        }

        public double medianTrainSeconds() {
            return median(trainSeconds);
        }

        public double medianForwardSeconds() {
            return median(forwardSeconds);
        }
    }

    /**
     * Mean seconds per step. {@code phases}: forward, backward (loss gradient through every layer), update
     * (updater, weight decay, parameter step), in the order DL4J runs them. {@code layers}: time inside the
     * custom layers by kind (convolution, weight standardization, GroupNorm); whatever a phase spends
     * elsewhere (pooling, padding, residual adds, head, loss, workspace bookkeeping) is its "other".
     */
    public record Breakdown(Map<String, Double> phases, Map<LayerProfiler.Kind, Double> layers) {
        public double forwardOther() {
            return phases.getOrDefault("forward", 0.0) - layers.get(LayerProfiler.Kind.CONV_FORWARD)
                    - layers.get(LayerProfiler.Kind.WS_FORWARD) - layers.get(LayerProfiler.Kind.GN_FORWARD);
        }

        public double backwardOther() {
            return phases.getOrDefault("backward", 0.0) - layers.get(LayerProfiler.Kind.CONV_BACKWARD)
                    - layers.get(LayerProfiler.Kind.WS_BACKWARD) - layers.get(LayerProfiler.Kind.GN_BACKWARD);
        }
    }

    /** Marks phase boundaries of {@code fit} through DL4J's listener callbacks. */
    private static final class PhaseTimer extends BaseTrainingListener {
        long forwardNanos;
        long backwardNanos;
        long updateNanos;
        private long last;

        void reset() {
            forwardNanos = 0;
            backwardNanos = 0;
            updateNanos = 0;
        }

        void begin() {
            last = System.nanoTime();
        }

        @Override
        public void onForwardPass(Model model, Map<String, INDArray> activations) {
            long now = System.nanoTime();
            forwardNanos += now - last;
            last = now;
        }

        @Override
        public void onBackwardPass(Model model) {
            long now = System.nanoTime();
            backwardNanos += now - last;
            last = now;
        }

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            long now = System.nanoTime();
            updateNanos += now - last;
            last = now;
        }
    }

    private TrainStepBenchmark() {}

    public static Result run(Config c) {
        NativeEnvironment.warnIfMissing();
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        ComputationGraph net = ResNetV2Builder.build(c.spec(), ModelOptions.defaults()
                .withUpdater(new SgdMomentum(0.003, SgdMomentum.BIT_MOMENTUM))
                .withWeightDecay(1e-4)
                .withInputSize(c.resolution(), c.resolution())
                .withLayout(c.layout())
                .withSeed(c.seed()));
        LOG.info("standardized kernels: {}", c.kernels().applyTo(net).name().toLowerCase(java.util.Locale.ROOT));
        Nd4j.getRandom().setSeed(c.seed());
        INDArray x = Nd4j.rand(DataType.FLOAT, c.batch(), 3, c.resolution(), c.resolution()).muli(2).subi(1);
        INDArray y = Nd4j.zeros(DataType.FLOAT, c.batch(), c.spec().numClasses());
        for (int i = 0; i < c.batch(); i++) {
            y.putScalar(i, i % c.spec().numClasses(), 1f);
        }
        DataSet ds = new DataSet(x, y);

        PhaseTimer phases = new PhaseTimer();
        net.setListeners(phases);
        // The step the trainer runs: DL4J's backprop, then the fused SGD-momentum update.
        SgdStep step = SgdStep.of(net);
        int[] iteration = {0};
        double[] train = time("train", c, phases::begin, () -> step.step(ds, iteration[0]++, 0, 0), phases::reset);
        Breakdown trainBreakdown = new Breakdown(Map.of(
                "forward", phases.forwardNanos / 1e9 / train.length,
                "backward", phases.backwardNanos / 1e9 / train.length,
                "update", phases.updateNanos / 1e9 / train.length), perStep(train.length));
        double[] fwd;
        try (FrozenKernels frozen = c.frozenInference() ? FrozenKernels.of(net) : null) {
            fwd = time("forward", c, () -> { }, () -> net.output(false, x), () -> { });
        }
        Breakdown forwardBreakdown = new Breakdown(Map.of("forward", java.util.Arrays.stream(fwd).sum() / fwd.length),
                perStep(fwd.length));
        LayerProfiler.enable(false);
        long parameters = net.numParams();
        long peak = peakRss();
        // Release the network's native memory now (parameters, gradients, updater state), not when a garbage
        // collection finds it: a later round in this process then reuses that memory instead of adding to it.
        net.close();
        x.close();
        y.close();
        return new Result(c, parameters, train, fwd, peak, Runtime.getRuntime().availableProcessors(),
                trainBreakdown, forwardBreakdown);
    }

    /** The layer profiler's seconds per step over {@code steps} timed steps. */
    private static Map<LayerProfiler.Kind, Double> perStep(int steps) {
        Map<LayerProfiler.Kind, Double> m = new EnumMap<>(LayerProfiler.Kind.class);
        LayerProfiler.seconds().forEach((k, v) -> m.put(k, v / steps));
        return m;
    }

    /** The JIT compiler counts as busy during a step while it compiles for more than this fraction of the step's time. */
    static final double JIT_BUSY_FRACTION = 0.05;

    /**
     * Runs warm-up steps untimed (the minimum, then while the JIT compiler is busy, see {@link Config}), then resets
     * the layer profiler and times each step.
     */
    private static double[] time(String what, Config c, Runnable beforeStep, Runnable step, Runnable afterWarmup) {
        LayerProfiler.enable(false);
        long warmStart = System.nanoTime();
        int warmed = 0;
        while (warmed < c.warmup() || (System.nanoTime() - warmStart) / 1e9 < c.warmupSeconds()) {
            beforeStep.run();
            step.run();
            warmed++;
        }
        long jitWaitStart = System.nanoTime();
        long[] lastJit = {-1};
        warmed += untilJitQuiet(() -> {
            beforeStep.run();
            step.run();
        }, c.jitQuietSeconds(), JIT_QUIET_WINDOW_SECONDS, TrainStepBenchmark::jitMillis, lastJit);
        LOG.info("{}: {} warm-up steps in {} s ({} s of them waiting for the JIT compiler, {} ms of compilation in the "
                + "last step)", what, warmed, String.format("%.1f", (System.nanoTime() - warmStart) / 1e9),
                String.format("%.1f", (System.nanoTime() - jitWaitStart) / 1e9), lastJit[0]);
        long jitBefore = jitMillis();
        afterWarmup.run();
        LayerProfiler.reset();
        LayerProfiler.enable(true);
        // At least c.steps() steps and c.timedSeconds() of them: a few steps of a small model are a fraction of a second,
        // which one burst of other work on the machine can dominate.
        List<Double> times = new ArrayList<>();
        long lastFaults = minorFaults();
        double total = 0;
        while (times.size() < c.steps() || total < c.timedSeconds()) {
            beforeStep.run();
            long t0 = System.nanoTime();
            step.run();
            double t = (System.nanoTime() - t0) / 1e9;
            times.add(t);
            total += t;
            long faults = minorFaults();
            LOG.info("{} step {}: {} s, {} minor page faults", what, times.size(), String.format("%.3f", t),
                    faults - lastFaults);
            lastFaults = faults;
        }
        double[] s = times.stream().mapToDouble(Double::doubleValue).toArray();
        LOG.info("{}: the JIT compiler worked {} ms during the {} timed steps ({} s)", what, jitMillis() - jitBefore,
                s.length, String.format("%.1f", total));
        return s;
    }

    /** The JIT compiler must stay quiet for consecutive steps adding up to this long (one step where a step is longer). */
    static final double JIT_QUIET_WINDOW_SECONDS = 1.0;

    /**
     * Runs {@code step} until consecutive runs of at least {@code quietSeconds} together (at least one run), during each
     * of which {@code jitClock} (milliseconds of compilation so far, negative where the JVM does not measure it)
     * advanced by at most {@link #JIT_BUSY_FRACTION} of the run's time, or until {@code maxSeconds} have passed; returns
     * the number of runs and leaves the last run's compilation time in {@code lastJit[0]}. Compilation comes in bursts:
     * one quiet step of a small model (tens of ms) says little.
     */
    static int untilJitQuiet(Runnable step, double maxSeconds, double quietSeconds, java.util.function.LongSupplier jitClock,
                             long[] lastJit) {
        long start = System.nanoTime();
        long quietSince = -1;
        int runs = 0;
        while (jitClock.getAsLong() >= 0 && (System.nanoTime() - start) / 1e9 < maxSeconds) {
            long jit0 = jitClock.getAsLong();
            long t0 = System.nanoTime();
            step.run();
            runs++;
            long t1 = System.nanoTime();
            lastJit[0] = jitClock.getAsLong() - jit0;
            if (lastJit[0] > JIT_BUSY_FRACTION * (t1 - t0) / 1e6) {
                quietSince = -1;
                continue;
            }
            if (quietSince < 0) {
                quietSince = t0;
            }
            if ((t1 - quietSince) / 1e9 >= quietSeconds) {
                break;
            }
        }
        return runs;
    }

    static long jitMillis() {
        java.lang.management.CompilationMXBean jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : -1;
    }

    static double median(double[] v) {
        return io.bitspark.model.stats.Stats.median(v);
    }

    /** Minor page faults of this process so far (/proc/self/stat field 10), or -1 where not available. */
    public static long minorFaults() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            // Fields after the command name, which is in parentheses and may contain spaces.
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
            return Long.parseLong(f[7]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** Peak resident set size of this process (VmHWM), or -1 where /proc is not available. */
    public static long peakRss() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/self/status"));
            for (String l : lines) {
                if (l.startsWith("VmHWM:")) {
                    String[] p = l.trim().split("\\s+");
                    return Long.parseLong(p[1]) * 1024L;
                }
            }
        } catch (IOException | NumberFormatException e) {
            LOG.debug("no peak RSS: {}", e.toString());
        }
        return -1;
    }
}
