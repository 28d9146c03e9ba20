package io.bitspark.model.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.bitspark.model.arch.ModelOptions;
import io.bitspark.model.arch.ResNetV2Builder;
import io.bitspark.model.arch.ResNetV2Spec;
import io.bitspark.model.train.SgdMomentum;

/**
 * Measures images/s of a full training step (forward, backward, SGD-momentum update with weight decay) and
 * of an inference forward pass, on random data of a fixed seed, float32. Reports the median over timed
 * steps after warm-up, and the process's peak resident memory.
 */
public final class TrainStepBenchmark {

    private static final Logger LOG = LoggerFactory.getLogger(TrainStepBenchmark.class);

    /** What to measure. */
    public record Config(ResNetV2Spec spec, int resolution, int batch, int warmup, int steps, long seed) {
        public Config {
            Objects.requireNonNull(spec, "spec");
            if (resolution < 8 || batch < 1 || warmup < 0 || steps < 1) {
                throw new IllegalArgumentException("invalid benchmark config: resolution " + resolution + ", batch " + batch
                        + ", warmup " + warmup + ", steps " + steps);
            }
        }
    }

    /** Timings in seconds per step; images/s are batch / median step time. */
    public record Result(Config config, long parameters, double[] trainSeconds, double[] forwardSeconds,
                         long peakRssBytes, int threads) {
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

    private TrainStepBenchmark() {}

    public static Result run(Config c) {
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        ComputationGraph net = ResNetV2Builder.build(c.spec(), ModelOptions.defaults()
                .withUpdater(new SgdMomentum(0.003, SgdMomentum.BIT_MOMENTUM))
                .withWeightDecay(1e-4)
                .withInputSize(c.resolution(), c.resolution())
                .withSeed(c.seed()));
        Nd4j.getRandom().setSeed(c.seed());
        INDArray x = Nd4j.rand(DataType.FLOAT, c.batch(), 3, c.resolution(), c.resolution()).muli(2).subi(1);
        INDArray y = Nd4j.zeros(DataType.FLOAT, c.batch(), c.spec().numClasses());
        for (int i = 0; i < c.batch(); i++) {
            y.putScalar(i, i % c.spec().numClasses(), 1f);
        }
        DataSet ds = new DataSet(x, y);

        double[] train = time("train", c, () -> net.fit(ds));
        double[] fwd = time("forward", c, () -> net.output(false, x));
        return new Result(c, net.numParams(), train, fwd, peakRss(), Runtime.getRuntime().availableProcessors());
    }

    private static double[] time(String what, Config c, Runnable step) {
        for (int i = 0; i < c.warmup(); i++) {
            step.run();
        }
        double[] s = new double[c.steps()];
        for (int i = 0; i < c.steps(); i++) {
            long t0 = System.nanoTime();
            step.run();
            s[i] = (System.nanoTime() - t0) / 1e9;
            LOG.info("{} step {}/{}: {} s", what, i + 1, c.steps(), String.format("%.3f", s[i]));
        }
        return s;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
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
